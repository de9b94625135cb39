// Request slots (struct of arrays over maxRequests), the waiting queue and prefix-cache admission.
//
// A request's tokens = prompt + generated so far (numTokens); numComputed of them have KV in the cache.
// Preemption by recompute sets numComputed back to 0 and keeps numTokens, so the generated tokens are
// recomputed as if they were prompt and no token is produced twice. `epoch` changes whenever the slot's
// blocks are dropped (preempt, end), so a plan entry can tell whether it still describes the request.
//
// Hashes of full blocks (when the caller gave token ids) are kept per request: prompt blocks hashed at
// addRequest, generated blocks as tokens arrive at commit; a preempted request keeps them, so on its
// return it can hit its own cached blocks.

import { BS, BS_SHIFT, MB, R, W, PC, carve, ld, st, ld64, st64 } from '../state';
import { REQ_FREE, REQ_WAITING } from '../layout';
import { HASH_SEED, absorb, finalizeBlock } from '../kv/hash';
import { pool, lookup, touchBlock, refcountOf, registerBlock } from '../kv/pool';
import {
  ROW_FULL, ROW_FULL_LEN, ROW_SLID, ROW_SLID_LEN, ROW_SLID_START, ROW_HASHED, ROW_TAIL_F, ROW_TAIL_S, rowBase,
} from '../kv/tables';

export let REQ_STATE: usize = 0;
export let REQ_EXT: usize = 0;
export let REQ_NTOK: usize = 0;
export let REQ_NCOMP: usize = 0;
export let REQ_NGEN: usize = 0;
export let REQ_MAXNEW: usize = 0;
export let REQ_ROW: usize = 0;
export let REQ_EPOCH: usize = 0;
export let REQ_SCHED: usize = 0; // index in the step's schedule, or -1
let REQ_HASHED: usize = 0; // 1 when token ids are known (prefix caching on for it)
let REQ_NHASH: usize = 0;
let REQ_PARTIAL: usize = 0; // u64 rolling hash state of the open block
let REQ_HASHES: usize = 0; // u64[R * MB]
let REQ_PREV: usize = 0;
let REQ_NEXT: usize = 0;
let FREE_SLOTS: usize = 0;
let freeTop: i32 = 0;

export let waitHead: i32 = -1;
let waitTail: i32 = -1;
export let waitCount: i32 = 0;

export function requestsInit(): void {
  REQ_STATE = carve(R << 2); REQ_EXT = carve(R << 2); REQ_NTOK = carve(R << 2);
  REQ_NCOMP = carve(R << 2); REQ_NGEN = carve(R << 2); REQ_MAXNEW = carve(R << 2);
  REQ_ROW = carve(R << 2); REQ_EPOCH = carve(R << 2); REQ_SCHED = carve(R << 2);
  REQ_HASHED = carve(R << 2); REQ_NHASH = carve(R << 2); REQ_PARTIAL = carve(R << 3);
  REQ_HASHES = PC ? carve(<i64>R * MB << 3) : 0;
  REQ_PREV = carve(R << 2); REQ_NEXT = carve(R << 2); FREE_SLOTS = carve(R << 2);
}

export function requestsReset(): void {
  memory.fill(REQ_STATE, 0, <usize>R << 2);
  memory.fill(REQ_EPOCH, 0, <usize>R << 2);
  for (let i = 0; i < R; i++) { st(FREE_SLOTS, i, R - 1 - i); st(REQ_SCHED, i, -1); st(REQ_ROW, i, -1); }
  freeTop = R;
  waitHead = -1; waitTail = -1; waitCount = 0;
}

@inline export function hasFreeSlot(): bool { return freeTop > 0; }

/** Takes a slot for a new request; `tokens` (if non-zero) points at promptLen token ids to hash. */
export function slotCreate(extId: i32, promptLen: i32, maxNew: i32, tokens: usize): i32 {
  const r = ld(FREE_SLOTS, --freeTop);
  st(REQ_EXT, r, extId); st(REQ_NTOK, r, promptLen); st(REQ_NCOMP, r, 0); st(REQ_NGEN, r, 0);
  st(REQ_MAXNEW, r, maxNew); st(REQ_ROW, r, -1); st(REQ_SCHED, r, -1); st(REQ_NHASH, r, 0);
  const hashed = PC && tokens != 0;
  st(REQ_HASHED, r, hashed ? 1 : 0);
  if (hashed) {
    let h = HASH_SEED;
    let n = 0;
    const hashes = REQ_HASHES + (<usize>(r * MB) << 3);
    for (let i = 0; i < promptLen; i++) {
      h = absorb(h, ld(tokens, i));
      if (((i + 1) & (BS - 1)) == 0) { h = finalizeBlock(h); st64(hashes, n++, h); }
    }
    st(REQ_NHASH, r, n);
    st64(REQ_PARTIAL, r, h);
  }
  return r;
}

/** Returns the slot to the free stack; the caller dropped its blocks and queue links. */
export function slotFree(r: i32): void {
  st(REQ_STATE, r, REQ_FREE);
  st(REQ_EPOCH, r, ld(REQ_EPOCH, r) + 1);
  st(FREE_SLOTS, freeTop++, r);
}

