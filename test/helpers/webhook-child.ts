import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '../..');
const OUT = join(ROOT, 'test-artifacts', 'webhook-child');
const ENTRY = join(ROOT, 'test/helpers/webhook-service-child.ts');
let built: string | undefined;

/**
 * Transpiles the child script and every relative import it reaches into test-artifacts/ (once per run),
 * with the Lua scripts the modules load next to them.
 */
function build(): string {
  if (built !== undefined) return built;
  const seen = new Set<string>();
  const queue = [ENTRY];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) queue.push(resolve(dirname(file), `${m[1] ?? ''}.ts`));
    const output = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023, verbatimModuleSyntax: false },
      fileName: file,
    }).outputText;
    const target = join(OUT, relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, output);
    for (const m of source.matchAll(/new URL\('(\.{1,2}\/[^']+\.lua)', import\.meta\.url\)/g)) {
      const lua = resolve(dirname(file), m[1] ?? '');
      // A doc comment's example names no real file.
      if (!existsSync(lua)) continue;
      mkdirSync(dirname(join(OUT, relative(ROOT, lua))), { recursive: true });
      copyFileSync(lua, join(OUT, relative(ROOT, lua)));
    }
  }
  built = join(OUT, relative(ROOT, ENTRY)).replace(/\.ts$/, '.js');
  return built;
}

/** A webhook service running in a child process; `kill()` sends SIGKILL. */
export interface WebhookChild {
  process: ChildProcess;
  output: () => string;
  kill(): Promise<void>;
}

/** Starts the webhook service in a child process and waits for it to report "ready". */
export async function startWebhookChild(env: {
  redisUrl: string;
  prefix: string;
  endpointUrl: string;
  secret: string;
  extra?: Record<string, string>;
}): Promise<WebhookChild> {
  const child = spawn(process.execPath, [build()], {
    env: {
      ...process.env,
      CHILD_REDIS_URL: env.redisUrl,
      CHILD_PREFIX: env.prefix,
      CHILD_ENDPOINT_URL: env.endpointUrl,
      CHILD_SECRET: env.secret,
      ...env.extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  await new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`webhook child not ready within 20 s:\n${output}`)), 20_000);
    child.stdout?.on('data', () => {
      if (output.includes('ready\n')) {
        clearTimeout(timer);
        resolveReady();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`webhook child exited with ${code}:\n${output}`));
    });
  });
  return {
    process: child,
    output: () => output,
    kill: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGKILL');
      }),
  };
}
