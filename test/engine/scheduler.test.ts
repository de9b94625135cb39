// Scheduler behaviour on small hand-made cases: batch order, chunked prefill, caps, prefix hits,
// sliding-window release, preemption by recompute.

import { describe, expect, it } from 'vitest';
import { EngineCore } from '../../src/wasm/engine-core.js';
import type { EngineConfig } from '../../src/runtime/engine-api.js';

const cfg = (o: Partial<EngineConfig> = {}): EngineConfig => ({
  numBlocks: 64, blockSize: 4, slidingWindow: 0, maxNumSeqs: 8, maxNumBatchedTokens: 16, maxModelLen: 128, ...o,
});

function cycle(e: EngineCore, token = 1) {
  const s = e.step();
  const snapshot = {
    ...s,
    ids: Array.from(e.plan.requestIds),
    q: Array.from(e.plan.queryLens),
    ctx: Array.from(e.plan.full.contextLens),
    bt: Array.from(e.plan.full.blockTable),
  };
  for (let i = 0; i < s.numSeqs; i++) if (e.plan.sample[i]) e.plan.sampledTokens[i] = token;
  e.commit();
  return snapshot;
}

const seq = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

describe('scheduler', () => {
  it('chunks a long prompt under the token budget, then orders decode, extend, prefill', async () => {
    const e = await EngineCore.create(cfg());
    e.addRequest(1, seq(6), 5);
    expect(cycle(e)).toMatchObject({ ids: [1], q: [6], ctx: [0], numPrefills: 1 });
    e.addRequest(2, seq(40, 100), 2);
    // budget 16: request 1 decodes (1 token), request 2 gets a 15-token first chunk
    expect(cycle(e)).toMatchObject({ ids: [1, 2], q: [1, 15], ctx: [6, 0], numDecodes: 1, numPrefills: 1 });
    e.addRequest(3, seq(5, 200), 2);
    // 1 decode, request 2 continues (extend, 15 tokens): budget spent, request 3 waits
    expect(cycle(e)).toMatchObject({ ids: [1, 2], q: [1, 15], ctx: [7, 15], numDecodes: 1, numExtends: 1 });
    expect(cycle(e)).toMatchObject({ ids: [1, 2, 3], q: [1, 10, 5], ctx: [8, 30, 0], numDecodes: 1, numExtends: 1, numPrefills: 1 });
  });

  it('never runs more than maxNumSeqs sequences', async () => {
    const e = await EngineCore.create(cfg({ maxNumSeqs: 2, maxNumBatchedTokens: 64 }));
    for (let i = 0; i < 5; i++) e.addRequest(i, 3, 2);
    const s = cycle(e);
    expect(s.numSeqs).toBe(2);
    expect(e.stats()).toMatchObject({ running: 2, waiting: 3 });
  });

  it('a later request with the same prefix reuses the cached blocks (prefix hit), leaving one token to compute', async () => {
    const e = await EngineCore.create(cfg());
    e.addRequest(1, seq(12), 1);
    const a = cycle(e);
    expect(e.stats().full.cachedBlocks).toBe(3);
    e.addRequest(2, [...seq(12), 50, 51], 1);
    const b = cycle(e);
    // 14 tokens: 3 full blocks cached -> context 12, 2 tokens to compute; the same block ids
    expect(b).toMatchObject({ ids: [2], ctx: [12], q: [2], numExtends: 1 });
    expect(b.bt.slice(0, 3)).toEqual(a.bt.slice(0, 3));
    expect(e.stats().prefixHitTokens).toBe(12);
    e.addRequest(3, seq(12), 1);
    // Identical 12-token prompt: at most (12 - 1) / 4 = 2 blocks may hit, so the last token has logits.
    expect(cycle(e)).toMatchObject({ ids: [3], ctx: [8], q: [4] });
  });

  it('a request given without token ids gets no prefix hit', async () => {
    const e = await EngineCore.create(cfg());
    e.addRequest(1, seq(12), 1);
    cycle(e);
    e.addRequest(2, 12, 1);
    expect(cycle(e)).toMatchObject({ ctx: [0], q: [12] });
  });

  it('sliding group: blocks wholly out of the window are released and read as the null block', async () => {
    const e = await EngineCore.create(cfg({ slidingWindow: 8, numSlidingBlocks: 16 }));
    e.addRequest(1, seq(10), 30);
    let maxUsed = 0;
    for (let k = 0; k < 30; k++) {
      const s = e.step();
      const ctx = e.plan.full.contextLens[0];
      const row = e.plan.sliding!.blockTable.subarray(0, e.plan.full.maxBlocksPerSeq);
      const firstVisible = Math.max(0, ctx - 8 + 1);
      for (let j = 0; j < Math.floor(firstVisible / 4); j++) expect(row[j]).toBe(0);
      for (let p = firstVisible; p < ctx + s.numTokens; p++) expect(row[Math.floor(p / 4)]).not.toBe(0);
      maxUsed = Math.max(maxUsed, e.stats().sliding!.usedBlocks);
      e.plan.sampledTokens[0] = 3;
      e.commit();
    }
    // A decode at position c holds blocks covering (c - 8, c]: at most ceil(8 / 4) + 1 = 3 blocks,
    // while the full group holds all ceil(39 / 4) = 10.
    expect(maxUsed).toBeLessThanOrEqual(3);
    expect(e.stats().full.usedBlocks).toBe(0);
  });

  it('preempts the latest request when blocks run out; it comes back and finishes with all its tokens', async () => {
    const e = await EngineCore.create(cfg({ numBlocks: 6, maxNumBatchedTokens: 32 }));
    e.addRequest(1, seq(8), 8); // up to 16 tokens: 4 blocks
    e.addRequest(2, seq(8, 50), 8); // 4 blocks as well: both cannot hold their last blocks at once
    let preempted = 0;
    const generated = new Map<number, number>();
    for (let k = 0; k < 60 && e.hasWork(); k++) {
      const s = e.step();
      preempted += s.numPreempted;
      for (let i = 0; i < s.numSeqs; i++) {
        if (e.plan.sample[i]) {
          e.plan.sampledTokens[i] = 7;
          generated.set(e.plan.requestIds[i], (generated.get(e.plan.requestIds[i]) ?? 0) + 1);
        }
      }
      e.commit();
    }
    expect(preempted).toBeGreaterThan(0);
    expect(e.hasWork()).toBe(false);
    expect(generated).toEqual(new Map([[1, 8], [2, 8]]));
    expect(e.stats().preemptions).toBe(preempted);
  });
});
