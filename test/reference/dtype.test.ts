import { describe, expect, it } from 'vitest';
import { roundToDtype } from '../../src/backends/reference/index.js';

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

describe('rounding to storage dtypes', () => {
  it('f16: every finite half is a fixed point, and midpoints round to even', () => {
    for (let h = 0; h < 0x7c00; h++) {
      const x = halfToFloat(h);
      expect(roundToDtype(x, 'f16')).toBe(x);
      const next = halfToFloat(h + 1);
      if (h + 1 < 0x7c00) {
        const mid = (x + next) / 2;
        expect(roundToDtype(mid, 'f16')).toBe(h % 2 === 0 ? x : next);
        expect(roundToDtype(-mid, 'f16')).toBe(h % 2 === 0 ? -x : -next);
      }
    }
    expect(roundToDtype(70000, 'f16')).toBe(Infinity);
  });

  it('bf16: keeps 8 significant bits with round-to-even', () => {
    expect(roundToDtype(1 + 2 ** -8, 'bf16')).toBe(1); // tie, even
    expect(roundToDtype(1 + 3 * 2 ** -8, 'bf16')).toBe(1 + 2 ** -6); // tie, to even (up)
    expect(roundToDtype(1 + 2 ** -7 + 2 ** -9, 'bf16')).toBe(1 + 2 ** -7);
    expect(roundToDtype(-3.14159, 'bf16')).toBe(-3.140625);
    expect(roundToDtype(0.1, 'f32')).toBe(Math.fround(0.1));
  });
});
