import { Job, type Queue } from 'bullmq';
import type { Logger } from '../logger.js';
import type { DeliveryJobData } from './delivery.processor.js';
import type { EndpointCircuit } from './endpoint-circuit.js';

const BATCH = 200;

/**
 * Releases an endpoint's waiting deliveries, oldest first: each parked (delayed) job is promoted to the
 * queue's wait list, where the endpoint's worker concurrency and rate limit pace it. A job still active
 * (between its admission and its parking) stays on the set for the next round; anything else is dropped
 * from the set. Safe to run from several processes at once. Returns how many jobs were promoted.
 */
export async function releaseWaiting(deps: {
  circuit: EndpointCircuit;
  queue: Queue<DeliveryJobData>;
  endpoint: string;
  logger: Logger;
  limit?: number;
}): Promise<number> {
  const { circuit, queue, endpoint } = deps;
  let released = 0;
  const skip = new Set<string>();
  for (;;) {
    if (deps.limit !== undefined && released >= deps.limit) break;
    const ids = (await circuit.oldestWaiting(endpoint, BATCH + skip.size)).filter((id) => !skip.has(id));
    if (ids.length === 0) break;
    const done: string[] = [];
    for (const id of ids) {
      if (deps.limit !== undefined && released >= deps.limit) break;
      const job = await Job.fromId<DeliveryJobData>(queue, id);
      if (job === undefined) {
        done.push(id);
        continue;
      }
      const state = await job.getState();
      if (state === 'delayed') {
        try {
          await job.promote();
          released += 1;
        } catch {
          // Promoted by another process or woken by its timer meanwhile: nothing left to do.
        }
        done.push(id);
      } else if (state === 'active') {
        skip.add(id);
      } else {
        done.push(id);
      }
    }
    await circuit.unpark(endpoint, done);
    if (done.length === 0) break;
  }
  if (released > 0) deps.logger.info({ endpoint, released }, 'webhook endpoint recovered: waiting deliveries released');
  return released;
}
