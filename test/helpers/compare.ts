// Per-dtype tolerances and the comparison every conformance check uses.
//
// Inputs are rounded to the storage dtype before the float64 reference runs, so these bounds cover
// only what kernels do on top: f32 accumulation in another order, exp/log approximations, and for
// f16/bf16 the rounding of probabilities (P) and outputs to the storage dtype where matrix units
// multiply P by V. Outputs are weighted means of values in [-1, 1]; lse is O(10).

import type { Dtype } from '../../src/backends/types.js';

export interface Tolerance {
  outAtol: number;
  outRtol: number;
  lseAtol: number;
}

export const TOLERANCES: Record<Dtype, Tolerance> = {
  f32: { outAtol: 1e-4, outRtol: 1e-4, lseAtol: 2e-4 },
  f16: { outAtol: 3e-3, outRtol: 3e-3, lseAtol: 5e-3 },
  bf16: { outAtol: 1.5e-2, outRtol: 1.5e-2, lseAtol: 2e-2 },
};

export interface Mismatch {
  index: number;
  actual: number;
  expected: number;
}

export interface Comparison {
  maxAbsErr: number;
  /** Number of elements outside atol + rtol * |expected|. */
  bad: number;
  first: Mismatch | null;
}

/** Compares the first `count` elements; -inf must match -inf, NaN never matches. */
export function compareArrays(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  count: number,
  atol: number,
  rtol: number,
): Comparison {
  let maxAbsErr = 0;
  let bad = 0;
  let first: Mismatch | null = null;
  for (let i = 0; i < count; i++) {
    const a = actual[i];
    const e = expected[i];
    let ok: boolean;
    if (e === -Infinity || e === Infinity) ok = a === e;
    else {
      const err = Math.abs(a - e);
      ok = err <= atol + rtol * Math.abs(e); // false for NaN
      if (!(err <= maxAbsErr)) maxAbsErr = Number.isNaN(err) ? NaN : err;
    }
    if (!ok) {
      bad++;
      if (first === null) first = { index: i, actual: a, expected: e };
    }
  }
  return { maxAbsErr, bad, first };
}

export function describeMismatch(what: string, c: Comparison, rowLen: number): string {
  if (c.first === null) return `${what}: ok (max abs err ${c.maxAbsErr.toExponential(2)})`;
  const { index, actual, expected } = c.first;
  return `${what}: ${c.bad} elements out of tolerance, max abs err ${c.maxAbsErr}; first at [${Math.floor(index / rowLen)}][${index % rowLen}]: ${actual} vs ${expected}`;
}
