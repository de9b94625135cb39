// A driver for the engine that plays the runtime (samples tokens, keeps a simulated KV cache per
// group) and checks, after every step and commit, everything the engine promises:
//   - caps: numSeqs <= maxNumSeqs, numTokens <= maxNumBatchedTokens, batch ordered decode/extend/prefill
//   - metadata: queryStartLoc prefix sums, seqLens = contextLens + queryLens, slotMapping agrees with
//     the block table rows (both groups), the rows agree with the engine's own tables
//   - cache content: every context position a sequence reads (full: all; sliding: inside the window)
//     holds that request's token at that position (so prefix sharing never serves wrong KV), and no
//     token is written into a shared block or into a slot another token of the step writes
//   - blocks: each block's refcount equals the number of rows holding it, a block held by two rows is
//     the same full, computed prefix block in both, free + used = total, the null block is never held
//   - requests: running + waiting = live; each request ends once, with exactly maxNewTokens tokens
//     (or when the test aborts/finishes it), and its context only grows except by preemption.

import { expect } from 'vitest';
import { EngineCore } from '../../src/wasm/engine-core.js';

export interface ReqSpec {
  id: number;
  prompt: number[];
  /** Give only the length (no token ids: no prefix caching for it). */
  lengthOnly: boolean;
  maxNew: number;
}

interface Live {
  spec: ReqSpec;
  tokens: number[];
  computed: number;
  generated: number;
}

/** A cheap assertion for hot loops (vitest's expect costs microseconds per call). */
function ok(cond: boolean, msg: () => string): void {
  if (!cond) throw new Error(`engine invariant: ${msg()}`);
}

export function sampleToken(prompt: number[], index: number): number {
  // Depends on the prompt's first tokens and the index: requests with equal prompts generate equal
  // tokens, so their generated blocks can be shared too.
  return ((prompt[0] ?? 0) * 31 + (prompt.length > 1 ? prompt[1] : 7) * 7 + index * 13) % 5;
}

export class Harness {
  readonly live = new Map<number, Live>();
  readonly ended = new Map<number, { reason: number; generated: number }>();
  private fullCache = new Map<number, number>();
  private slidCache = new Map<number, number>();
  steps = 0;
  preemptions = 0;
  /** Preempted requests the harness saw waiting again (each must come back and finish). */
  seenPreempted = 0;
  hits = 0;

  constructor(readonly e: EngineCore) {}

  get cfg() { return this.e.views.config; }

  add(spec: ReqSpec): void {
    this.e.addRequest(spec.id, spec.lengthOnly ? spec.prompt.length : spec.prompt, spec.maxNew);
    this.live.set(spec.id, { spec, tokens: [...spec.prompt], computed: 0, generated: 0 });
  }

  remove(id: number, stopped: boolean): void {
    const l = this.live.get(id)!;
    if (stopped) this.e.finish(id); else this.e.abort(id);
    this.live.delete(id);
    this.ended.set(id, { reason: stopped ? 2 : 3, generated: l.generated });
  }

