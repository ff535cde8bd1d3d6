import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/prom-stack.js';

/** Dockerfile instructions with line continuations joined and comments dropped. */
function instructions(text: string): Array<{ op: string; args: string }> {
  return text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [op = '', ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

const dockerfile = instructions(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const stages: Array<Array<{ op: string; args: string }>> = [];
for (const instruction of dockerfile) {
  if (instruction.op === 'FROM') stages.push([]);
  stages.at(-1)?.push(instruction);
}
const final = stages.at(-1) ?? [];
const dockerignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

describe('Dockerfile', () => {
  it('is multi-stage on node:24-slim', () => {
    expect(stages.length).toBe(2);
    expect(dockerfile.filter((i) => i.op === 'FROM').map((i) => i.args.split(' ')[0])).toEqual(['node:24-slim', 'node:24-slim']);
  });

  it('builds with npm ci in the first stage and installs production dependencies only in the last', () => {
    const runs = (stage: Array<{ op: string; args: string }>) =>
      stage
        .filter((i) => i.op === 'RUN')
        .map((i) => i.args)
        .join('\n');
    expect(runs(stages[0] ?? [])).toMatch(/npm ci\b/);
    expect(runs(stages[0] ?? [])).toContain('npm run build');
    expect(runs(final)).toContain('npm ci --omit=dev --ignore-scripts');
    expect(final.some((i) => i.op === 'COPY' && i.args.startsWith('--from=build /app/dist'))).toBe(true);
  });

  it('runs as a non-root user with exec-form ENTRYPOINT and CMD', () => {
    const user = final.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(JSON.parse(final.find((i) => i.op === 'ENTRYPOINT')?.args ?? 'null')).toEqual(['node', 'bin/credwatch.js']);
    expect(JSON.parse(final.find((i) => i.op === 'CMD')?.args ?? 'null')).toEqual(['start']);
    expect(final.find((i) => i.op === 'EXPOSE')?.args).toBe('8080');
  });

  it('checks /healthz with node in exec form', () => {
    const healthcheck = final.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
    const exec = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 4)) as string[];
    expect(exec.slice(0, 2)).toEqual(['node', '-e']);
    expect(exec[2]).toContain('/healthz');
  });

  it('copies only files that exist and that .dockerignore lets through', () => {
    const sources = dockerfile
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(' ').slice(0, -1));
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) {
      expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
      expect(
        dockerignore.filter((pattern) => pattern === source || pattern === source.split('/')[0]),
        source,
      ).toEqual([]);
    }
    for (const excluded of ['node_modules', 'dist', '.git', '.env']) expect(dockerignore).toContain(excluded);
  });
});
