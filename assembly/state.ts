// Engine-wide state: the config, the byte address of every region (carved once in init()) and tiny
// load/store helpers. Regions are raw memory (no AS objects), so nothing is allocated after init and
// TS can view the same bytes. Every region is 64-byte aligned (v128 stores, u64 hashes, cache lines).

import { HEADER_WORDS } from './layout';

// Config, as accepted by init().
export let NB: i32 = 0; // numBlocks (full group)
export let BS: i32 = 0; // blockSize
export let BS_SHIFT: i32 = 0; // log2(blockSize)
export let W: i32 = 0; // slidingWindow (0 = no sliding group)
export let NSB: i32 = 0; // numSlidingBlocks (block 0 is the null block)
export let S: i32 = 0; // maxNumSeqs
export let T: i32 = 0; // maxNumBatchedTokens
export let L: i32 = 0; // maxModelLen
export let R: i32 = 0; // maxRequests
export let MB: i32 = 0; // maxBlocksPerSeq
export let PC: bool = false; // prefix caching
export let INITIALIZED: bool = false;

export function setConfig(nb: i32, bs: i32, w: i32, nsb: i32, s: i32, t: i32, l: i32, r: i32, pc: bool): void {
  NB = nb; BS = bs; BS_SHIFT = <i32>ctz<u32>(<u32>bs); W = w; NSB = w > 0 ? nsb : 0;
  S = s; T = t; L = l; R = r; PC = pc;
  // Row stride of every block table: ceil(l / bs) rounded up to 16 entries (64-byte rows) plus 16
  // more, so consecutive rows start in consecutive cache sets instead of aliasing (a power-of-two
  // stride would put every row of a table into the same few sets).
  MB = ((((l + bs - 1) >> BS_SHIFT) + 15) & ~15) + 16;
}

export function setInitialized(): void { INITIALIZED = true; }

// The header lives at __heap_base; regions follow it.
export let HDR: usize = 0;
let BUMP: usize = 0;

export function resetCarving(): void {
  carved = 0;
  OVERFLOW = false;
  HDR = (__heap_base + 63) & ~<usize>63;
  BUMP = HDR + <usize>(HEADER_WORDS << 2);
}

let carved: i32 = 0;

/**
 * Reserves `bytes` and returns a 64-byte aligned address; only init() calls this. Regions are
 * staggered by 1..8 cache lines: arrays whose sizes are multiples of 4 KiB would otherwise start at
 * the same cache set, and a loop reading element i of a dozen of them would thrash one set.
 */
export function carve(bytes: i64): usize {
  const p = BUMP;
  const next = <i64>BUMP + ((bytes + 63) & ~63) + (<i64>(1 + (carved++ & 7)) << 6);
  // Past 4 GiB (or a product that overflowed): flag it; init() refuses the config.
  if (bytes < 0 || next > 0xffff0000) { OVERFLOW = true; return p; }
  BUMP = <usize>next;
  return p;
}

let OVERFLOW: bool = false;
/** Total bytes the carved regions need, or -1 when they would not fit in a 32-bit memory. */
export function carvedEnd(): i64 { return OVERFLOW ? -1 : <i64>BUMP; }

@inline export function hget(word: i32): i32 { return load<i32>(HDR + (<usize>word << 2)); }
@inline export function hset(word: i32, v: i32): void { store<i32>(HDR + (<usize>word << 2), v); }
@inline export function hadd(word: i32, d: i32): void { hset(word, hget(word) + d); }

@inline export function ld(base: usize, i: i32): i32 { return load<i32>(base + (<usize>i << 2)); }
@inline export function st(base: usize, i: i32, v: i32): void { store<i32>(base + (<usize>i << 2), v); }
@inline export function ld64(base: usize, i: i32): u64 { return load<u64>(base + (<usize>i << 3)); }
@inline export function st64(base: usize, i: i32, v: u64): void { store<u64>(base + (<usize>i << 3), v); }

/** ceil(tokens / blockSize) */
@inline export function blocksFor(tokens: i32): i32 { return (tokens + BS - 1) >> BS_SHIFT; }
