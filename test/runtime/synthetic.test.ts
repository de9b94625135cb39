// The synthetic "model" and trace: deterministic, and a token's activations depend on exactly the
// tokens up to it and the layer (what makes prefix caching and recompute exact).

import { describe, expect, it } from 'vitest';
import { appendToken, makeRecord, nextToken, resumeArgs } from '../../src/runtime/requests.js';
import { fillToken, syntheticSinks } from '../../src/runtime/synthetic.js';
import { makeTrace } from '../../src/runtime/trace.js';

const G = { numQueryHeads: 4, numKvHeads: 2, headSize: 8 };
function token(seed: number, pos: number, layer: number): Float32Array[] {
  const q = new Float32Array(32);
  const k = new Float32Array(16);
  const v = new Float32Array(16);
  fillToken(G, seed, pos, layer, 0, q, k, v);
  return [q, k, v];
}

describe('synthetic activations', () => {
  it('are a function of (chain hash, position, layer) only, in [-1, 1)', () => {
    expect(token(7, 3, 1)).toEqual(token(7, 3, 1));
    expect(token(7, 3, 1)[1]).not.toEqual(token(7, 3, 2)[1]);
    expect(token(7, 3, 1)[1]).not.toEqual(token(8, 3, 1)[1]);
    for (const a of token(123, 45, 6)) for (const x of a) expect(x >= -1 && x < 1).toBe(true);
  });

  it('requests with the same token prefix share chain hashes exactly over that prefix', () => {
    const a = makeRecord(1, [5, 6, 7, 8], 2);
    const b = makeRecord(2, [5, 6, 7, 9], 2);
    expect(a.chain.subarray(0, 3)).toEqual(b.chain.subarray(0, 3));
    expect(a.chain[3]).not.toBe(b.chain[3]);
  });

  it('a resumed request continues with the same tokens it would have generated', () => {
    const r = makeRecord(42, 30, 5);
    const first = nextToken(r, 29);
    appendToken(r, first);
    const { prompt, maxNewTokens } = resumeArgs(r);
    expect(prompt.length).toBe(31);
    expect(maxNewTokens).toBe(4);
    const again = makeRecord(42, prompt, 4);
    expect(again.chain.subarray(0, 31)).toEqual(r.chain.subarray(0, 31));
    expect(nextToken(again, 30)).toBe(nextToken(r, 30));
  });

  it('sinks are fixed per (layer, head)', () => {
    expect(syntheticSinks(3, 64)).toEqual(syntheticSinks(3, 64));
    expect(syntheticSinks(3, 64)).not.toEqual(syntheticSinks(4, 64));
  });
});

describe('synthetic trace', () => {
  const opts = { seed: 9, numRequests: 400, arrivalsPerStep: 0.5, minPrompt: 8, midPrompt: 192, maxPrompt: 768, longFraction: 0.2, minOutput: 4, maxOutput: 64 };
  it('is reproducible from its seed, and differs by seed', () => {
    expect(makeTrace(opts)).toEqual(makeTrace(opts));
    expect(makeTrace({ ...opts, seed: 10 })).not.toEqual(makeTrace(opts));
  });
  it('mixes short and long prompts in range, with arrivals at about the asked rate', () => {
    const t = makeTrace(opts);
    const long = t.filter((r) => r.promptLen > 192).length / t.length;
    expect(long).toBeGreaterThan(0.12);
    expect(long).toBeLessThan(0.28);
    for (const r of t) {
      expect(r.promptLen >= 8 && r.promptLen <= 768).toBe(true);
      expect(r.maxTokens >= 4 && r.maxTokens <= 64).toBe(true);
    }
    const rate = t.length / t[t.length - 1].arrivalStep;
    expect(rate).toBeGreaterThan(0.4);
    expect(rate).toBeLessThan(0.6);
  });
  it('rejects bad options naming the field', () => {
    expect(() => makeTrace({ ...opts, maxPrompt: 100 })).toThrow('trace.maxPrompt = 100 must be >= 192');
  });
});
