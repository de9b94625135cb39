// f32 <-> IEEE half conversion on the host, for uploading and downloading an f16 KV cache.
// Round-to-nearest-even, overflow to infinity, subnormals kept: the same rounding as the
// reference's roundToDtype and as WGSL's f32 -> f16 conversion of in-range values.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const u = u32[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    if (e < -10) return sign; // underflows to zero
    mant |= 0x800000; // implicit bit, then shift into the subnormal position with RNE
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rem = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rem > half || (rem === half && (m & 1) === 1)) m++;
    return sign | m;
  }
  const rem = mant & 0x1fff;
  let m = mant >>> 13;
  if (rem > 0x1000 || (rem === 0x1000 && (m & 1) === 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

export function toF16Array(a: Float32Array): Uint16Array {
  const r = new Uint16Array(a.length);
  for (let i = 0; i < a.length; i++) r[i] = f32ToF16Bits(a[i]);
  return r;
}

export function fromF16Array(a: Uint16Array): Float32Array {
  const r = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) r[i] = f16BitsToF32(a[i]);
  return r;
}