/** Feeds one generated token (appended at position numTokens - 1) into the request's hash chain. */
export function hashAppend(r: i32, token: i32, numTokens: i32): void {
  if (ld(REQ_HASHED, r) == 0) return;
  let h = absorb(ld64(REQ_PARTIAL, r), token);
  if ((numTokens & (BS - 1)) == 0) {
    h = finalizeBlock(h);
    const n = ld(REQ_NHASH, r);
    st64(REQ_HASHES + (<usize>(r * MB) << 3), n, h);
    st(REQ_NHASH, r, n + 1);
  }
  st64(REQ_PARTIAL, r, h);
}

/** Offers the row's newly completed blocks (both groups) to the prefix-cache map. */
export function registerFullBlocks(r: i32, row: i32): void {
  if (ld(REQ_HASHED, r) == 0) return;
  let upTo = ld(REQ_NCOMP, r) >> BS_SHIFT;
  const nh = ld(REQ_NHASH, r);
  if (upTo > nh) upTo = nh;
  let j = ld(ROW_HASHED, row);
  if (j >= upTo) return;
  const hashes = REQ_HASHES + (<usize>(r * MB) << 3);
  const fb = rowBase(ROW_FULL, row), sb = rowBase(ROW_SLID, row);
  const start = W > 0 ? ld(ROW_SLID_START, row) : 0;
  for (; j < upTo; j++) {
    const h = ld64(hashes, j);
    registerIn(0, ld(fb, j), h);
    if (W > 0 && j >= start) registerIn(1, ld(sb, j), h);
  }
  st(ROW_HASHED, row, upTo);
}

@inline function registerIn(g: i32, b: i32, h: u64): void { registerBlock(pool(g), b, h); }

// Waiting queue: a deque over request slots (new requests at the back, preempted ones at the front).
export function waitPushBack(r: i32): void {
  st(REQ_STATE, r, REQ_WAITING);
  st(REQ_NEXT, r, -1); st(REQ_PREV, r, waitTail);
  if (waitTail >= 0) st(REQ_NEXT, waitTail, r); else waitHead = r;
  waitTail = r; waitCount++;
}

export function waitPushFront(r: i32): void {
  st(REQ_STATE, r, REQ_WAITING);
  st(REQ_PREV, r, -1); st(REQ_NEXT, r, waitHead);
  if (waitHead >= 0) st(REQ_PREV, waitHead, r); else waitTail = r;
  waitHead = r; waitCount++;
}

export function waitRemove(r: i32): void {
  const p = ld(REQ_PREV, r), n = ld(REQ_NEXT, r);
  if (p >= 0) st(REQ_NEXT, p, n); else waitHead = n;
  if (n >= 0) st(REQ_PREV, n, p); else waitTail = p;
  waitCount--;
}

/**
 * Longest usable prefix hit of a waiting request, in blocks: consecutive hashes found in the full
 * map, and (with a sliding group) the blocks inside the window of the first uncached token found in
 * the sliding map too. At least one token is always left to compute (its logits are needed).
 */
export function prefixHitBlocks(r: i32): i32 {
  if (ld(REQ_HASHED, r) == 0) return 0;
  let max = (ld(REQ_NTOK, r) - 1) >> BS_SHIFT;
  const nh = ld(REQ_NHASH, r);
  if (max > nh) max = nh;
  const hashes = REQ_HASHES + (<usize>(r * MB) << 3);
  const full = pool(0);
  let k = 0;
  while (k < max && lookup(full, ld64(hashes, k)) >= 0) k++;
  if (W == 0) return k;
  const sl = pool(1);
  for (; k > 0; k--) {
    let ok = true;
    for (let j = slidingStartFor(k); j < k; j++) {
      if (lookup(sl, ld64(hashes, j)) < 0) { ok = false; break; }
    }
    if (ok) break;
  }
  return k;
}

/** First sliding block still visible to a query at position k * blockSize. */
@inline function slidingStartFor(k: i32): i32 {
  const first = (k << BS_SHIFT) - W + 1;
  return first <= 0 ? 0 : first >> BS_SHIFT;
}

/** Free blocks a hit of k blocks takes out of each pool's free queue (hit blocks at refcount 0). */
export function hitFreeCost(r: i32, k: i32, g: i32): i32 {
  const p = pool(g);
  const hashes = REQ_HASHES + (<usize>(r * MB) << 3);
  let n = 0;
  for (let j = g == 0 ? 0 : slidingStartFor(k); j < k; j++) {
    if (refcountOf(p, lookup(p, ld64(hashes, j))) == 0) n++;
  }
  return n;
}

/** Puts the k hit blocks into the (empty) row of both groups and marks them computed. */
export function applyHit(r: i32, row: i32, k: i32): void {
  const hashes = REQ_HASHES + (<usize>(r * MB) << 3);
  const full = pool(0);
  const fb = rowBase(ROW_FULL, row);
  for (let j = 0; j < k; j++) {
    const b = lookup(full, ld64(hashes, j));
    touchBlock(full, b); st(fb, j, b);
    st(ROW_TAIL_F, row, b);
  }
  st(ROW_FULL_LEN, row, k);
  if (W > 0) {
    const sl = pool(1);
    const sb = rowBase(ROW_SLID, row);
    const start = slidingStartFor(k);
    for (let j = 0; j < start; j++) st(sb, j, 0);
    for (let j = start; j < k; j++) {
      const b = lookup(sl, ld64(hashes, j));
      touchBlock(sl, b); st(sb, j, b);
      st(ROW_TAIL_S, row, b);
    }
    st(ROW_SLID_LEN, row, k);
    st(ROW_SLID_START, row, start);
  }
  st(ROW_HASHED, row, k);
  st(REQ_NCOMP, r, k << BS_SHIFT);
}
