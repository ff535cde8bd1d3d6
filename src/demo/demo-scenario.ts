/** Options of the demo's scripted scenario. */
export interface DemoScenarioOptions {
  simUrl: string;
  apiUrl: string;
  adminToken: string;
  expected: Record<string, number>;
  everyMs: number;
  breakAndHeal: boolean;
  /** Also play a fleet incident (partner password changed, then fixed) at these steps; 0 = never. */
  incidentAtStep?: number;
  recoverAtStep?: number;
  print: (line: string) => void;
}

interface Summary {
  total: number;
  categories: Record<string, number>;
  sweep: { lastFinishedAt: string | null };
}

async function json<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${new URL(url).pathname} answered ${res.status}`);
  return (await res.json()) as T;
}

/**
 * Drives the demo: reports when the first sweep matches the simulator's expected mix, then breaks a
 * healthy credential and heals a broken one in turn, through the simulator's control API, so that
 * transitions, webhooks and metrics move. Returns a function that stops it.
 */
export function runDemoScenario(o: DemoScenarioOptions): () => void {
  const api = (path: string) =>
    json<Summary & { items: Array<{ leafUserId: string }> }>(`${o.apiUrl}${path}`, {
      headers: { authorization: `Bearer ${o.adminToken}` },
    });
  const expectedTotal = Object.values(o.expected).reduce((a, b) => a + b, 0);
  const broken: string[] = [];
  let reported = false;
  let step = 0;
  let stopped = false;

  const tick = async () => {
    const summary = await api('/api/summary');
    if (!reported) {
      if (summary.total < expectedTotal) {
        o.print(`progress: ${summary.total}/${expectedTotal} credentials assessed`);
        return;
      }
      reported = true;
      const diff = Object.entries(o.expected).filter(([c, n]) => (summary.categories[c] ?? 0) !== n);
      o.print(
        diff.length === 0
          ? `first sweep done: all ${summary.total} credentials in the simulator's expected categories`
          : `first sweep done: differs from the expected mix in ${diff.map(([c, n]) => `${c} (expected ${n}, got ${summary.categories[c] ?? 0})`).join(', ')}`,
      );
    }
    if (!o.breakAndHeal) return;
    step += 1;
    if (await playIncident(step)) return;
    if (step % 2 === 1 || broken.length === 0) {
      const healthy = await api('/api/credentials?category=healthy&limit=20');
      const victim = healthy.items.find((c) => !broken.includes(c.leafUserId));
      if (!victim) return;
      const id = victim.leafUserId;
      await json(`${o.simUrl}/_sim/users/${id}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ statusCode: 400, body: '{"__type":"NotAuthorizedException","message":"Refresh Token has expired"}' }]),
      });
      await json(`${o.simUrl}/_sim/users/${id}/credential`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status: 'UNAUTHENTICATED' }),
      });
      broken.push(id);
      o.print(`sim: broke user ${id} (Cognito refresh token expired; Leaf pushes an alert)`);
    } else {
      const id = broken.shift() ?? '';
      await json(`${o.simUrl}/_sim/users/${id}/credential`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status: 'OK' }),
      });
      await json(`${o.simUrl}/_sim/users/${id}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ statusCode: 200, body: '{"organizations":[{"code":"DEMO"}]}' }]),
      });
      o.print(`sim: healed user ${id} (grower reconnected; picked up by the next sweep)`);
    }
  };

  let stormed: string[] = [];
  /** The fleet incident steps: every connected credential fails the same way, later all recover. */
  const playIncident = async (at: number): Promise<boolean> => {
    if (at === o.incidentAtStep) {
      const res = await json<{ users: string[] }>(`${o.simUrl}/_sim/fleet/partner-password-changed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      stormed = res.users;
      o.print(
        `sim: the partner's password changed: all ${stormed.length} connected credentials now fail with the same Cognito answer (watch for ONE incident.opened, no re-auth webhooks)`,
      );
      return true;
    }
    if (at === o.recoverAtStep && stormed.length > 0) {
      await json(`${o.simUrl}/_sim/fleet/recover`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ users: stormed }),
      });
      o.print(
        `sim: the partner's password was fixed: ${stormed.length} credentials sync again (held notifications are dropped; incident.resolved follows)`,
      );
      stormed = [];
      return true;
    }
    return false;
  };

  const loop = async () => {
    while (!stopped) {
      await new Promise((r) => setTimeout(r, reported ? o.everyMs : 2000));
      if (stopped) return;
      await tick().catch((error: Error) => o.print(`scenario: ${error.message}`));
    }
  };
  void loop();
  return () => {
    stopped = true;
  };
}
