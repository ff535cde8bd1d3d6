// Measures how long LeafClient.getEvents blocks the event loop for a large events array.
// Run after a build:  npm run build && node bench/leaf-events-block.mjs [events=50000] [rounds=5]
// Serves the array from a loopback HTTP server and records the longest gap between 1 ms ticks while
// the client fetches, parses and normalises it; compares with one blocking JSON.parse + normalizeEvents.
import { createServer } from 'node:http';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import process from 'node:process';
import { setInterval, clearInterval, setTimeout } from 'node:timers';
import { URL } from 'node:url';

const dist = new URL('../dist/', import.meta.url);
const { LeafClient } = await import(new URL('leaf/leaf-client.js', dist).href);
const { MemoryRequestBudget } = await import(new URL('leaf/request-budget.js', dist).href);
const { MemoryTokenStore } = await import(new URL('leaf/token-store.js', dist).href);
const { normalizeEvents } = await import(new URL('classify/normalize-event.js', dist).href);

const count = Number(process.argv[2] ?? 50_000);
const rounds = Number(process.argv[3] ?? 5);

const BODIES = [
  '{"organizations": [{"code": "ACME01", "name": "Acme Farms"}]}',
  '{"__type": "NotAuthorizedException", "message": "Refresh Token has expired"}',
  '{"message": "Service Unavailable"}',
  '<html><body><h1>502 Bad Gateway</h1></body></html>',
];
const start = Date.parse('2026-10-01T00:00:00Z');
// Built inside a function so only the JSON text stays on the heap during the measurement.
const makeEvents = () => Array.from({ length: count }, (_, i) => ({
  id: `ev-${i}`,
  // Shuffled order so the sort has work to do; microsecond dates as Leaf sends them.
  createdDate: new Date(start + ((i * 7919) % count) * 50_000).toISOString().replace('Z', '123Z'),
  statusCode: i % 10 === 0 ? '400' : 200,
  headers: '{"content-type": "application/json", "x-amzn-requestid": "6f1c0a52-1c9e-4a43-9a4c-0d0c5e1b7d11"}',
  body: BODIES[i % BODIES.length],
}));
const payload = JSON.stringify(makeEvents());

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(payload);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();

const client = new LeafClient({
  apiUrl: `http://127.0.0.1:${port}`,
  token: 'bench-static-token',
  requestTimeoutMs: 60_000,
  maxRetries: 0,
  budget: new MemoryRequestBudget(1000),
  tokenStore: new MemoryTokenStore(),
});

// Garbage-collection pauses also block the loop: report the longest one seen in each measurement.
let gcLongest = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcLongest = Math.max(gcLongest, entry.duration);
}).observe({ entryTypes: ['gc'] });

/** Runs `work` while a 1 ms ticker records the longest gap between ticks (the longest block). */
async function longestBlock(work) {
  let last = performance.now();
  let longest = 0;
  gcLongest = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  const began = performance.now();
  const result = await work();
  const total = performance.now() - began;
  clearInterval(ticker);
  longest = Math.max(longest, performance.now() - last);
  return { longest, total, result, gc: gcLongest };
}

const ms = (n) => `${n.toFixed(1)} ms`;
process.stdout.write(`events: ${count}, JSON size: ${(payload.length / 1e6).toFixed(1)} MB, node ${process.version}\n`);
// The longest gap while idle: what the machine (scheduling, GC) adds to every figure below.
const idle = await longestBlock(() => new Promise((resolve) => setTimeout(resolve, 1000)));
process.stdout.write(`idle baseline: longest gap ${ms(idle.longest)} over 1 s\n`);
for (let round = 1; round <= rounds; round += 1) {
  const client_ = await longestBlock(() => client.getEvents('panorama', 'bench-user'));
  const blocking = await longestBlock(async () => normalizeEvents(JSON.parse(payload)));
  process.stdout.write(
    `round ${round}: getEvents longest block ${ms(client_.longest)} (longest GC pause ${ms(client_.gc)}, total ${ms(client_.total)},` +
      ` ${client_.result.length} events) | one-pass JSON.parse+normalizeEvents block ${ms(blocking.longest)}\n`,
  );
}
client.close();
server.close();
