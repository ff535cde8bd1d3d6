import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

// The dependency check (`npm run depcheck`) run with the project's own rules against small source trees:
// it must refuse an import up a floor and an import cycle, and accept the allowed direction.
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const depcruise = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const run = promisify(execFile);
const trees: string[] = [];

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'credwatch-layering-'));
  trees.push(dir);
  copyFileSync(join(root, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
  );
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

async function check(dir: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [depcruise, 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err-long'],
      {
        cwd: dir,
      },
    );
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

afterAll(() => {
  for (const dir of trees) rmSync(dir, { recursive: true, force: true });
});

describe('dependency check', () => {
  it('accepts imports down the floors', async () => {
    const dir = tree({
      'src/core/words.ts': 'export const WORD = 1;\n',
      'src/monitor/state.ts': "import { WORD } from '../core/words.js';\nexport const STATE = WORD;\n",
      'src/main.ts': "import { STATE } from './monitor/state.js';\nexport const MAIN = STATE;\n",
    });
    const result = await check(dir);
    expect(result.output).toContain('no dependency violations');
    expect(result.code).toBe(0);
  }, 30_000);

  it('refuses an import up a floor and names the rule', async () => {
    const dir = tree({
      'src/core/words.ts': "import { STATE } from '../monitor/state.js';\nexport const WORD = STATE;\n",
      'src/monitor/state.ts': 'export const STATE = 1;\n',
    });
    const result = await check(dir);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('ground-imports-only-ground: src/core/words.ts → src/monitor/state.ts');
  }, 30_000);

  it('refuses an import cycle', async () => {
    const dir = tree({
      'src/monitor/a.ts': "import { B } from './b.js';\nexport const A = () => B;\n",
      'src/monitor/b.ts': "import { A } from './a.js';\nexport const B = () => A;\n",
    });
    const result = await check(dir);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('no-circular');
  }, 30_000);
});
