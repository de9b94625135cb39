import { describe, expect, it } from 'vitest';
import { EngineCore } from '../../src/wasm/engine-core.js';

describe('engine basics', () => {
  it('runs one request to the end: prefill, decodes, finish', async () => {
    const e = await EngineCore.create({ numBlocks: 16, blockSize: 4, slidingWindow: 0, maxNumSeqs: 4, maxNumBatchedTokens: 64, maxModelLen: 32 });
    e.addRequest(7, [1, 2, 3, 4, 5, 6], 3);
    let s = e.step();
    expect(s).toMatchObject({ numSeqs: 1, numTokens: 6, numPrefills: 1, numDecodes: 0 });
    expect(Array.from(e.plan.full.queryStartLoc)).toEqual([0, 6]);
    expect(Array.from(e.plan.full.slotMapping)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(e.plan.sample)).toEqual([1]);
    expect(Array.from(e.plan.requestIds)).toEqual([7]);
    e.plan.sampledTokens[0] = 100;
    expect(e.commit().numFinished).toBe(0);
    s = e.step();
    expect(s).toMatchObject({ numSeqs: 1, numTokens: 1, numDecodes: 1 });
    expect(Array.from(e.plan.full.contextLens)).toEqual([6]);
    expect(Array.from(e.plan.full.slotMapping)).toEqual([6]);
    e.plan.sampledTokens[0] = 101;
    e.commit();
    e.step();
    e.plan.sampledTokens[0] = 102;
    const c = e.commit();
    expect(c.numFinished).toBe(1);
    expect(Array.from(e.plan.finishedIds)).toEqual([7]);
    expect(Array.from(e.plan.finishedReasons)).toEqual([1]);
    const st = e.stats();
    expect(st.running).toBe(0);
    expect(st.full.freeBlocks).toBe(16);
    expect(st.full.cachedBlocks).toBe(2);
    expect(e.hasWork()).toBe(false);
  });
});
