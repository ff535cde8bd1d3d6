import { FALLBACK_RULE_IDS } from '../classify/event-signature.js';
import type { ProviderId } from '../core/providers.js';
import type { CredentialStore } from './credential-store.js';

const PAGE = 500;

/**
 * After a rules reload: finds the credentials whose current verdict came from a fallback rule or from
 * one of `changedRuleIds` (the rule id is in each state hash) and hands them to `enqueue` in pages.
 * One pass over the state (HGETALL per credential, pipelined per page): a rare operator action, not a poll.
 */
export async function reassessCredentials(deps: {
  store: CredentialStore;
  providers: readonly ProviderId[];
  changedRuleIds: readonly string[];
  enqueue: (provider: ProviderId, leafUserIds: string[]) => Promise<void>;
}): Promise<number> {
  const wanted = new Set([...FALLBACK_RULE_IDS, ...deps.changedRuleIds]);
  let total = 0;
  for (const provider of deps.providers) {
    let cursor: string | undefined;
    do {
      const page = await deps.store.list({ provider, limit: PAGE, cursor });
      const ids = page.items.filter((s) => wanted.has(s.ruleId)).map((s) => s.leafUserId);
      if (ids.length > 0) await deps.enqueue(provider, ids);
      total += ids.length;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }
  return total;
}
