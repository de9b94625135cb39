// Rounding of host f32 values to a storage dtype, so a reference can be computed on exactly the
// values a f16/bf16 backend stores (the tolerance then covers only the kernel's arithmetic).
import type { Dtype } from '../types.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Round-to-nearest-even to bfloat16 (NaN kept quiet). */
function toBf16(x: number): number {
  f32[0] = x;
  const u = u32[0];
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x7fffff) !== 0) return x;
  const rounded = (u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000;
  u32[0] = rounded >>> 0;
  return f32[0];
}

/** Round-to-nearest-even to IEEE half (overflow to +-inf, subnormals kept). */
function toF16(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity;
  // Spacing of halves around a: 2^(e-10) for normals, 2^-24 for subnormals.
  const e = Math.max(Math.floor(Math.log2(a)), -14);
  const ulp = 2 ** (e - 10);
  let q = a / ulp;
  const fl = Math.floor(q);
  const diff = q - fl;
  q = diff > 0.5 || (diff === 0.5 && fl % 2 === 1) ? fl + 1 : fl;
  return Math.sign(x) * q * ulp;
}

/**
 * The value a backend stores for host value x. Host tensors are f32, so x is taken to f32 first:
 * rounding a double straight to f16 can differ from f32 -> f16 by one ulp at an f32-exact midpoint.
 */
export function roundToDtype(x: number, dtype: Dtype): number {
  if (dtype === 'f16') return toF16(Math.fround(x));
  if (dtype === 'bf16') return toBf16(x);
  return Math.fround(x);
}

/** Returns a copy of `a` rounded to `dtype` (f32 arrays are copied as is). */
export function roundArray(a: Float32Array, dtype: Dtype): Float32Array {
  const r = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) r[i] = roundToDtype(a[i], dtype);
  return r;
}
