import type { Config } from '../config.js';
import { LeafClient, type LeafClientOptions } from './leaf-client.js';

/** What a caller adds to the configured Leaf settings: where requests are budgeted and tokens kept. */
export type LeafClientDeps = Pick<LeafClientOptions, 'budget' | 'tokenStore' | 'metrics' | 'logger'> & {
  /** Overrides the configured base URL (a command's `--leaf-url`). */
  apiUrl?: string | undefined;
};

/**
 * The one place a Leaf client is built from configuration (the daemon, `credwatch audit` and
 * `credwatch leaf-alerts`), so a new Leaf setting reaches every caller.
 */
export function createLeafClient(leaf: Config['leaf'], deps: LeafClientDeps): LeafClient {
  return new LeafClient({
    apiUrl: deps.apiUrl ?? leaf.apiUrl,
    username: leaf.username,
    password: leaf.password,
    token: leaf.token,
    requestTimeoutMs: leaf.requestTimeoutMs,
    maxRetries: leaf.maxRetries,
    budget: deps.budget,
    tokenStore: deps.tokenStore,
    metrics: deps.metrics,
    logger: deps.logger,
  });
}
