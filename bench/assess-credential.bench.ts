// Run: npx vitest bench --run --project unit bench/assess-credential.bench.ts
// assessCredential runs on every poll with up to tens of thousands of events: these are 50 000-event logs.
import { bench, describe } from 'vitest';
import { assessCredential, classifyEvent, normalizeEvents } from '../src/classify/index.js';

const N = 50_000;
const start = Date.UTC(2026, 9, 1);
const date = (i: number) => new Date(start + i * 50_000).toISOString().replace('Z', '456Z'); // 6 fractional digits, as Leaf sends
const TOKEN = '{"__type":"NotAuthorizedException","message":"Refresh Token has expired"}';
const shapes: Array<[number, string]> = [
  [200, '{"organizations":[{"code":"ACME01"}]}'],
  [503, '<html><head><title>503 Service Temporarily Unavailable</title></head></html>'],
  [400, TOKEN],
  [404, '{"message":"Organization not found"}'],
  [418, "I'm a teapot"],
];
function log(kind: (i: number) => [number, string]): Array<Record<string, unknown>> {
  // Newest first, as a log might come back; statusCode as a string on every other event.
  return Array.from({ length: N }, (_, k) => {
    const i = N - 1 - k;
    const [status, body] = kind(i);
    return {
      id: `ev-${i}`,
      createdDate: date(i),
      statusCode: i % 2 === 0 ? status : String(status),
      headers: 'Content-Type: application/json',
      body,
    };
  });
}
const credential = { status: 'OK', clientEnvironment: 'PRODUCTION' as const };

// A mixed history whose newest events are successes: the common case.
const mixed = log((i) => (i > N - 100 ? shapes[0] : shapes[i % shapes.length]) as [number, string]);
// A failure run of 50 000 identical token errors: the whole log must be walked to find `since`.
const longRun = log(() => [400, TOKEN]);
// A failure run of 50 000 different bodies: nothing can be reused between events (worst case).
const distinct = log((i) => [400, `{"__type":"NotAuthorizedException","message":"Refresh Token has expired (request ${i})"}`]);

describe(`assessCredential on ${N} events`, () => {
  bench('mixed history, newest successful', () => {
    assessCredential(mixed, credential);
  });
  bench('one run of 50 000 identical failures', () => {
    assessCredential(longRun, credential);
  });
  bench('one run of 50 000 distinct failures (worst case)', () => {
    assessCredential(distinct, credential);
  });
  bench('normalizeEvents only (sort and de-duplicate)', () => {
    normalizeEvents(mixed);
  });
  bench('classifyEvent on every event (what assessCredential avoids)', () => {
    for (const event of mixed) classifyEvent(event, credential);
  });
});
