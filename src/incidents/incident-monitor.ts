import { needsAction } from '../classify/categories.js';
import { safeError, type Logger } from '../logger.js';
import { pollAgesKey } from '../monitor/poll-ages.js';
import type { Transition } from '../monitor/transition.js';
import type { NotificationDecision } from '../webhooks/notification-policy.js';
import { failureSignature, likelyCause } from './failure-signature.js';
import type { IncidentEventType } from './incident-payload.js';
import type { FleetIncident, IncidentRules, IncidentStore, Route } from './incident-store.js';

/** Incident settings (configuration; defaults in config.ts). */
export interface IncidentSettings extends IncidentRules {
  /** Longest an incident holds notifications: reached, it resolves and releases them. */
  holdLimitMs: number;
  /** Share of an incident's credentials that must recover for it to resolve as recovered. */
  recoveredShare: number;
  /** After a recovery, held notifications of credentials not yet recovered wait this long more. */
  releaseDelayMs: number;
  /** How often due notifications, resolutions and incident webhooks are looked at. */
  checkIntervalMs: number;
}

/** What the monitor needs from the webhook side. */
export interface IncidentMonitorDeps {
  store: IncidentStore;
  prefix: string;
  settings: IncidentSettings;
  /** Enqueues a credential notification to every endpoint that wants it (idempotent per webhook-id). */
  deliver(transition: Transition, decision: NotificationDecision): Promise<void>;
  /** Enqueues an incident webhook to every endpoint (idempotent per incident and type). */
  deliverIncident(incident: FleetIncident, type: IncidentEventType): Promise<void>;
  logger: Logger;
  now?: () => number;
}

interface StoredPayload {
  transition: Transition;
  decision: NotificationDecision;
}

/**
 * Fleet incidents on the dispatcher's path: routes each transition (send, settle, hold, drop), and on a
 * timer sends what became due, resolves incidents and enqueues the incident webhooks. Every step is
 * recorded in Redis first, so several processes and kill -9 at any point neither lose nor double a
 * notification (deliveries are idempotent per webhook-id).
 */
export function createIncidentMonitor(deps: IncidentMonitorDeps) {
  const { store, settings, logger } = deps;
  const now = deps.now ?? Date.now;
  // A sender that died keeps its due notifications leased this long; another process then sends them
  // (idempotently: the same webhook-id, so an enqueue that did happen is not repeated).
  const leaseMs = Math.max(2000, settings.checkIntervalMs * 10);
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;

  async function route(t: Transition, decision: NotificationDecision | null): Promise<Route> {
    const recover = t.to === 'healthy';
    const signature = failureSignature({ category: t.to, evidence: t.evidence });
    // Every failure counts as a sighting (an outage of provider_unavailable opens an incident too);
    // only notifications are settled, held or dropped.
    const result = await store.route({
      credentialKey: `${t.provider}:${t.leafUserId}`,
      transitionId: t.id,
      // A first sighting is the fleet's initial state, not a storm, and not_connected is each grower's
      // own state: neither counts towards an incident (a fresh deployment would otherwise open one).
      kind: recover ? 'recover' : t.from === null || t.to === 'not_connected' ? 'other' : 'fail',
      signature,
      cause: likelyCause(signature),
      notify: decision !== null,
      // When the app was already told this credential failed (it left a category needing action), its
      // recovery must still be sent even if the newer failure notification is dropped.
      payload:
        decision === null
          ? ''
          : `${t.from !== null && needsAction(t.from, true) ? '1' : '0'}${JSON.stringify({ transition: t, decision } satisfies StoredPayload)}`,
      atMs: Number.isFinite(Date.parse(t.at)) ? Date.parse(t.at) : now(),
      nowMs: now(),
      pollAgesKey: pollAgesKey(deps.prefix, t.provider),
      rules: settings,
    });
    if (result.startsWith('held:') || result === 'dropped')
      logger.debug({ transitionId: t.id, route: result }, 'notification routed by incidents');
    if (result.startsWith('held:')) void tick();
    return result;
  }

  async function releaseDue(): Promise<number> {
    let released = 0;
    for (;;) {
      const due = await store.takeDue(now(), leaseMs);
      if (due.length === 0) return released;
      for (const item of due) {
        try {
          const stored = JSON.parse(item.payload.slice(1)) as StoredPayload;
          await deps.deliver(stored.transition, stored.decision);
        } catch (error) {
          logger.error({ transitionId: item.transitionId, err: safeError(error) }, 'held notification could not be enqueued: dropped');
        }
        await store.finish(item.credentialKey, item.transitionId);
        released += 1;
      }
    }
  }

  async function resolveDone(): Promise<void> {
    for (const id of await store.openIds()) {
      const p = await store.progress(id);
      const at = now();
      if (p.members > 0 && p.recovered >= settings.recoveredShare * p.members) {
        const held = await store.resolve(id, 'recovered', at, at + settings.releaseDelayMs);
        if (held >= 0)
          logger.warn(
            { incidentId: id, recovered: p.recovered, members: p.members, held },
            'fleet incident resolved: credentials recovered',
          );
      } else if (at - p.openedAtMs >= settings.holdLimitMs) {
        const held = await store.resolve(id, 'hold_limit', at, at);
        if (held >= 0)
          logger.warn({ incidentId: id, held, members: p.members }, 'fleet incident reached the hold limit: held notifications released');
      }
    }
  }

  async function sendIncidentEvents(): Promise<void> {
    for (const event of await store.pendingIncidentEvents()) {
      const [id = '', kind] = event.split(':');
      const incident = await store.get(id);
      if (incident !== null) {
        const type: IncidentEventType = kind === 'resolved' ? 'incident.resolved' : 'incident.opened';
        await deps.deliverIncident(incident, type);
        if (type === 'incident.opened')
          logger.warn(
            { incidentId: id, signature: incident.signature, count: incident.count, share: incident.share },
            'fleet incident opened',
          );
      }
      await store.incidentEventDone(event);
    }
  }

  async function runTick(): Promise<void> {
    try {
      await sendIncidentEvents();
      await resolveDone();
      await sendIncidentEvents();
      await releaseDue();
    } catch (error) {
      logger.error({ err: safeError(error) }, 'incident check failed; retrying at the next tick');
    }
  }

  /** One pass; concurrent calls share the pass in flight. */
  function tick(): Promise<void> {
    ticking ??= runTick().finally(() => (ticking = undefined));
    return ticking;
  }

  return {
    route,
    tick,
    /** Starts the periodic check. */
    start(): void {
      if (timer !== undefined) return;
      timer = setInterval(() => void tick(), settings.checkIntervalMs);
      timer.unref();
      void tick();
    },
    /** Stops the periodic check and waits for the pass in flight. */
    async stop(): Promise<void> {
      clearInterval(timer);
      timer = undefined;
      await ticking;
    },
    /** Resolves an incident by hand: `release` sends its held notifications now, `discard` drops them. */
    async operatorResolve(id: string, how: 'release' | 'discard'): Promise<number> {
      const at = now();
      const held = await store.resolve(id, how === 'release' ? 'released' : 'discarded', at, at, how === 'discard');
      if (held >= 0) {
        logger.warn({ incidentId: id, held, how }, 'fleet incident resolved by an operator');
        void tick();
      }
      return held;
    },
  };
}

/** The incident monitor's interface. */
export type IncidentMonitor = ReturnType<typeof createIncidentMonitor>;
