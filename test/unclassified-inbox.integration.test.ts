import { afterEach, describe, expect, it } from 'vitest';
import { eventSignature } from '../src/classify/event-signature.js';
import { normalizeEvent } from '../src/classify/index.js';
import { UnclassifiedInbox, type InboxSighting } from '../src/monitor/unclassified-inbox.js';
import { testRedis, uniquePrefix } from './helpers/redis.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function sighting(message: string, leafUserId: string, atMs: number): InboxSighting {
  const event = normalizeEvent({ id: `ev-${leafUserId}-${atMs}`, statusCode: 409, body: JSON.stringify({ message }) });
  return {
    signature: eventSignature(event),
    ruleId: 'fallback.unclassified',
    category: 'unclassified',
    sample: message,
    eventId: event.id,
    provider: 'panorama',
    leafUserId,
    atMs,
  };
}

describe('unclassified inbox (real Redis)', () => {
  it('groups sightings, counts events and distinct credentials, keeps first/last seen', async () => {
    const prefix = uniquePrefix('inbox');
    const { redis, cleanup } = await testRedis(prefix);
    cleanups.push(cleanup);
    const inbox = new UnclassifiedInbox(redis, prefix);
    await inbox.record([sighting('Ledger 12 locked', 'u1', 1000), sighting('Ledger 99 locked', 'u2', 2000)]);
    await inbox.record([sighting('Ledger 7 locked', 'u1', 3000)]);
    const [only, ...rest] = await inbox.list();
    expect(rest).toEqual([]);
    expect(only).toMatchObject({
      template: 'Ledger <n> locked',
      statusCode: 409,
      count: 3,
      credentials: 2,
      firstSeen: new Date(1000).toISOString(),
      lastSeen: new Date(3000).toISOString(),
    });
    expect(await inbox.get(only?.id.slice(0, 6) ?? '')).toMatchObject({ id: only?.id });
    expect(await inbox.get('not-hex')).toBeNull();
  });

  it('stays bounded: the least recently seen signatures are dropped with their keys', async () => {
    const prefix = uniquePrefix('inbox-cap');
    const { redis, cleanup } = await testRedis(prefix);
    cleanups.push(cleanup);
    const inbox = new UnclassifiedInbox(redis, prefix, 10);
    const words = [
      'alpha',
      'bravo',
      'charlie',
      'delta',
      'echo',
      'foxtrot',
      'golf',
      'hotel',
      'india',
      'juliet',
      'kilo',
      'lima',
      'mike',
      'november',
      'oscar',
    ];
    for (const [i, w] of words.entries()) await inbox.record([sighting(`state ${w}`, `u${i}`, 1000 + i)]);
    expect(await inbox.size()).toBe(10);
    const kept = (await inbox.list(50)).map((s) => s.template);
    expect(kept).toContain('state oscar');
    expect(kept).not.toContain('state alpha');
    // 10 signatures: an index, 10 hashes and 10 HyperLogLogs, nothing left of the dropped ones.
    expect((await redis.keys(`${prefix}:unclassified:*`)).length).toBe(21);
  });
});
