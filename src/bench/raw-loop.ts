import { Agent } from 'node:http';
import { got } from 'got';

/** What the raw loop reports on stdout (one JSON line). */
export interface RawLoopResult {
  polls: number;
  requests: number;
  seconds: number;
  polls_per_s: number;
  /** CPU seconds this process used during the timed part. */
  cpu_seconds: number;
}

/**
 * The raw HTTP limit credwatch is compared with: the same Leaf requests per user (GET credential, then
 * GET events when connected), `concurrency` at a time, keep-alive, through got, token fetched once, and
 * nothing else (no queue, no parsing, no Redis). Users are listed before the clock starts.
 */
export async function rawLoop(options: { url: string; username: string; password: string; concurrency: number }): Promise<RawLoopResult> {
  const agent = new Agent({ keepAlive: true });
  const http = got.extend({ agent: { http: agent }, retry: { limit: 0 }, throwHttpErrors: false, headers: { accept: 'application/json' } });
  const auth = await http
    .post(`${options.url}/api/authenticate`, { json: { username: options.username, password: options.password, rememberMe: 'true' } })
    .json<{ id_token: string }>();
  const headers = { authorization: `Bearer ${auth.id_token}` };
  const users: string[] = [];
  for (let page = 0; ; page += 1) {
    const batch = await http(`${options.url}/services/usermanagement/api/users`, { headers, searchParams: { page, size: 100 } }).json<
      Array<{ id: string }>
    >();
    users.push(...batch.map((u) => u.id));
    if (batch.length < 100) break;
  }
  let next = 0;
  let requests = 0;
  const started = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const worker = async (): Promise<void> => {
    while (next < users.length) {
      const id = users[next++] ?? '';
      const base = `${options.url}/services/usermanagement/api/users/${id}/panorama-credentials`;
      const credential = await http(base, { headers });
      requests += 1;
      if (credential.statusCode === 200) {
        await http(`${base}/events`, { headers });
        requests += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, () => worker()));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  agent.destroy();
  return { polls: users.length, requests, seconds, polls_per_s: users.length / seconds, cpu_seconds: (cpu.user + cpu.system) / 1e6 };
}

// Run as a child: node raw-loop.js URL USERNAME PASSWORD CONCURRENCY (the bench passes a local simulator's account).
if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  const [url, username, password, concurrency] = process.argv.slice(2);
  rawLoop({ url: url ?? '', username: username ?? '', password: password ?? '', concurrency: Number(concurrency ?? 8) }).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stderr.write(`raw loop failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
