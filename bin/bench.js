#!/usr/bin/env node
// Runs the compiled benchmark (src/bench → dist/bench): `npm run bench -- --help`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/bench/run.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('bench: dist/bench/ is missing; run `npm run build` in the credwatch folder first.\n');
  process.exit(2);
}
const { runBench } = await import(entry.href);
process.exitCode = await runBench(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
