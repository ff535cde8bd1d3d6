import type { Redis } from 'ioredis';
import type { EventSignature } from '../classify/event-signature.js';

/** One group of failures no specific rule recognised, as the admin API and `rules suggest` show it. */
export interface InboxSignature {
  id: string;
  statusCode: number | null;
  code: string;
  template: string;
  /** Events seen with this signature (each event once per poll that saw it new). */
  count: number;
  /** Distinct credentials affected (HyperLogLog estimate, about 1% error). */
  credentials: number;
  firstSeen: string;
  lastSeen: string;
  /** The rule that decided the sample: `fallback.unclassified` or a weak fallback rule. */
  ruleId: string;
  category: string;
  /** One redacted excerpt of a body with this signature. */
  sample: string;
  sampleEventId: string;
  provider: string;
  leafUserId: string;
}

/** One sighting the poll path reports. */
export interface InboxSighting {
  signature: EventSignature;
  ruleId: string;
  category: string;
  sample: string;
  eventId: string;
  provider: string;
  leafUserId: string;
  atMs: number;
}

/** Default cap on the number of signatures kept; the least recently seen are dropped beyond it. */
export const DEFAULT_INBOX_MAX_SIGNATURES = 500;

/**
 * The unclassified inbox in Redis: failures grouped by signature, bounded in size. Keys (under the
 * hash-tagged prefix): `unclassified:index` (zset, score = last seen ms), `unclassified:sig:{id}` (hash),
 * `unclassified:creds:{id}` (HyperLogLog of affected credentials: 12 KB at most whatever the fleet size).
 */
export class UnclassifiedInbox {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly maxSignatures = DEFAULT_INBOX_MAX_SIGNATURES,
  ) {}

  private get indexKey(): string {
    return `${this.prefix}:unclassified:index`;
  }

  private sigKey(id: string): string {
    return `${this.prefix}:unclassified:sig:${id}`;
  }

  private credsKey(id: string): string {
    return `${this.prefix}:unclassified:creds:${id}`;
  }

  /** Records sightings in one pipelined round trip (a second one only when the cap is exceeded). */
  async record(sightings: readonly InboxSighting[]): Promise<void> {
    if (sightings.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const s of sightings) {
      const key = this.sigKey(s.signature.id);
      const at = new Date(s.atMs).toISOString();
      pipeline.hsetnx(key, 'firstSeen', at);
      pipeline.hset(key, {
        statusCode: s.signature.statusCode === null ? '' : String(s.signature.statusCode),
        code: s.signature.code,
        template: s.signature.template,
        lastSeen: at,
        ruleId: s.ruleId,
        category: s.category,
        sample: s.sample,
        sampleEventId: s.eventId,
        provider: s.provider,
        leafUserId: s.leafUserId,
      });
      pipeline.hincrby(key, 'count', 1);
      pipeline.pfadd(this.credsKey(s.signature.id), `${s.provider}:${s.leafUserId}`);
      pipeline.zadd(this.indexKey, s.atMs, s.signature.id);
    }
    pipeline.zcard(this.indexKey);
    const results = (await pipeline.exec()) ?? [];
    const size = Number(results[results.length - 1]?.[1] ?? 0);
    if (size > this.maxSignatures) await this.trim(size - this.maxSignatures);
  }

  private async trim(excess: number): Promise<void> {
    const oldest = await this.redis.zpopmin(this.indexKey, excess);
    const ids = oldest.filter((_, i) => i % 2 === 0);
    if (ids.length > 0) await this.redis.del(...ids.flatMap((id) => [this.sigKey(id), this.credsKey(id)]));
  }

  /** Number of distinct signatures kept. */
  async size(): Promise<number> {
    return this.redis.zcard(this.indexKey);
  }

  /** Signatures, most recently seen first. */
  async list(limit = 100): Promise<InboxSignature[]> {
    const ids = await this.redis.zrevrange(this.indexKey, 0, Math.max(0, limit - 1));
    return this.read(ids);
  }

  /** One signature by id (or a unique id prefix), or null. */
  async get(id: string): Promise<InboxSignature | null> {
    if (!/^[0-9a-f]{1,12}$/i.test(id)) return null;
    const ids =
      id.length === 12
        ? [id.toLowerCase()]
        : (await this.redis.zrange(this.indexKey, '0', '-1')).filter((s) => s.startsWith(id.toLowerCase()));
    if (ids.length !== 1) return null;
    return (await this.read(ids))[0] ?? null;
  }

  /** Forgets one signature (after a rule now recognises it). */
  async remove(id: string): Promise<void> {
    await this.redis.multi().zrem(this.indexKey, id).del(this.sigKey(id), this.credsKey(id)).exec();
  }

  private async read(ids: readonly string[]): Promise<InboxSignature[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.sigKey(id)).pfcount(this.credsKey(id));
    const results = (await pipeline.exec()) ?? [];
    const out: InboxSignature[] = [];
    ids.forEach((id, i) => {
      const h = (results[i * 2]?.[1] ?? {}) as Record<string, string>;
      if (h['lastSeen'] === undefined) return;
      out.push({
        id,
        statusCode: h['statusCode'] ? Number(h['statusCode']) : null,
        code: h['code'] ?? '',
        template: h['template'] ?? '',
        count: Number(h['count'] ?? 0),
        credentials: Number(results[i * 2 + 1]?.[1] ?? 0),
        firstSeen: h['firstSeen'] ?? h['lastSeen'],
        lastSeen: h['lastSeen'],
        ruleId: h['ruleId'] ?? '',
        category: h['category'] ?? '',
        sample: h['sample'] ?? '',
        sampleEventId: h['sampleEventId'] ?? '',
        provider: h['provider'] ?? '',
        leafUserId: h['leafUserId'] ?? '',
      });
    });
    return out;
  }
}
