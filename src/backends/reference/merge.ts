// Merging partial attention results by log-sum-exp. Every split-KV, chunked-context or prefix/suffix
// scheme reduces to this. The partials are computed WITHOUT the sink (sinkCount 0 in attendRow);
// the sink enters exactly once, here, as one more term with logit s and no value.
//
// Given partials (o_k, lse_k) over disjoint key sets and the sink s:
//   M   = max(s, max_k lse_k)
//   den = exp(s - M) + sum_k exp(lse_k - M)
//   o   = sum_k exp(lse_k - M) o_k / den,   lse = M + log(den)
// A backend that gives every chunk the sink and then merges counts it (chunks + 1) times; the
// property tests show that this differs from the whole as soon as the sink matters.

export interface Partial {
  out: ArrayLike<number>;
  lse: number;
}

/** Merges partials of one (token, head) row; `sink` is -Infinity when the layer has none. */
export function mergeByLse(partials: Partial[], sink: number, headSize: number): { out: Float64Array; lse: number } {
  let M = sink;
  for (const p of partials) if (p.lse > M) M = p.lse;
  const out = new Float64Array(headSize);
  if (M === -Infinity) return { out, lse: -Infinity };
  let den = Math.exp(sink - M);
  for (const p of partials) {
    if (p.lse === -Infinity) continue;
    const w = Math.exp(p.lse - M);
    den += w;
    for (let d = 0; d < headSize; d++) out[d] += w * p.out[d];
  }
  for (let d = 0; d < headSize; d++) out[d] /= den;
  return { out, lse: M + Math.log(den) };
}
