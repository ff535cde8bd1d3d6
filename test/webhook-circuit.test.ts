import { describe, expect, it } from 'vitest';
import { credentialOf } from '../src/webhooks/delivery-log.js';
import { probeDelay, type CircuitOptions } from '../src/webhooks/delivery.processor.js';

const options = (overrides: Partial<CircuitOptions> = {}): CircuitOptions => ({
  failureThreshold: 5,
  probeIntervalMs: 5000,
  parkMs: 3_600_000,
  giveUpAfterMs: 100_000_000,
  schedule: [1000, 300_000, 1_800_000],
  random: () => 0.5,
  ...overrides,
});

describe('probeDelay', () => {
  it('follows the retry schedule from the failure that opened the circuit, capped at the probe interval', () => {
    expect(probeDelay({ failuresInRow: 5, options: options(), retryAfterMs: undefined })).toBe(1000);
    expect(probeDelay({ failuresInRow: 6, options: options(), retryAfterMs: undefined })).toBe(5000);
    expect(probeDelay({ failuresInRow: 500, options: options(), retryAfterMs: undefined })).toBe(5000);
  });

  it('jitters the cap by ±10 % and treats a Retry-After as a floor', () => {
    expect(probeDelay({ failuresInRow: 9, options: options({ random: () => 0 }), retryAfterMs: undefined })).toBe(4500);
    expect(probeDelay({ failuresInRow: 9, options: options({ random: () => 0.999_999 }), retryAfterMs: undefined })).toBe(5500);
    expect(probeDelay({ failuresInRow: 9, options: options(), retryAfterMs: 60_000 })).toBe(60_000);
  });

  it('uses the probe interval when the schedule is empty', () => {
    expect(probeDelay({ failuresInRow: 5, options: options({ schedule: [] }), retryAfterMs: undefined })).toBe(5000);
  });
});

describe('credentialOf', () => {
  it('reads the credential a webhook body is about, and never throws', () => {
    const body = JSON.stringify({ type: 'credential.recovered', data: { provider: 'panorama', leafUserId: 'u-1', credentialId: 'c-9' } });
    expect(credentialOf(body)).toEqual({ credential: 'panorama:u-1', credentialId: 'c-9' });
    expect(credentialOf('not json')).toEqual({ credential: null, credentialId: null });
    expect(credentialOf(JSON.stringify({ data: { provider: 'panorama', leafUserId: 'u-2', credentialId: null } }))).toEqual({
      credential: 'panorama:u-2',
      credentialId: null,
    });
  });
});
