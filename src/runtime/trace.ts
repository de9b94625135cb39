// A seeded synthetic request trace for serving runs: Poisson arrivals (in steps, so a run is
// reproducible regardless of machine speed), and a mix of short chat-like and long document-like
// prompts with mixed output lengths. Same seed, same trace, on every machine.

import { checkInt, checkNumber } from './errors.js';

export interface TraceOptions {
  seed: number;
  numRequests: number;
  /** Mean new requests per engine step (Poisson). */
  arrivalsPerStep: number;
  /** Prompt lengths: short ones uniform in [minPrompt, midPrompt], long ones in (midPrompt, maxPrompt]. */
  minPrompt: number;
  midPrompt: number;
  maxPrompt: number;
  /** Fraction of requests with a long prompt. */
  longFraction: number;
  minOutput: number;
  maxOutput: number;
}

export interface TraceRequest {
  id: string;
  /** The engine step at which the request arrives. */
  arrivalStep: number;
  promptLen: number;
  maxTokens: number;
}

/** mulberry32: a tiny, well-mixed 32-bit PRNG; enough for workload shapes. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeTrace(o: TraceOptions): TraceRequest[] {
  checkInt('trace.seed', o.seed, 0, 0xffffffff);
  checkInt('trace.numRequests', o.numRequests, 1);
  checkNumber('trace.arrivalsPerStep', o.arrivalsPerStep, Number.MIN_VALUE);
  checkInt('trace.minPrompt', o.minPrompt, 1);
  checkInt('trace.midPrompt', o.midPrompt, o.minPrompt);
  checkInt('trace.maxPrompt', o.maxPrompt, o.midPrompt);
  checkNumber('trace.longFraction', o.longFraction, 0, 1);
  checkInt('trace.minOutput', o.minOutput, 1);
  checkInt('trace.maxOutput', o.maxOutput, o.minOutput);
  const rand = prng(o.seed);
  const uniformInt = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const out: TraceRequest[] = [];
  let t = 0;
  for (let i = 0; i < o.numRequests; i++) {
    // Exponential inter-arrival gaps in (fractional) steps; the first request arrives at step 0.
    if (i > 0) t += -Math.log(1 - rand()) / o.arrivalsPerStep;
    const long = rand() < o.longFraction && o.maxPrompt > o.midPrompt;
    const promptLen = long ? uniformInt(o.midPrompt + 1, o.maxPrompt) : uniformInt(o.minPrompt, o.midPrompt);
    out.push({ id: `r${i}`, arrivalStep: Math.floor(t), promptLen, maxTokens: uniformInt(o.minOutput, o.maxOutput) });
  }
  return out;
}
