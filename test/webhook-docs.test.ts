import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { signPayload } from '../src/webhooks/signing.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const OTHER = 'whsec_bmV3LXNlY3JldA==';

type Verify = (secret: string, headers: Record<string, string>, rawBody: string) => boolean;

/** Loads the receiver snippet of docs/webhooks.md exactly as a reader would copy it. */
async function docSnippet(): Promise<Verify> {
  const markdown = readFileSync(new URL('../docs/webhooks.md', import.meta.url), 'utf8');
  const section = markdown.slice(markdown.indexOf('## Verifying in a receiver'));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (code === undefined) throw new Error('no ts block in the verification section');
  const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023 } }).outputText;
  const mod = (await import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`)) as { verifyCredwatch: Verify };
  return mod.verifyCredwatch;
}

describe('the receiver verification in docs/webhooks.md', () => {
  it('accepts what credwatch signs, during rotation too, and rejects tampering and replays', async () => {
    const verify = await docSnippet();
    const body = '{"type":"credential.recovered","data":{"leafUserId":"ü"}}';
    const now = Math.floor(Date.now() / 1000);
    const headers = (secrets: string[], timestamp = now) => ({
      'webhook-id': 'msg_0123',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signPayload({ secrets, msgId: 'msg_0123', timestamp, body }),
    });
    expect(verify(SECRET, headers([SECRET]), body)).toBe(true);
    expect(verify(SECRET, headers([OTHER, SECRET]), body)).toBe(true);
    expect(verify(SECRET, headers([OTHER]), body)).toBe(false);
    expect(verify(SECRET, headers([SECRET]), `${body} `)).toBe(false);
    expect(verify(SECRET, { ...headers([SECRET]), 'webhook-id': 'msg_0124' }, body)).toBe(false);
    expect(verify(SECRET, headers([SECRET], now - 600), body)).toBe(false);
    expect(verify(SECRET, {}, body)).toBe(false);
  });
});
