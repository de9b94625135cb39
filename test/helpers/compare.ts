// The comparison every conformance check uses; the per-dtype bounds live with the reference
// (src/backends/reference/tolerance.ts) so the runtime's step checks share them.

export { TOLERANCES, type Tolerance } from '../../src/backends/reference/index.js';

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
