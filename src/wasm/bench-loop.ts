// The engine benchmark's inner loop, run inside the engine's thread (the worker) so that the figures
// are the engine's own cost, not a message round trip. bench/engine.ts drives it and prints/saves.
//
// Per timed iteration: step() (schedule + metadata build) is timed alone; the sampled tokens are then
// written (the runtime's part, untimed); commit() is timed alone; then a plain memcpy (TypedArray.set
// between two ordinary ArrayBuffers) of exactly the metadata bytes that step exposed
// (H_METADATA_BYTES: every array, used block-table entries only) is timed as the baseline.

import type { EngineExports } from './loader.js';
import { EngineViews } from './views.js';
import * as L from './layout.js';

export interface BenchSpec {
  /** 'decode': every sequence decodes; 'mixed': finished requests are replaced, so prefills/extends join. */
  scenario: 'decode' | 'mixed';
  /** Requests kept live (running up to maxNumSeqs, the rest waiting). */
  numSeqs: number;
  promptMin: number;
  promptMax: number;
  /** decode: ignored (requests never finish during the run); mixed: generated tokens per request. */
  newMin: number;
  newMax: number;
  warmupSteps: number;
  steps: number;
  /** The timed steps are split into this many equal rounds; each round's mean is reported too. */
  rounds: number;
  seed: number;
}

export interface BenchFigures {
  steps: number;
  stepUs: { mean: number; p50: number; p99: number; min: number };
  /** Mean step time of each round, in order, and their median (robust to a burst of other load). */
  roundMeansUs: number[];
  medianRoundMeanUs: number;
  commitUs: { mean: number; p50: number; p99: number };
  memcpyUs: { mean: number };
  meanMetadataBytes: number;
  meanSeqs: number;
  meanTokens: number;
  meanDecodes: number;
  meanExtends: number;
  meanPrefills: number;
  preemptions: number;
  /** mean step time / mean memcpy time of the same bytes. */
  ratioToMemcpy: number;
}

function stats(xs: number[]): { mean: number; p50: number; p99: number; min: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, p50: q(0.5), p99: q(0.99), min: s[0] };
}

export function runBenchLoop(ex: EngineExports, memory: WebAssembly.Memory, spec: BenchSpec): BenchFigures {
  const v = new EngineViews(memory, ex.headerPtr());
  const h = v.header;
  let seed = spec.seed >>> 0 || 1;
  const rand = (lo: number, hi: number) => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return lo + (seed % (hi - lo + 1));
  };
  let nextId = 0;
  const add = () => {
    const p = rand(spec.promptMin, spec.promptMax);
    const maxNew = spec.scenario === 'decode' ? v.config.maxModelLen - p : rand(spec.newMin, spec.newMax);
    for (let i = 0; i < p; i++) v.whole.inputTokens[i] = rand(0, 50000);
    const st = ex.addRequest(nextId++, p, maxNew, 1);
    if (st < 0) throw new Error(`bench: addRequest failed with status ${st}`);
  };
  for (let i = 0; i < spec.numSeqs; i++) add();
  const cycle = (timed: boolean, acc: Record<string, number[]>) => {
    const t0 = performance.now();
    const ns = ex.step();
    const t1 = performance.now();
    if (ns < 0) throw new Error(`bench: step failed with status ${ns}`);
    for (let i = 0; i < ns; i++) if (v.whole.sample[i] === 1) v.whole.sampledTokens[i] = rand(0, 50000);
    const t2 = performance.now();
    const fin = ex.commit();
    const t3 = performance.now();
    if (fin < 0) throw new Error(`bench: commit failed with status ${fin}`);
    if (spec.scenario === 'mixed') for (let i = 0; i < fin; i++) add();
    if (timed) {
      acc.step.push((t1 - t0) * 1000);
      acc.commit.push((t3 - t2) * 1000);
      acc.bytes.push(h[L.H_METADATA_BYTES]);
      acc.seqs.push(ns);
      acc.tokens.push(h[L.H_NUM_TOKENS]);
      acc.dec.push(h[L.H_NUM_DECODES]);
      acc.ext.push(h[L.H_NUM_EXTENDS]);
      acc.pre.push(h[L.H_NUM_PREFILLS]);
    }
  };
  const acc: Record<string, number[]> = { step: [], commit: [], bytes: [], seqs: [], tokens: [], dec: [], ext: [], pre: [], memcpy: [] };
  for (let i = 0; i < spec.warmupSteps; i++) cycle(false, acc);
  const preempt0 = h[L.H_PREEMPTIONS];
  for (let i = 0; i < spec.steps; i++) cycle(true, acc);
  // Baseline: the same bytes, copied plainly, same count of copies, same thread, same run.
  const maxBytes = Math.max(...acc.bytes);
  const src = new Uint8Array(maxBytes), dst = new Uint8Array(maxBytes);
  for (let i = 0; i < maxBytes; i += 64) src[i] = i & 255;
  for (let k = 0; k < 2; k++) {
    acc.memcpy = [];
    for (const n of acc.bytes) {
      const t0 = performance.now();
      dst.set(src.subarray(0, n));
      acc.memcpy.push((performance.now() - t0) * 1000);
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const step = stats(acc.step), commit = stats(acc.commit);
  const per = Math.floor(acc.step.length / spec.rounds);
  const roundMeansUs = Array.from({ length: spec.rounds }, (_, k) => mean(acc.step.slice(k * per, (k + 1) * per)));
  const sortedRounds = [...roundMeansUs].sort((a, b) => a - b);
  const memcpy = mean(acc.memcpy);
  return {
    steps: spec.steps,
    stepUs: step,
    roundMeansUs,
    medianRoundMeanUs: sortedRounds[sortedRounds.length >> 1],
    commitUs: { mean: commit.mean, p50: commit.p50, p99: commit.p99 },
    memcpyUs: { mean: memcpy },
    meanMetadataBytes: mean(acc.bytes),
    meanSeqs: mean(acc.seqs),
    meanTokens: mean(acc.tokens),
    meanDecodes: mean(acc.dec),
    meanExtends: mean(acc.ext),
    meanPrefills: mean(acc.pre),
    preemptions: h[L.H_PREEMPTIONS] - preempt0,
    ratioToMemcpy: step.mean / memcpy,
  };
}
