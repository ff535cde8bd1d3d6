/**
 * The fields of a credential's state hash (`{prefix}:cred:{provider}:{leafUserId}`), by what they hold.
 * The names are short and every value at most 64 bytes (long ones in chunks, long-fields.ts) so that the
 * hash stays in Redis's compact listpack encoding at 100 000 credentials. The Lua scripts
 * (scripts/apply-poll.lua, mark-removed.lua, record-seen.lua) write these same names; a test checks it.
 */
export const STATE_FIELD = {
  /** The category (absent: no state). */
  category: 'cat',
  action: 'act',
  /** When the category began (ISO). */
  since: 'since',
  /** When the last poll applied was observed (ms). */
  lastPolledMs: 'lp',
  /** When a sweep last listed the user (ms). */
  seenAtMs: 'sn',
  /** When the user was found gone from Leaf's listing (ms; the hash then expires). */
  removedAtMs: 'rm',
  credentialId: 'c',
  clientEnvironment: 'e',
  /** Leaf's credential status as last fetched. */
  credentialStatus: 'cs',
  /** When the credential object was last fetched (ms): the cache's age. */
  credentialFetchedAtMs: 'cf',
  /** createdDate (ms) of the newest event seen. */
  cursorMs: 'cur',
  lastEventId: 'cid',
  ruleId: 'rule',
  /** The rule's reason; longer than 64 bytes, continued in reason2, reason3… */
  reason: 'reason',
  /** The evidence's event id; absent when it is the last event seen (`cid`). */
  evidenceEventId: 'ei',
  evidenceStatus: 'es',
  /** The evidence excerpt (absent when empty); longer than 64 bytes, continued in ex2, ex3… */
  evidenceExcerpt: 'ex',
  /** Polls in a row that failed (Leaf errors) since the last one that did not. */
  consecutiveFailures: 'f',
  growerExternalId: 'gx',
  growerName: 'gn',
  growerEmail: 'gm',
} as const;

/** Redis key of one credential's state hash. */
export function credentialKey(prefix: string, provider: string, userId: string): string {
  return `${prefix}:cred:${provider}:${userId}`;
}
