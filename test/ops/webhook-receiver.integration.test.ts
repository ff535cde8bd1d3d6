import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/prom-stack.js';

let child: ChildProcess | undefined;
let base = '';

beforeAll(async () => {
  const proc = spawn(process.execPath, [join(REPO_ROOT, 'docker', 'webhook-receiver.mjs')], {
    env: { PATH: process.env['PATH'], PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  base = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 10_000);
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    proc.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
});

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

describe('docker/webhook-receiver.mjs', () => {
  it('answers /healthz', async () => {
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
  });

  it('keeps posted webhooks and summarises Alertmanager notifications', async () => {
    const webhook = await fetch(`${base}/credwatch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': 'msg_1' },
      body: JSON.stringify({ type: 'credential.action_required' }),
    });
    expect(webhook.status).toBe(200);
    const alert = await fetch(`${base}/alertmanager/team`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        receiver: 'team',
        status: 'firing',
        alerts: [{ status: 'firing', labels: { alertname: 'CredwatchEnvironmentMismatch' } }],
      }),
    });
    expect(alert.status).toBe(200);
    const recent = (await (await fetch(`${base}/requests`)).json()) as Array<{
      path: string;
      headers: Record<string, string>;
      summary?: unknown;
      body: unknown;
    }>;
    expect(recent[0]).toMatchObject({
      path: '/alertmanager/team',
      summary: { receiver: 'team', status: 'firing', alerts: ['CredwatchEnvironmentMismatch firing'] },
    });
    expect(recent[1]).toMatchObject({
      path: '/credwatch',
      headers: { 'webhook-id': 'msg_1' },
      body: { type: 'credential.action_required' },
    });
  });

  it('exits 0 on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    child?.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
