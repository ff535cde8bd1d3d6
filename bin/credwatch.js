#!/usr/bin/env node
// Runs the compiled CLI. `npm ci` builds dist/ through the `prepare` script.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('credwatch: dist/ is missing; run `npm ci` (or `npm run build`) in the credwatch folder first.\n');
  process.exit(2);
}
await import(entry.href);
