import { CATEGORIES, type Category } from '../classify/categories.js';

/**
 * The category indexes: one sorted set per provider and category, `{prefix}:cat:{provider}:{category}`,
 * of Leaf user ids scored by when the category began (`since`, ms). `healthy`, the category of 90 % of
 * a fleet, has none: its count is derived from the schedule (the healthy class holds the healthy and
 * not_connected credentials, see CredentialStore.counts) and its listing pages through that class. This
 * saves about 130 bytes per credential (docs/performance.md).
 */
export const UNINDEXED_CATEGORY = 'healthy' satisfies Category;

/** A category that has an index. */
export type IndexedCategory = Exclude<Category, typeof UNINDEXED_CATEGORY>;

/** Every category with an index, in CATEGORIES order. */
export const INDEXED_CATEGORIES = CATEGORIES.filter((c): c is IndexedCategory => c !== UNINDEXED_CATEGORY);

/** Redis key of one category index (`healthy`'s only in the migration that deletes it). */
export function categoryIndexKey(prefix: string, provider: string, category: Category): string {
  return `${prefix}:cat:${provider}:${category}`;
}
