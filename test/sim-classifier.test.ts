import { describe, expect, it } from 'vitest';
import { assessCredential, CATEGORIES, type Category } from '../src/classify/index.js';
import { createSimulator, type SimUserView } from '../src/sim/simulator.js';
import { expectedCategoryOf } from '../src/sim/taxonomy.js';

const USERS = 3000;

describe('seeded population against the classifier', { timeout: 120_000 }, () => {
  const sim = createSimulator({ users: USERS, seed: 20261129, now: () => Date.parse('2026-11-29T12:00:00Z') });
  const users: SimUserView[] = sim.userIds().map((id) => {
    const user = sim.user(id);
    if (user === undefined) throw new Error(`user ${id} vanished`);
    return user;
  });

  it('assessCredential gives every seeded user its expected category', () => {
    const disagreements: string[] = [];
    const seen = new Set<Category>();
    for (const user of users) {
      seen.add(user.expectedCategory);
      const verdict = assessCredential(user.credential === null ? [] : user.events, user.credential);
      if (verdict.category !== user.expectedCategory) {
        disagreements.push(
          `${user.id}: expected ${user.expectedCategory}, classifier ${verdict.category} (${verdict.ruleId}: ${verdict.evidence.excerpt})`,
        );
      }
    }
    expect(disagreements.slice(0, 10)).toEqual([]);
    expect([...seen].sort()).toEqual([...CATEGORIES].sort());
  });

  it("the simulator's own taxonomy agrees with every scenario label", () => {
    const wrong = users.filter((u) => expectedCategoryOf(u.credential, u.events) !== u.expectedCategory).map((u) => u.id);
    expect(wrong).toEqual([]);
  });
});