  /** One step + commit with all checks. Returns the number of sequences in the step. */
  cycle(): number {
    const e = this.e, c = this.cfg, bs = c.blockSize, W = c.slidingWindow;
    const sum = e.step();
    this.steps++;
    this.preemptions += sum.numPreempted;
    const p = e.plan, m = p.full, ns = sum.numSeqs;
    // A waiting request that had computed tokens was preempted: its KV is gone.
    const w = e.views.whole;
    for (let r = 0; r < c.maxRequests; r++) {
      const l = w.reqState[r] === 1 ? this.live.get(w.reqExtId[r]) : undefined;
      if (l !== undefined && l.computed > 0) { l.computed = 0; this.seenPreempted++; }
    }
    expect(ns).toBeLessThanOrEqual(c.maxNumSeqs);
    expect(sum.numTokens).toBeLessThanOrEqual(c.maxNumBatchedTokens);
    expect(sum.numDecodes + sum.numExtends + sum.numPrefills).toBe(ns);
    expect(m.queryStartLoc[0]).toBe(0);
    const seen = new Set<number>();
    const writesF = new Set<number>(), writesS = new Set<number>();
    for (let i = 0; i < ns; i++) {
      const id = p.requestIds[i];
      expect(seen.has(id), `request ${id} twice in one step`).toBe(false);
      seen.add(id);
      const l = this.live.get(id);
      expect(l, `unknown id ${id} in plan`).toBeDefined();
      const q = p.queryLens[i], ctx = m.contextLens[i];
      expect(q).toBeGreaterThan(0);
      expect(m.queryStartLoc[i + 1] - m.queryStartLoc[i]).toBe(q);
      expect(m.seqLens[i]).toBe(ctx + q);
      if (i < sum.numDecodes) expect(ctx > 0 && q === 1).toBe(true);
      else if (i < sum.numDecodes + sum.numExtends) expect(ctx > 0 && q > 1).toBe(true);
      else expect(ctx).toBe(0);
      if (ctx !== l!.computed) {
        // Only a prefix hit moves the context, by whole blocks, and only for a request starting from
        // nothing (new, or preempted: reset above).
        expect(ctx % bs).toBe(0);
        expect(l!.computed).toBe(0);
        this.hits++;
      }
      expect(ctx + q).toBeLessThanOrEqual(l!.tokens.length);
      expect(p.sample[i]).toBe(ctx + q === l!.tokens.length ? 1 : 0);
      const groups: [Int32Array, Int32Array, Map<number, number>, Set<number>, number, 0 | 1][] = [
        [m.blockTable, m.slotMapping, this.fullCache, writesF, 0, 0],
      ];
      if (W > 0) groups.push([p.sliding!.blockTable, p.sliding!.slotMapping, this.slidCache, writesS, Math.max(0, ctx - W + 1), 1]);
      for (const [bt, sm, cache, writes, readFrom, g] of groups) {
        const rc = (b: number) => e.views.refcount(g, b);
        const row = bt.subarray(i * c.maxBlocksPerSeq, (i + 1) * c.maxBlocksPerSeq);
        for (let pos = readFrom; pos < ctx; pos++) {
          const slot = row[Math.floor(pos / bs)] * bs + (pos % bs);
          ok(cache.get(slot) === l!.tokens[pos], () => `req ${id} pos ${pos} reads slot ${slot}: ${cache.get(slot)} != ${l!.tokens[pos]}`);
        }
        for (let k = 0; k < q; k++) {
          const pos = ctx + k;
          const blk = row[Math.floor(pos / bs)];
          const slot = blk * bs + (pos % bs);
          ok(sm[m.queryStartLoc[i] + k] === slot, () => `req ${id} slotMapping[${m.queryStartLoc[i] + k}] = ${sm[m.queryStartLoc[i] + k]} != ${slot}`);
          ok(!writes.has(slot), () => `slot ${slot} written twice in a step`);
          ok(rc(blk) === 1, () => `req ${id} writes into block ${blk} with refcount ${rc(blk)}`);
          writes.add(slot);
          cache.set(slot, l!.tokens[pos]);
        }
      }
    }
    this.checkBlocks(p.requestIds.subarray(0, ns), m);
    // Sample and commit.
    for (let i = 0; i < ns; i++) {
      const l = this.live.get(p.requestIds[i])!;
      l.computed = m.contextLens[i] + p.queryLens[i];
      if (p.sample[i] === 1) {
        const t = sampleToken(l.spec.prompt, l.generated);
        p.sampledTokens[i] = t;
        l.tokens.push(t);
        l.generated++;
      }
    }
    const com = e.commit();
    expect(com.numFinished).toBe(p.finishedIds.length);
    for (let i = 0; i < p.finishedIds.length; i++) {
      if (p.finishedReasons[i] !== 1) continue; // aborts/finishes were recorded by remove()
      const id = p.finishedIds[i];
      const l = this.live.get(id);
      expect(l, `id ${id} finished twice or unknown`).toBeDefined();
      expect(l!.generated).toBe(l!.spec.maxNew);
      this.live.delete(id);
      this.ended.set(id, { reason: 1, generated: l!.generated });
    }
    for (const [id, l] of this.live) {
      // Anything not finished still has tokens to produce.
      expect(l.generated, `request ${id}`).toBeLessThan(l.spec.maxNew);
    }
    this.checkBlocks(null, null);
    return ns;
  }

