#!/usr/bin/env node
// Summarises V8 .cpuprofile files (from `npm run bench -- --only pipeline --cpu-prof DIR`):
// the busy share of the profile, then the functions with the most self time and the groups below.
// Usage: node bench/profile-summary.mjs DIR_OR_FILE [TOP]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import process from 'node:process';
import { join } from 'node:path';

const target = process.argv[2];
const top = Number(process.argv[3] ?? 30);
if (!target) {
  process.stderr.write('usage: node bench/profile-summary.mjs DIR_OR_FILE [TOP]\n');
  process.exit(2);
}
const files = statSync(target).isDirectory()
  ? readdirSync(target)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(target, f))
  : [target];

/** Where a frame's code lives, coarsely: which package or which part of credwatch. */
function groupOf(url, name) {
  if (name === '(garbage collector)') return 'gc';
  if (name === '(idle)' || name === '(program)') return name;
  if (!url) return 'native/builtin';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.startsWith('node:'))
    return url
      .replace(/^node:(internal\/)?/, 'node:')
      .split('/')
      .slice(0, 2)
      .join('/');
  const d = /\/dist\/([^/]+)/.exec(url);
  if (d) return `credwatch:${d[1]}`;
  return url;
}

/** The area a sample's time goes to: the nearest frame (itself, then its callers) in a package or in credwatch. */
const AREAS = [
  [/^credwatch:(classify)/, 'classify (credwatch)'],
  [/^credwatch:(leaf)/, 'Leaf client and event parsing (credwatch)'],
  [/^credwatch:/, 'other credwatch code'],
  [/^ioredis$|^@ioredis/, 'Redis client (ioredis, socket writes included)'],
  [/^undici$/, 'HTTP client (undici, socket writes included)'],
  [/^bullmq$/, 'BullMQ'],
  [/^prom-client$/, 'metrics (prom-client)'],
  [/^pino|^@pinojs/, 'logging (pino)'],
  [/^zod$/, 'zod'],
  [/^node:modules|^node:deps\/cjs|^node:bootstrap/, 'start-up (module loading)'],
  [/^gc$/, 'garbage collection'],
];
function areaOf(nodeId, byId, parent) {
  for (let cur = nodeId; cur !== undefined; cur = parent.get(cur)) {
    const f = byId.get(cur).callFrame;
    const g = groupOf(f.url, f.functionName || '(anonymous)');
    for (const [re, area] of AREAS) if (re.test(g)) return area;
  }
  return 'other (Node internals, event loop)';
}

const self = new Map();
const groups = new Map();
const areas = new Map();
let total = 0;
let idle = 0;
for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const dt = new Map();
  for (let i = 0; i < p.samples.length; i += 1) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  for (const [id, us] of dt) {
    const n = byId.get(id);
    const name = n.callFrame.functionName || '(anonymous)';
    const url = n.callFrame.url;
    total += us;
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    const key = `${name} ${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + us);
    const g = groupOf(url, name);
    groups.set(g, (groups.get(g) ?? 0) + us);
    const area = areaOf(id, byId, parent);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
}
const busy = total - idle;
const pct = (us) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
process.stdout.write(
  `${files.length} profile(s), ${(total / 1e6).toFixed(2)} s sampled, busy ${(busy / 1e6).toFixed(2)} s (${((100 * busy) / total).toFixed(0)} %); shares of busy time\n\n`,
);
process.stdout.write('By area (each sample goes to its nearest frame in a package or in credwatch):\n');
for (const [a, us] of [...areas].sort((x, y) => y[1] - x[1])) process.stdout.write(`${pct(us)}  ${a}\n`);
process.stdout.write('\nBy package (self time):\n');
for (const [g, us] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, 25)) process.stdout.write(`${pct(us)}  ${g}\n`);
process.stdout.write(`\nTop ${top} functions (self time):\n`);
for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(us)}  ${k}\n`);
