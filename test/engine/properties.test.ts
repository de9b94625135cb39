// Property-based: random configs and workloads (arrivals over time, shared prompt prefixes, prompts
// without token ids, aborts and finishes at random steps, pools small enough to run out), driven
// through the Harness, which checks every invariant after every step and commit. Ends with every
// request finished exactly once with exactly its tokens (or ended by the test), and all blocks free.

import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EngineCore } from '../../src/wasm/engine-core.js';
import { compileEngine } from '../../src/wasm/loader.js';
import { SinkrtError } from '../../src/backends/types.js';
import { Harness, type ReqSpec } from './harness.js';

let module: WebAssembly.Module;
beforeAll(async () => { module = await compileEngine(); });

const TEMPLATES = Array.from({ length: 4 }, (_, t) => Array.from({ length: 200 }, (_, i) => (t * 7 + i * (t + 3)) % 11));

const configArb = fc.record({
  blockSize: fc.constantFrom(1, 2, 4, 8, 16),
  numBlocks: fc.integer({ min: 2, max: 32 }),
  slidingWindow: fc.constantFrom(0, 0, 3, 8, 16, 128),
  numSlidingBlocks: fc.integer({ min: 2, max: 32 }),
  maxNumSeqs: fc.integer({ min: 1, max: 8 }),
  maxNumBatchedTokens: fc.integer({ min: 1, max: 48 }),
  maxModelLen: fc.integer({ min: 8, max: 64 }),
  enablePrefixCaching: fc.integer({ min: 0, max: 3 }).map((x) => x !== 0),
});

const reqArb = fc.record({
  template: fc.integer({ min: 0, max: 1 }),
  len: fc.integer({ min: 1, max: 40 }),
  diverge: fc.option(fc.integer({ min: 0, max: 39 }), { nil: null, freq: 3 }),
  lengthOnly: fc.integer({ min: 0, max: 5 }).map((x) => x === 0),
  maxNew: fc.integer({ min: 1, max: 20 }),
  arriveAt: fc.integer({ min: 0, max: 12 }),
});

const eventArb = fc.record({ at: fc.integer({ min: 0, max: 40 }), pick: fc.nat(), stop: fc.boolean() });

type ArbOf<A> = A extends fc.Arbitrary<infer T> ? T : never;
type Cfg = ArbOf<typeof configArb>;

/** The error addRequest must give, by the documented rules, or null. */
function expectedAddError(c: Cfg, len: number, maxNew: number, live: number): string | null {
  const total = len + maxNew, bs = c.blockSize;
  if (total > c.maxModelLen) return 'SEQUENCE_TOO_LONG';
  if (Math.ceil(total / bs) > c.numBlocks) return 'EXCEEDS_CACHE';
  if (c.slidingWindow > 0) {
    const chunk = Math.min(c.maxNumBatchedTokens, total);
    const need = Math.min(Math.ceil(total / bs), Math.ceil((c.slidingWindow - 1 + chunk) / bs) + 1);
    if (need > c.numSlidingBlocks - 1) return 'EXCEEDS_CACHE';
  }
  if (live >= 4 * c.maxNumSeqs) return 'TOO_MANY_REQUESTS';
  return null;
}

async function runWorkload(c: Cfg, reqs: ArbOf<typeof reqArb>[], events: ArbOf<typeof eventArb>[]) {
  const core = await EngineCore.create(c, { module, maxMemoryPages: 256 });
  const h = new Harness(core);
  const specs = reqs.map((r, i) => {
    const prompt = TEMPLATES[r.template].slice(0, r.len);
    if (r.diverge !== null) for (let k = r.diverge; k < prompt.length; k++) prompt[k] = (prompt[k] + 1 + i) % 11;
    return { at: r.arriveAt, spec: { id: 1000 + i, prompt, lengthOnly: r.lengthOnly, maxNew: r.maxNew } as ReqSpec };
  });
  const added = new Set<number>();
  let step = 0;
  for (;;) {
    for (const s of specs) {
      if (s.at !== step) continue;
      const want = expectedAddError(c, s.spec.prompt.length, s.spec.maxNew, h.live.size);
      if (want === null) {
        h.add(s.spec);
        added.add(s.spec.id);
      } else {
        let got: unknown = null;
        try { h.add(s.spec); } catch (e) { got = e; }
        expect(got).toBeInstanceOf(SinkrtError);
        expect((got as SinkrtError).code).toBe(want);
      }
    }
    for (const ev of events) {
      if (ev.at !== step || h.live.size === 0) continue;
      const ids = [...h.live.keys()];
      h.remove(ids[ev.pick % ids.length], ev.stop);
    }
    const more = specs.some((s) => s.at > step) || events.some((ev) => ev.at > step);
    if (h.live.size === 0 && !more) break;
    h.cycle();
    step++;
    expect(step, 'no progress: the workload did not drain').toBeLessThan(3000);
  }
  // Every request added ended exactly once; the pools are all free again.
  expect(new Set(h.ended.keys())).toEqual(added);
  const st = core.stats();
  expect(st.running + st.waiting).toBe(0);
  expect(st.full.usedBlocks).toBe(0);
  if (st.sliding) expect(st.sliding.usedBlocks).toBe(0);
  return h;
}

