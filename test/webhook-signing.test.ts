import { describe, expect, it } from 'vitest';
import { signPayload, verifySignature } from '../src/webhooks/signing.js';

// Vectors computed independently of this code, from the shell:
//   python3 -c 'import hmac,hashlib,base64; k=base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
//     print(base64.b64encode(hmac.new(k, MSG, hashlib.sha256).digest()).decode())'
// and cross-checked with
//   printf %s MSG | openssl dgst -sha256 -mac HMAC -macopt hexkey:31f290f6bf06298aab4f08d43c3f082cf648a362da2da4b0 -binary | base64
// Vector 1 is also the example of the Standard Webhooks specification.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SECRET2 = 'whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24='; // base64 of "second-secret-for-rotation"
const V1 = {
  msgId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  sig: 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const V2 = {
  msgId: 'msg_abc',
  timestamp: 1700000000,
  body: '{"type":"credential.recovered","data":{"leafUserId":"ü"}}',
  sigSecret1: 'TPn/u6NVDQ9JJ28FgI7Q6anvM1xhfsYrnDRmchjpzaA=',
  sigSecret2: 'K3oxSTki7GJzmbPFp+naS7WhGWTppFUbisr/hkJEXUQ=',
};

describe('signPayload', () => {
  it('matches the independently computed vector', () => {
    expect(signPayload({ secrets: [SECRET], msgId: V1.msgId, timestamp: V1.timestamp, body: V1.body })).toBe(`v1,${V1.sig}`);
  });

  it('signs UTF-8 bytes and emits one v1 signature per secret during rotation', () => {
    expect(signPayload({ secrets: [SECRET, SECRET2], msgId: V2.msgId, timestamp: V2.timestamp, body: V2.body })).toBe(
      `v1,${V2.sigSecret1} v1,${V2.sigSecret2}`,
    );
  });

  it('refuses a secret without the whsec_ prefix and an empty secret list', () => {
    expect(() => signPayload({ secrets: ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], msgId: 'm', timestamp: 1, body: '' })).toThrow(/whsec_/);
    expect(() => signPayload({ secrets: [], msgId: 'm', timestamp: 1, body: '' })).toThrow(/at least one/);
  });
});

describe('verifySignature', () => {
  const base = { msgId: V2.msgId, timestamp: V2.timestamp, body: V2.body };

  it('accepts a header where any signature matches any secret', () => {
    expect(verifySignature({ ...base, secrets: [SECRET2], header: `v1,${V2.sigSecret1} v1,${V2.sigSecret2}` })).toBe(true);
    expect(verifySignature({ ...base, secrets: [SECRET, SECRET2], header: `v1,${V2.sigSecret1}` })).toBe(true);
  });

  it('rejects a changed body, id, timestamp, or signature and unknown versions', () => {
    expect(verifySignature({ ...base, body: `${V2.body} `, secrets: [SECRET], header: `v1,${V2.sigSecret1}` })).toBe(false);
    expect(verifySignature({ ...base, msgId: 'msg_abd', secrets: [SECRET], header: `v1,${V2.sigSecret1}` })).toBe(false);
    expect(verifySignature({ ...base, timestamp: V2.timestamp + 1, secrets: [SECRET], header: `v1,${V2.sigSecret1}` })).toBe(false);
    expect(verifySignature({ ...base, secrets: [SECRET], header: `v1,${V2.sigSecret2}` })).toBe(false);
    expect(verifySignature({ ...base, secrets: [SECRET], header: `v2,${V2.sigSecret1}` })).toBe(false);
    expect(verifySignature({ ...base, secrets: [SECRET], header: '' })).toBe(false);
  });

  it('rejects a timestamp outside the tolerance when the current time is given', () => {
    const header = `v1,${V2.sigSecret1}`;
    expect(verifySignature({ ...base, secrets: [SECRET], header, nowSeconds: V2.timestamp + 299 })).toBe(true);
    expect(verifySignature({ ...base, secrets: [SECRET], header, nowSeconds: V2.timestamp + 301 })).toBe(false);
  });

  it('round-trips with signPayload', () => {
    const header = signPayload({ secrets: [SECRET], msgId: 'msg_x', timestamp: 42, body: '{"a":1}' });
    expect(verifySignature({ secrets: [SECRET], msgId: 'msg_x', timestamp: 42, body: '{"a":1}', header })).toBe(true);
  });
});
