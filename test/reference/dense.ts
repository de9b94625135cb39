// An independent dense formulation of the sink contract, written the way the GPT-OSS reference
// states it: a softmax over [masked logits..., sink] per row, then the sink column is dropped.
// It shares no code with src/backends/reference, so agreement between the two means something.

import type { LayerConfig } from '../../src/backends/types.js';

/** K, V: [seqLen, numKvHeads, headSize]; Q: [queryLen, numQueryHeads, headSize] at positions ctx..ctx+queryLen-1. */
export function denseAttention(
  layer: LayerConfig,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  contextLen: number,
  queryLen: number,
): { out: Float64Array; lse: Float64Array } {
  const { numQueryHeads: Hq, numKvHeads: Hk, headSize: D } = layer;
  const seqLen = contextLen + queryLen;
  const out = new Float64Array(queryLen * Hq * D);
  const lse = new Float64Array(queryLen * Hq);
  for (let i = 0; i < queryLen; i++) {
    const p = contextLen + i;
    for (let h = 0; h < Hq; h++) {
      const g = Math.floor((h * Hk) / Hq);
      const row: number[] = [];
      for (let j = 0; j < seqLen; j++) {
        const masked = j > p || (layer.slidingWindow > 0 && j <= p - layer.slidingWindow);
        if (masked) {
          row.push(-Infinity);
          continue;
        }
        let dot = 0;
        for (let d = 0; d < D; d++) dot += q[(i * Hq + h) * D + d] * k[(j * Hk + g) * D + d];
        let l = dot * layer.scale;
        if (layer.softcap > 0) l = Math.tanh(l / layer.softcap) * layer.softcap;
        row.push(l);
      }
      row.push(layer.sinks ? layer.sinks[h] : -Infinity); // the sink column
      const mx = Math.max(...row);
      const e = row.map((x) => (mx === -Infinity ? 0 : Math.exp(x - mx)));
      const z = e.reduce((a, b) => a + b, 0);
      const probs = e.map((x) => (z === 0 ? 0 : x / z)).slice(0, seqLen); // drop the sink column
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let j = 0; j < seqLen; j++) acc += probs[j] * v[(j * Hk + g) * D + d];
        out[(i * Hq + h) * D + d] = acc;
      }
      lse[i * Hq + h] = z === 0 ? -Infinity : mx + Math.log(z);
    }
  }
  return { out, lse };
}
