// Bad calls get named SinkrtErrors whose messages name the field, the rule and the value; nothing
// crashes and the engine keeps working after each.

import { describe, expect, it } from 'vitest';
import { EngineCore } from '../../src/wasm/engine-core.js';
import type { EngineConfig } from '../../src/runtime/engine-api.js';

const base: EngineConfig = { numBlocks: 8, blockSize: 4, slidingWindow: 0, maxNumSeqs: 2, maxNumBatchedTokens: 16, maxModelLen: 64 };

function thrown(fn: () => unknown): { name: string; code: string; message: string } {
  try { fn(); } catch (e) { return e as { name: string; code: string; message: string }; }
  throw new Error('expected a throw');
}

async function rejected(p: Promise<unknown>): Promise<{ name: string; code: string; message: string }> {
  try { await p; } catch (e) { return e as { name: string; code: string; message: string }; }
  throw new Error('expected a rejection');
}

describe('engine: named errors for bad calls', () => {
  it('addRequest: empty prompt, bad maxNewTokens, too long, past the cache, duplicate, too many', async () => {
    const e = await EngineCore.create(base);
    expect(thrown(() => e.addRequest(1, [], 4))).toMatchObject({ name: 'SinkrtError', code: 'EMPTY_PROMPT' });
    expect(thrown(() => e.addRequest(1, 0, 4))).toMatchObject({ code: 'EMPTY_PROMPT', message: expect.stringContaining('= 0') });
    expect(thrown(() => e.addRequest(1, 5, 0))).toMatchObject({ code: 'BAD_MAX_NEW_TOKENS' });
    expect(thrown(() => e.addRequest(1, 5, 1.5))).toMatchObject({ code: 'BAD_MAX_NEW_TOKENS', message: expect.stringContaining('1.5') });
    expect(thrown(() => e.addRequest(1, 60, 10))).toMatchObject({ code: 'SEQUENCE_TOO_LONG', message: expect.stringContaining('70 is past maxModelLen 64') });
    expect(thrown(() => e.addRequest(1, new Int32Array(60), 10))).toMatchObject({ code: 'SEQUENCE_TOO_LONG' });
    // 8 blocks of 4 tokens = 32 tokens: a 40-token sequence can never fit, even alone.
    expect(thrown(() => e.addRequest(1, 30, 10))).toMatchObject({ code: 'EXCEEDS_CACHE', message: expect.stringContaining('needs 10 blocks') });
    expect(thrown(() => e.addRequest(1, [1, 2.5], 2))).toMatchObject({ code: 'BAD_TOKEN', message: expect.stringContaining('prompt[1] = 2.5') });
    e.addRequest(1, [1, 2, 3], 2);
    expect(thrown(() => e.addRequest(1, [1, 2, 3], 2))).toMatchObject({ code: 'DUPLICATE_REQUEST' });
    for (let i = 2; i <= 8; i++) e.addRequest(i, 3, 1); // maxRequests defaults to 4 * maxNumSeqs = 8
    expect(thrown(() => e.addRequest(9, 3, 1))).toMatchObject({ code: 'TOO_MANY_REQUESTS', message: expect.stringContaining('8') });
    expect(e.stats().waiting).toBe(8);
  });

  it('sliding group: a sequence whose window + chunk needs more sliding blocks than exist', async () => {
    const e = await EngineCore.create({ ...base, slidingWindow: 8, numSlidingBlocks: 3 });
    // Needs min(ceil(20/4), ceil((8 - 1 + 16) / 4) + 1) = 5 sliding blocks; 2 are usable.
    expect(thrown(() => e.addRequest(1, 16, 4))).toMatchObject({ code: 'EXCEEDS_CACHE', message: expect.stringContaining('needs 5 blocks') });
    e.addRequest(2, 4, 2);
  });

  it('unknown request, step/commit out of order', async () => {
    const e = await EngineCore.create(base);
    expect(thrown(() => e.abort(42))).toMatchObject({ code: 'UNKNOWN_REQUEST', message: expect.stringContaining('abort(id 42)') });
    expect(thrown(() => e.finish(42))).toMatchObject({ code: 'UNKNOWN_REQUEST' });
    expect(thrown(() => e.commit())).toMatchObject({ code: 'NOTHING_TO_COMMIT' });
    e.addRequest(1, [1, 2, 3], 1);
    e.step();
    expect(thrown(() => e.step())).toMatchObject({ code: 'STEP_NOT_COMMITTED' });
    e.commit();
    expect(e.plan.finishedIds[0]).toBe(1);
    expect(thrown(() => e.abort(1))).toMatchObject({ code: 'UNKNOWN_REQUEST' });
  });

  it('bad config names the field, rule and value', async () => {
    expect(await rejected(EngineCore.create({ ...base, blockSize: 3 }))).toMatchObject({ code: 'BAD_CONFIG', message: 'init: config.blockSize = 3 must be a power of two in [1, 256]' });
    expect(await rejected(EngineCore.create({ ...base, numBlocks: 0 }))).toMatchObject({ code: 'BAD_CONFIG', message: expect.stringContaining('config.numBlocks = 0') });
    expect(await rejected(EngineCore.create({ ...base, slidingWindow: 8, numSlidingBlocks: 1 }))).toMatchObject({ code: 'BAD_CONFIG', message: expect.stringContaining('config.numSlidingBlocks = 1') });
    expect(await rejected(EngineCore.create({ ...base, maxRequests: 1 }))).toMatchObject({ code: 'BAD_CONFIG', message: expect.stringContaining('config.maxRequests = 1') });
    expect(await rejected(EngineCore.create({ ...base, maxNumSeqs: -1 }))).toMatchObject({ code: 'BAD_CONFIG', message: expect.stringContaining('config.maxNumSeqs = -1') });
    expect(await rejected(EngineCore.create({ ...base, maxModelLen: 2.5 }))).toMatchObject({ code: 'BAD_CONFIG', message: expect.stringContaining('config.maxModelLen = 2.5') });
    expect(await rejected(EngineCore.create({ ...base, numBlocks: 1 << 20, maxNumSeqs: 1024, maxModelLen: 1 << 16 }, { maxMemoryPages: 64 })))
      .toMatchObject({ code: 'OUT_OF_MEMORY' });
    // Regions past 4 GiB (S * MB * 4 alone is 2^42 bytes): refused, not wrapped around.
    expect(await rejected(EngineCore.create({ ...base, blockSize: 1, maxNumSeqs: 65536, maxRequests: 65536, maxModelLen: 1 << 24 }, { maxMemoryPages: 64 })))
      .toMatchObject({ code: 'OUT_OF_MEMORY' });
  });

  it('abort and finish are reported with their reasons; an abort between step and commit is skipped by commit', async () => {
    const e = await EngineCore.create(base);
    e.addRequest(1, [1, 2, 3, 4, 5], 3);
    e.addRequest(2, [1, 2, 3, 4, 6], 3);
    e.addRequest(3, 4, 3);
    e.step();
    expect(Array.from(e.plan.requestIds)).toEqual([1, 2]);
    e.abort(2); // in the plan: its blocks go now, commit must skip it
    e.finish(3); // waiting
    e.plan.sampledTokens[0] = 9; e.plan.sampledTokens[1] = 9;
    expect(e.commit().numFinished).toBe(2);
    expect(Array.from(e.plan.finishedIds)).toEqual([2, 3]);
    expect(Array.from(e.plan.finishedReasons)).toEqual([3, 2]);
    const st = e.stats();
    expect(st.running).toBe(1);
    expect(st.waiting).toBe(0);
    expect(st.full.usedBlocks).toBe(2); // request 1: 6 tokens known, 5 computed -> 2 blocks
    e.step();
    expect(Array.from(e.plan.requestIds)).toEqual([1]);
  });
});