  /** Block ownership, refcounts, counts; with a plan, also its rows against the engine's rows. */
  checkBlocks(ids: Int32Array | null, m: { blockTable: Int32Array; seqLens: Int32Array } | null): void {
    const e = this.e, c = this.cfg, w = e.views.whole, bs = c.blockSize, MB = c.maxBlocksPerSeq;
    const st = e.stats();
    expect(st.running + st.waiting).toBe(this.live.size);
    expect(e.liveRequests).toBe(this.live.size);
    const countF = new Int32Array(c.numBlocks);
    const countS = new Int32Array(c.slidingWindow > 0 ? c.numSlidingBlocks : 0);
    const owners = [new Map<number, [number, number]>(), new Map<number, [number, number]>()]; // block -> [slot, logical index]
    const own = (g: number, b: number, r: number, j: number) => {
      const o = owners[g].get(b);
      if (o === undefined) { owners[g].set(b, [r, j]); return; }
      // Shared: only the same full, computed block of a common prefix.
      ok(o[1] === j, () => `group ${g} block ${b} at logical indices ${o[1]} and ${j}`);
      ok(o[0] !== r, () => `group ${g} block ${b} twice in one row`);
      ok((j + 1) * bs <= Math.min(w.reqNumComputed[r], w.reqNumComputed[o[0]]), () => `group ${g} block ${b} shared before it is full and computed`);
    };
    const rowOfId = new Map<number, number>();
    for (let k = 0; k < st.running; k++) {
      const r = w.runList[k];
      const row = w.reqRow[r];
      expect(row).toBeGreaterThanOrEqual(0);
      rowOfId.set(w.reqExtId[r], row);
      const len = w.rowFullLen[row];
      expect(len).toBeGreaterThanOrEqual(Math.ceil(w.reqNumComputed[r] / bs));
      for (let j = 0; j < len; j++) {
        const b = w.rowFull[row * MB + j];
        countF[b]++;
        own(0, b, r, j);
      }
      if (c.slidingWindow > 0) {
        const start = w.rowSlidingStart[row], slen = w.rowSlidingLen[row];
        for (let j = 0; j < start; j++) ok(w.rowSliding![row * MB + j] === 0, () => `released sliding entry ${j} is not the null block`);
        for (let j = start; j < slen; j++) {
          const b = w.rowSliding![row * MB + j];
          ok(b !== 0, () => 'null block held');
          countS[b]++;
          own(1, b, r, j);
        }
      }
    }
    for (let b = 0; b < c.numBlocks; b++) ok(e.views.refcount(0, b) === countF[b], () => `refcount of full block ${b} = ${e.views.refcount(0, b)}, held by ${countF[b]} rows`);
    const usedF = countF.reduce((a, x) => a + (x > 0 ? 1 : 0), 0);
    expect(st.full.usedBlocks).toBe(usedF);
    expect(st.full.freeBlocks + st.full.usedBlocks).toBe(c.numBlocks);
    if (c.slidingWindow > 0) {
      for (let b = 0; b < c.numSlidingBlocks; b++) ok(e.views.refcount(1, b) === countS[b], () => `refcount of sliding block ${b} = ${e.views.refcount(1, b)}, held by ${countS[b]} rows`);
      const usedS = countS.reduce((a, x) => a + (x > 0 ? 1 : 0), 0);
      expect(st.sliding!.usedBlocks).toBe(usedS);
      expect(st.sliding!.freeBlocks + st.sliding!.usedBlocks).toBe(c.numSlidingBlocks - 1);
    }
    if (ids === null || m === null) return;
    for (let i = 0; i < ids.length; i++) {
      const row = rowOfId.get(ids[i]);
      expect(row, `planned id ${ids[i]} is not running`).toBeDefined();
      const n = Math.ceil(m.seqLens[i] / bs);
      for (let j = 0; j < n; j++) ok(m.blockTable[i * MB + j] === w.rowFull[row! * MB + j], () => `blockTable[${i}][${j}] != engine row`);
      if (c.slidingWindow > 0) {
        const sbt = e.plan.sliding!.blockTable;
        for (let j = 0; j < n; j++) ok(sbt[i * MB + j] === w.rowSliding![row! * MB + j], () => `sliding blockTable[${i}][${j}] != engine row`);
      }
    }
  }
}
