// Per-dtype tolerances of every comparison against the float64 reference: the conformance table
// (test/helpers) and the runtime's sampled step checks (src/runtime/check.ts) use these same bounds.
//
// Inputs are rounded to the storage dtype before the reference runs, so these bounds cover only what
// kernels do on top: f32 accumulation in another order, exp/log approximations, and for f16/bf16 the
// rounding of probabilities (P) and outputs to the storage dtype where matrix units multiply P by V.
// Outputs are weighted means of values in [-1, 1]; lse is O(10).

import type { Dtype } from '../types.js';

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
