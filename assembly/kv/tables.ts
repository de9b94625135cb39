// Block tables of running sequences, one row per running request (rows are taken when a request
// starts running and given back when it is preempted or ends; waiting requests hold no blocks).
//
// Full group: row entries [0, rowFullLen) are the blocks of logical blocks 0.. of the sequence.
// Sliding group: rowSlidingLen is the logical length too, but entries [0, rowSlidingStart) were
// released because every key in them is out of the window of the next query, and read 0 (the null
// block). A query at position c sees keys at positions > c - W, so before computing tokens from
// position c on, block j can go when (j + 1) * blockSize <= c - W + 1.
//
// Blocks needed for a sequence to compute up to `end` tokens: full ceil(end / bs) - rowFullLen; sliding
// ceil(end / bs) - rowSlidingLen (its trimmed blocks went back to the pool first).

import { BS, BS_SHIFT, MB, S, W, carve, ld, st, blocksFor } from '../state';
import { Pool, pool, allocBlock, releaseBlock } from './pool';

export let ROW_FULL: usize = 0;
export let ROW_FULL_LEN: usize = 0;
export let ROW_SLID: usize = 0;
export let ROW_SLID_LEN: usize = 0;
export let ROW_SLID_START: usize = 0;
/** Last block of each row, per group (the block a decode token goes to), kept compact so a decode's
 *  slot is found without touching its row (rows are far apart in memory). */
export let ROW_TAIL_F: usize = 0;
export let ROW_TAIL_S: usize = 0;
/** Logical blocks of the row already offered to the prefix-cache map (see registerFullBlocks). */
export let ROW_HASHED: usize = 0;
let ROW_FREE: usize = 0;
let rowFreeTop: i32 = 0;

export function tablesInit(): void {
  ROW_FULL = carve(<i64>S * MB << 2);
  ROW_FULL_LEN = carve(S << 2);
  ROW_SLID = carve(<i64>S * MB << 2);
  ROW_SLID_LEN = carve(S << 2);
  ROW_SLID_START = carve(S << 2);
  ROW_HASHED = carve(S << 2);
  ROW_FREE = carve(S << 2);
  ROW_TAIL_F = carve(S << 2);
  ROW_TAIL_S = carve(S << 2);
}

export function tablesReset(): void {
  for (let i = 0; i < S; i++) st(ROW_FREE, i, S - 1 - i);
  rowFreeTop = S;
}

@inline export function rowBase(table: usize, row: i32): usize { return table + (<usize>(row * MB) << 2); }

/** A free row, emptied; the caller knows one exists (running < maxNumSeqs). */
export function rowAcquire(): i32 {
  const row = ld(ROW_FREE, --rowFreeTop);
  st(ROW_FULL_LEN, row, 0);
  st(ROW_SLID_LEN, row, 0);
  st(ROW_SLID_START, row, 0);
  st(ROW_HASHED, row, 0);
  return row;
}

/** Gives every block of the row back, last block first (so a prefix's first block is evicted last). */
export function rowRelease(row: i32): void {
  const full = pool(0);
  const fb = rowBase(ROW_FULL, row);
  for (let j = ld(ROW_FULL_LEN, row) - 1; j >= 0; j--) releaseBlock(full, ld(fb, j));
  if (W > 0) {
    const sl = pool(1);
    const sb = rowBase(ROW_SLID, row);
    const start = ld(ROW_SLID_START, row);
    for (let j = ld(ROW_SLID_LEN, row) - 1; j >= start; j--) releaseBlock(sl, ld(sb, j));
  }
  st(ROW_FREE, rowFreeTop++, row);
}

/** Whether slidingTrim(row, c) would release a block. */
@inline export function slidingTrimDue(row: i32, c: i32): bool {
  if (W == 0) return false;
  const firstVisible = c - W + 1;
  return firstVisible > 0 && (firstVisible >> BS_SHIFT) > ld(ROW_SLID_START, row);
}

/** Releases the sliding blocks no query from position `c` on can see. */
export function slidingTrim(row: i32, c: i32): void {
  const firstVisible = c - W + 1;
  if (firstVisible <= 0) return;
  let keep = firstVisible >> BS_SHIFT; // blocks [0, keep) are wholly before the window
  const len = ld(ROW_SLID_LEN, row);
  if (keep > len) keep = len;
  let start = ld(ROW_SLID_START, row);
  if (keep <= start) return;
  const sl = pool(1);
  const sb = rowBase(ROW_SLID, row);
  for (let j = keep - 1; j >= start; j--) { releaseBlock(sl, ld(sb, j)); st(sb, j, 0); }
  st(ROW_SLID_START, row, keep);
}

/** Blocks of group 0 (full) the row still needs to hold `end` tokens. */
@inline export function needFull(row: i32, end: i32): i32 {
  const n = blocksFor(end) - ld(ROW_FULL_LEN, row);
  return n > 0 ? n : 0;
}

/** Blocks of group 1 (sliding) the row still needs; call slidingTrim first. */
@inline export function needSliding(row: i32, end: i32): i32 {
  if (W == 0) return 0;
  const n = blocksFor(end) - ld(ROW_SLID_LEN, row);
  return n > 0 ? n : 0;
}

function grow(p: Pool, table: usize, lens: usize, tails: usize, row: i32, n: i32): void {
  const base = rowBase(table, row);
  let len = ld(lens, row);
  let b = 0;
  for (let k = 0; k < n; k++) { b = allocBlock(p); st(base, len++, b); }
  st(lens, row, len);
  st(tails, row, b);
}

/**
 * Makes the row hold `end` tokens in both groups, or changes nothing and returns false when either
 * pool lacks free blocks (the scheduler then preempts). Trim first so sliding blocks are reusable.
 */
export function ensureBlocks(row: i32, start: i32, end: i32): bool {
  if (W > 0) slidingTrim(row, start);
  const nf = needFull(row, end), ns = needSliding(row, end);
  if (nf > pool(0).numFree) return false;
  if (ns > 0 && ns > pool(1).numFree) return false;
  if (nf > 0) grow(pool(0), ROW_FULL, ROW_FULL_LEN, ROW_TAIL_F, row, nf);
  if (ns > 0) grow(pool(1), ROW_SLID, ROW_SLID_LEN, ROW_TAIL_S, row, ns);
  return true;
}

/** Slot of logical token position `pos` in a row of `table`. */
@inline export function slotOf(table: usize, row: i32, pos: i32): i32 {
  return (ld(rowBase(table, row), pos >> BS_SHIFT) << BS_SHIFT) + (pos & (BS - 1));
}
