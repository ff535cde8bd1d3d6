import { Agent } from 'node:http';
import { got } from 'got';
import { Agent as UndiciAgent, request as undiciRequest } from 'undici';

/** The HTTP clients the raw loop can use; `undici` is the fastest measured (docs/performance.md) and the default. */
export const RAW_CLIENTS = ['undici', 'got', 'fetch'] as const;
export type RawClient = (typeof RAW_CLIENTS)[number];

/** What the raw loop reports on stdout (one JSON line). */
export interface RawLoopResult {
  client: RawClient;
  polls: number;
  requests: number;
  seconds: number;
  polls_per_s: number;
  /** CPU seconds this process used during the timed part. */
  cpu_seconds: number;
}

/** One GET with keep-alive: the status and the body read to its end as text. */
type Get = (url: string, headers: Record<string, string>) => Promise<{ status: number; body: string }>;

function client(kind: RawClient): { get: Get; close(): Promise<void> } {
  if (kind === 'undici') {
    const dispatcher = new UndiciAgent({ keepAliveTimeout: 10_000 });
    return {
      get: async (url, headers) => {
        const res = await undiciRequest(url, { headers, dispatcher });
        return { status: res.statusCode, body: await res.body.text() };
      },
      close: () => dispatcher.close(),
    };
  }
  if (kind === 'fetch') {
    return {
      get: async (url, headers) => {
        const res = await fetch(url, { headers });
        return { status: res.status, body: await res.text() };
      },
      close: async () => undefined,
    };
  }
  const agent = new Agent({ keepAlive: true });
  const http = got.extend({ agent: { http: agent }, retry: { limit: 0 }, throwHttpErrors: false });
  return {
    get: async (url, headers) => {
      const res = await http(url, { headers });
      return { status: res.statusCode, body: res.body };
    },
    close: async () => agent.destroy(),
  };
}

/**
 * The raw HTTP limit credwatch is compared with: the same Leaf requests per user (GET credential, then
 * GET events when connected), `concurrency` at a time, keep-alive, through the chosen client, token
 * fetched once, and nothing else (no queue, no parsing, no Redis). Users are listed before the clock starts.
 */
export async function rawLoop(options: {
  url: string;
  username: string;
  password: string;
  concurrency: number;
  client: RawClient;
}): Promise<RawLoopResult> {
  const login = await fetch(`${options.url}/api/authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ username: options.username, password: options.password, rememberMe: 'true' }),
  });
  const auth = (await login.json()) as { id_token: string };
  const headers = { authorization: `Bearer ${auth.id_token}`, accept: 'application/json' };
  const http = client(options.client);
  const users: string[] = [];
  for (let page = 0; ; page += 1) {
    const res = await http.get(`${options.url}/services/usermanagement/api/users?page=${page}&size=100`, headers);
    const batch = JSON.parse(res.body) as Array<{ id: string }>;
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
      const credential = await http.get(base, headers);
      requests += 1;
      if (credential.status === 200) {
        await http.get(`${base}/events`, headers);
        requests += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, () => worker()));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  await http.close();
  return {
    client: options.client,
    polls: users.length,
    requests,
    seconds,
    polls_per_s: users.length / seconds,
    cpu_seconds: (cpu.user + cpu.system) / 1e6,
  };
}

// Run as a child: node raw-loop.js URL USERNAME PASSWORD CONCURRENCY [CLIENT] (the bench passes a local simulator's account).
if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  const [url, username, password, concurrency, kind] = process.argv.slice(2);
  const chosen = (RAW_CLIENTS as readonly string[]).includes(kind ?? '') ? (kind as RawClient) : 'undici';
  rawLoop({
    url: url ?? '',
    username: username ?? '',
    password: password ?? '',
    concurrency: Number(concurrency ?? 8),
    client: chosen,
  }).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stderr.write(`raw loop failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
