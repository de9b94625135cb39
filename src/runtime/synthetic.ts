// Deterministic synthetic activations. sinkrt ships no model weights, so the runtime's "model" is the
// attention stack alone: for every token it makes q, k and v from (request seed, position, layer)
// and nothing else. The same token therefore gets the same k/v whether it is computed in a prefill, a
// chunked-prefill continuation, or a recompute after preemption or a worker restart, which is what
// lets a run be checked against the float64 reference at any step.
//
// Values are uniform in [-1, 1) from a small counter-based generator: one 32-bit hash of
// (seed, position, layer, tensor) seeds a xorshift stream that fills that token's row. Sinks are a
// fixed function of (layer, head) in [-1, 3) natural-log units, GPT-OSS-like magnitudes.

/** 32-bit integer mix (a murmur3 finalizer): spreads nearby counters far apart. */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A stable 32-bit seed for a request id (string ids hash their UTF-16 code units). */
export function requestSeed(id: string | number): number {
  if (typeof id === 'number') return mix32(id ^ 0x9e3779b9);
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return mix32(h);
}

const TENSOR_Q = 1;
const TENSOR_K = 2;
const TENSOR_V = 3;

/** Fills dst[offset .. offset + n) with uniform values in [-1, 1) from one 32-bit seed. */
function fillRow(dst: Float32Array, offset: number, n: number, seed: number): void {
  let s = seed | 1; // xorshift32 must not start at 0
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    dst[offset + i] = (s >>> 0) * 4.656612873077393e-10 - 1; // 2^-31: [0, 2) - 1
  }
}

function tokenSeed(reqSeed: number, position: number, layer: number, tensor: number): number {
  return mix32(mix32(mix32(reqSeed ^ Math.imul(position + 1, 0x27d4eb2d)) ^ Math.imul(layer + 1, 0x165667b1)) ^ tensor);
}

export interface TokenGeometry {
  numQueryHeads: number;
  numKvHeads: number;
  headSize: number;
}

/**
 * Writes q/k/v of one token (request seed, absolute position, layer) at row `row` of step tensors
 * laid out [numTokens, heads, headSize].
 */
export function fillToken(
  g: TokenGeometry,
  reqSeed: number,
  position: number,
  layer: number,
  row: number,
  query: Float32Array,
  key: Float32Array,
  value: Float32Array,
): void {
  const qn = g.numQueryHeads * g.headSize;
  const kn = g.numKvHeads * g.headSize;
  fillRow(query, row * qn, qn, tokenSeed(reqSeed, position, layer, TENSOR_Q));
  fillRow(key, row * kn, kn, tokenSeed(reqSeed, position, layer, TENSOR_K));
  fillRow(value, row * kn, kn, tokenSeed(reqSeed, position, layer, TENSOR_V));
}

/** Synthetic sinks of one layer: one logit per query head in [-1, 3). */
export function syntheticSinks(layer: number, numQueryHeads: number): Float32Array {
  const out = new Float32Array(numQueryHeads);
  for (let h = 0; h < numQueryHeads; h++) out[h] = (mix32(0x51ee7 ^ Math.imul(layer + 1, 0x9e3779b1) ^ (h << 8)) / 2 ** 32) * 4 - 1;
  return out;
}
