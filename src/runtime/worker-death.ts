// Recognizes "the engine worker is gone" among the errors an engine call can reject with, so the
// runtime can turn it into E_WORKER_DIED and its 'down' state. Kept apart from runtime.ts because it
// depends on how engine-client.ts reports a dead worker.

import { SinkrtError } from '../backends/types.js';

const DEATH_CODES = new Set(['E_WORKER_DIED', 'WORKER_DIED', 'E_WORKER_EXIT', 'WORKER_EXITED']);

export function isWorkerDeath(e: unknown): boolean {
  if (e instanceof SinkrtError) return DEATH_CODES.has(e.code);
  if (e instanceof Error) return /worker (died|exited|terminated)/i.test(e.message);
  return false;
}
