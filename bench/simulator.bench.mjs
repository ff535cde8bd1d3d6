// Measures the simulator's two budgets (docs/simulator.md): memory for 100 000 users, and its own time
// to answer one user's events. Run after `npm run build`:
//   node --expose-gc bench/simulator.bench.mjs [users] [requests]
/* global fetch, process, console, performance, gc */
import { Population } from '../dist/sim/population.js';
import { startSimulator } from '../dist/sim/simulator.js';

const users = Number(process.argv[2] ?? 100_000);
const requests = Number(process.argv[3] ?? 3000);
const mib = (bytes) => (bytes / 1024 / 1024).toFixed(1);
const collect = () => (typeof gc === 'function' ? gc() : undefined);

collect();
const before = process.memoryUsage();
const t0 = performance.now();
const started = await startSimulator({ users, seed: 1, port: 0 });
const buildMs = performance.now() - t0;
collect();
const after = process.memoryUsage();

const login = await fetch(`${started.url}/api/authenticate`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ username: 'demo@example.com', password: 'demo-password', rememberMe: 'true' }),
});
const { id_token: token } = await login.json();
const ids = started.sim.userIds();
const simMs = [];
const eventCounts = [];
const step = Math.max(1, Math.floor(ids.length / requests));
for (let i = 0; i < ids.length && simMs.length < requests; i += step) {
  const r = await fetch(`${started.url}/services/usermanagement/api/users/${ids[i]}/panorama-credentials/events`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = await r.text();
  if (r.status !== 200) continue; // users without a credential answer 404
  const timing = /sim;dur=([\d.]+)/.exec(r.headers.get('server-timing') ?? '');
  if (timing) simMs.push(Number(timing[1]));
  eventCounts.push(JSON.parse(body).length);
}
collect();
const served = process.memoryUsage();
await started.close();

// CPU time (immune to other processes on a busy machine) to generate and serialise one user's events,
// the work the events route does, averaged over the same users.
const population = new Population(1, users, Date.now(), Date.now);
const sample = ids.filter((_id, i) => i % step === 0).slice(0, requests);
const cpu0 = process.cpuUsage();
let answered = 0;
for (const id of sample) {
  const events = population.events(id);
  if (events) {
    JSON.stringify(events);
    answered += 1;
  }
}
const cpu = process.cpuUsage(cpu0);
const cpuMsPerAnswer = (cpu.user + cpu.system) / 1000 / answered;

const sorted = [...simMs].sort((a, b) => a - b);
const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
const avgEvents = eventCounts.reduce((a, b) => a + b, 0) / eventCounts.length;
console.log(
  JSON.stringify(
    {
      users,
      buildSeconds: Number((buildMs / 1000).toFixed(2)),
      heapUsedMiB: { before: mib(before.heapUsed), afterBuild: mib(after.heapUsed), afterRequests: mib(served.heapUsed) },
      rssMiB: { before: mib(before.rss), afterBuild: mib(after.rss), afterRequests: mib(served.rss) },
      eventsAnswers: simMs.length,
      eventsPerAnswer: { mean: Number(avgEvents.toFixed(1)), max: Math.max(...eventCounts) },
      simTimeMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: sorted.at(-1) },
      cpuMsPerEventsAnswer: Number(cpuMsPerAnswer.toFixed(3)),
      loadAverage: (await import('node:os')).loadavg().map((l) => Number(l.toFixed(1))),
    },
    null,
    2,
  ),
);
