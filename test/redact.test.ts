import { Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLogger, safeError } from '../src/logger.js';
import { excerpt, redactText } from '../src/redact.js';

const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyIiwiZXhwIjoxOTk5OTk5OTk5fQ.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU';

describe('redactText', () => {
  it.each([
    [`{"accessToken": "${JWT}"}`, JWT],
    ['{"refreshToken":"opaque-refresh-value-123"}', 'opaque-refresh-value-123'],
    ['{"password": "hunter2"}', 'hunter2'],
    ['Authorization: Bearer abcdefghijklmnop', 'abcdefghijklmnop'],
    ['authorization: Basic dXNlcjpwYXNzd29yZA==', 'dXNlcjpwYXNzd29yZA=='],
    ['token=s3cr3tvalue&x=1', 's3cr3tvalue'],
    ['signing with whsec_c2VjcmV0c2VjcmV0', 'whsec_c2VjcmV0c2VjcmV0'],
    ['"{\\"refresh_token\\": \\"nested-secret\\"}"', 'nested-secret'],
    [`text ${'A'.repeat(200)} more`, 'A'.repeat(200)],
  ])('masks secrets in %s', (input, secret) => {
    const out = redactText(input);
    expect(out).not.toContain(secret);
    expect(out).toContain('[REDACTED]');
  });

  it('keeps ordinary provider messages readable', () => {
    const msg = '{"__type":"NotAuthorizedException","message":"Refresh Token has expired"}';
    expect(redactText(msg)).toBe(msg);
  });

  it('never lets a generated JWT or password through, in any surrounding text', () => {
    const b64url = fc.string({
      unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('')),
      minLength: 10,
      maxLength: 60,
    });
    fc.assert(
      fc.property(fc.string(), b64url, b64url, b64url, fc.string(), (before, h, p, s, after) => {
        const jwt = `eyJ${h}.${p}.${s}`;
        const out = excerpt(`${before} ${jwt} ${after}`, 10_000);
        expect(out).not.toContain(jwt);
      }),
    );
    fc.assert(
      fc.property(
        fc.string({ minLength: 6, maxLength: 30 }).filter((s) => /^[A-Za-z0-9]+$/.test(s)),
        (pw) => {
          expect(redactText(`{"password":"${pw}"}`)).not.toContain(pw);
        },
      ),
    );
  });

  it('masks a long opaque token whatever character it starts or ends with (- and _ included)', () => {
    // Found by the property test: a 120-character token ending in "-" slipped past a \b-anchored pattern.
    for (const token of [`${'a'.repeat(119)}-`, `-${'b'.repeat(119)}`, `_${'c'.repeat(150)}_`, `${'d'.repeat(60)}-${'e'.repeat(59)}`]) {
      const out = redactText(`refresh failed: ${token}; try again`);
      expect(out).not.toContain(token.slice(1, -1));
      expect(out).toContain('try again');
    }
  });

  it('makes short, folded excerpts and never throws on odd input', () => {
    expect(excerpt('a\n\n  b', 50)).toBe('a b');
    expect(excerpt('ab '.repeat(200), 20)).toHaveLength(20);
    expect(excerpt(null)).toBe('');
    expect(excerpt({ a: 1 })).toBe('{"a":1}');
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    expect(() => excerpt(circular)).not.toThrow();
  });
});

describe('logger', () => {
  it('masks secret fields and serialises errors by their safe fields only', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ level: 'info', format: 'json', destination: sink });
    const err = Object.assign(new Error(`login failed for token ${JWT}`), { options: { headers: { authorization: 'Bearer zzz-secret' } } });
    logger.info({ password: 'hunter2', credential: { refreshToken: 'r-secret', accessToken: 'a-secret' }, err }, 'hello');
    const out = lines.join('');
    for (const secret of ['hunter2', 'r-secret', 'a-secret', JWT, 'zzz-secret']) expect(out).not.toContain(secret);
    expect(JSON.parse(out)).toMatchObject({ msg: 'hello', level: 'info' });
    expect(safeError(err)).toEqual({ type: 'Error', message: 'login failed for token [REDACTED]' });
  });
});