describe('engine properties over random workloads', () => {
  it('keeps every invariant after every step, and drains every workload', async () => {
    let totals = { steps: 0, preemptions: 0, hits: 0, runs: 0 };
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(reqArb, { minLength: 1, maxLength: 30 }), fc.array(eventArb, { maxLength: 6 }), async (c, reqs, events) => {
        const h = await runWorkload(c, reqs, events);
        totals = { steps: totals.steps + h.steps, preemptions: totals.preemptions + h.preemptions, hits: totals.hits + h.hits, runs: totals.runs + 1 };
      }),
      { numRuns: 1000, seed: 20261124 },
    );
    // The workloads must actually exercise preemption and prefix hits, or the test proves little.
    console.log(`engine properties: ${totals.runs} workloads, ${totals.steps} steps, ${totals.preemptions} preemptions, ${totals.hits} prefix hits`);
    expect(totals.preemptions).toBeGreaterThan(50);
    expect(totals.hits).toBeGreaterThan(50);
  });

  it('exhaustion: many long requests on a tiny pool all finish, through preemption', async () => {
    const c: Cfg = { blockSize: 4, numBlocks: 10, slidingWindow: 8, numSlidingBlocks: 8, maxNumSeqs: 6, maxNumBatchedTokens: 16, maxModelLen: 40, enablePrefixCaching: true };
    const reqs = Array.from({ length: 12 }, (_, i) => ({ template: i % 2, len: 10 + (i % 5), diverge: null, lengthOnly: false, maxNew: 12, arriveAt: 0 }));
    const h = await runWorkload(c, reqs, []);
    expect(h.preemptions).toBeGreaterThan(0);
  });
});

describe('free queue under churn', () => {
  it('hundreds of hit/free cycles on a tiny pool (the ring compacts its stale entries) keep every invariant', async () => {
    const c: Cfg = { blockSize: 2, numBlocks: 8, slidingWindow: 3, numSlidingBlocks: 8, maxNumSeqs: 2, maxNumBatchedTokens: 8, maxModelLen: 16, enablePrefixCaching: true };
    const core = await EngineCore.create(c, { module, maxMemoryPages: 64 });
    const h = new Harness(core);
    for (let round = 0; round < 300; round++) {
      // Two prompts sharing a prefix, so each round hits blocks cached by the round before.
      h.add({ id: round * 2, prompt: [1, 2, 3, 4, 5 + (round % 3)], lengthOnly: false, maxNew: 2 });
      h.add({ id: round * 2 + 1, prompt: [1, 2, 3, 4, 9], lengthOnly: false, maxNew: 1 + (round % 2) });
      while (h.live.size > 0) h.cycle();
    }
    // Same prompt again and again, one token out: each round touches the two cached blocks (leaving
    // stale ring entries), takes the unhashed block freed at the head last round, and frees the two
    // cached blocks to the tail again: the ring fills with stale entries and must compact.
    for (let round = 0; round < 100; round++) {
      h.add({ id: 10_000 + round, prompt: [1, 2, 3, 4, 5], lengthOnly: false, maxNew: 1 });
      while (h.live.size > 0) h.cycle();
    }
    expect(h.hits).toBeGreaterThan(300);
    // Every free block must still be reachable: one request that needs all 8 blocks of the full pool.
    h.add({ id: 99_999, prompt: [7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7], lengthOnly: false, maxNew: 1 });
    while (h.live.size > 0) h.cycle();
    expect(core.stats().full.usedBlocks).toBe(0);
  });
});
