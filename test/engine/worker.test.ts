// The engine in a worker_threads Worker behind comlink: the same plans as in this thread, read in
// place from the shared memory; errors cross as named SinkrtErrors; a dead worker rejects calls.
// The worker entry is the compiled dist/src/runtime/engine-worker.js (npm test builds it first).

import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createEngine, WorkerEngine } from '../../src/runtime/engine-client.js';
import type { Engine, EngineOptions } from '../../src/runtime/engine-api.js';

const workerPath = fileURLToPath(new URL('../../dist/src/runtime/engine-worker.js', import.meta.url));
const skip = existsSync(workerPath) ? false : `no ${workerPath}: run npm run build first`;

const opts: EngineOptions = {
  numBlocks: 24, blockSize: 4, slidingWindow: 8, numSlidingBlocks: 12, maxNumSeqs: 4, maxNumBatchedTokens: 12, maxModelLen: 64,
};

async function trace(e: Engine): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < 10; i++) await e.addRequest(i, Array.from({ length: 3 + ((i * 7) % 13) }, (_, k) => (k * (i % 3)) % 5), 2 + (i % 5));
  while (await e.hasWork()) {
    const s = await e.step();
    const p = e.plan;
    // Read in place: these are views over the shared memory, not copies.
    expect(p.full.slotMapping.buffer).toBeInstanceOf(SharedArrayBuffer);
    out.push(JSON.stringify([s, Array.from(p.requestIds), Array.from(p.full.queryStartLoc), Array.from(p.full.slotMapping),
      Array.from(p.sliding!.slotMapping), Array.from(p.full.blockTable.subarray(0, p.full.maxBlocksPerSeq))]));
    for (let i = 0; i < s.numSeqs; i++) if (p.sample[i]) p.sampledTokens[i] = (p.requestIds[i] + s.stepId) % 5;
    const c = await e.commit();
    out.push(JSON.stringify([c, Array.from(p.finishedIds)]));
  }
  out.push(JSON.stringify(await e.stats()));
  return out;
}

describe.skipIf(skip)('engine in a worker', () => {
  it('plans exactly what the in-thread engine plans', async () => {
    const local = await createEngine(opts);
    const remote = await createEngine({ ...opts, worker: true, workerUrl: workerPath });
    try {
      const a = await trace(local);
      const b = await trace(remote);
      expect(a.length).toBeGreaterThan(10);
      expect(b).toEqual(a);
    } finally {
      await remote.close();
      await local.close();
    }
  });

  it('errors cross the thread as SinkrtErrors with codes; queued calls keep their order', async () => {
    const e = await createEngine({ ...opts, worker: true, workerUrl: workerPath });
    try {
      await expect(e.abort(5)).rejects.toMatchObject({ name: 'SinkrtError', code: 'UNKNOWN_REQUEST' });
      await expect(e.addRequest(1, 70, 1)).rejects.toMatchObject({ code: 'SEQUENCE_TOO_LONG' });
      // Not awaited in between: staging of prompts must not interleave.
      const adds = [e.addRequest(1, [1, 2, 3, 4, 5], 1), e.addRequest(2, [9, 9, 9, 9, 9, 9], 1), e.addRequest(3, [], 1)];
      const settled = await Promise.allSettled(adds);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
      await e.step();
      expect(Array.from(e.plan.queryLens)).toEqual([5, 6]);
      await expect(e.step()).rejects.toMatchObject({ code: 'STEP_NOT_COMMITTED' });
      await e.commit();
      expect(Array.from(e.plan.finishedIds).sort()).toEqual([1, 2]);
    } finally {
      await e.close();
    }
  });

  it('a dead worker rejects the call in flight and later calls with WORKER_DIED', async () => {
    const e = (await createEngine({ ...opts, worker: true, workerUrl: workerPath })) as WorkerEngine;
    await e.addRequest(1, 5, 3);
    e.__kill();
    await expect(e.step()).rejects.toMatchObject({ name: 'SinkrtError', code: 'WORKER_DIED' });
    await expect(e.stats()).rejects.toMatchObject({ code: 'WORKER_DIED' });
    await e.close();
  });
});

describe('engine worker start-up', () => {
  it('a worker entry that does not exist rejects with WORKER_DIED naming it, instead of hanging', async () => {
    const bad = fileURLToPath(new URL('./no-such-worker.js', import.meta.url));
    await expect(createEngine({ ...opts, worker: true, workerUrl: bad })).rejects.toMatchObject({
      name: 'SinkrtError', code: 'WORKER_DIED', message: expect.stringContaining('no-such-worker.js'),
    });
  });
});
