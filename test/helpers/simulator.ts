import { LeafClient } from '../../src/leaf/leaf-client.js';
import { MemoryRequestBudget } from '../../src/leaf/request-budget.js';
import { MemoryTokenStore } from '../../src/leaf/token-store.js';
import { startSimulator, type SimulatorOptions, type StartedSimulator } from '../../src/sim/simulator.js';

/** The Leaf account every test simulator accepts. */
export const TEST_SIM_ACCOUNT = { username: 'sim-test@example.com', password: 'sim-test-password-42' } as const;

/**
 * Starts a simulator on a free loopback port for one test: 50 users, seed 1, the test account and
 * fast alert retries unless overridden. Call `close()` in afterEach.
 */
export async function startTestSimulator(
  options: Partial<SimulatorOptions> & { port?: number; host?: string } = {},
): Promise<StartedSimulator> {
  return startSimulator({
    users: 50,
    seed: 1,
    username: TEST_SIM_ACCOUNT.username,
    password: TEST_SIM_ACCOUNT.password,
    alertRetryDelaysMs: [20, 50, 100],
    port: 0,
    ...options,
  });
}

/** Logs in to a simulator with the test account and returns the id_token. */
export async function simToken(url: string, account: { username: string; password: string } = TEST_SIM_ACCOUNT): Promise<string> {
  const response = await fetch(`${url}/api/authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...account, rememberMe: 'true' }),
  });
  if (!response.ok) throw new Error(`authenticate answered ${response.status}`);
  const body = (await response.json()) as { id_token?: unknown };
  if (typeof body.id_token !== 'string') throw new Error('authenticate answered without id_token');
  return body.id_token;
}

/** A Leaf client logged in to a test simulator with the test account (no retries, 100 rps, in memory). */
export function simLeafClient(sim: StartedSimulator): LeafClient {
  return new LeafClient({
    apiUrl: sim.url,
    username: TEST_SIM_ACCOUNT.username,
    password: TEST_SIM_ACCOUNT.password,
    requestTimeoutMs: 5000,
    maxRetries: 0,
    budget: new MemoryRequestBudget(100),
    tokenStore: new MemoryTokenStore(),
  });
}
