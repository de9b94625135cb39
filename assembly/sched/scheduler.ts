// Continuous-batching scheduler (one step = one call of schedule()).
//
// Order of a step, under a token budget (maxNumBatchedTokens) and a sequence cap (maxNumSeqs):
//   1. running sequences with one token left to compute (decodes), in running order;
//   2. running sequences with more (chunked-prefill continuations), each takes min(left, budget)
//      (1 and 2 are one pass over the running list: the second kind is noted and done after);
//   3. waiting requests, front first (preempted ones were put at the front), while a running row
//      is free, each after a prefix-cache lookup; skipped in a step that had to preempt (no thrash).
// When a running sequence cannot get its blocks, the last running request (the lowest priority) is
// preempted by recompute: its blocks go back (cached ones stay in the prefix cache), numComputed
// drops to 0, and it goes to the front of the waiting queue. If that was already scheduled this
// step, it is taken out of the step and its tokens go back to the budget. If the sequence itself is
// the last, it is preempted (nothing runs after it; continuations noted before it are still tried).
// A waiting request that does not fit stops admission (FCFS: no later request jumps it).
//
// Every request is always in exactly one place: the free stack, the waiting queue, or the running
// list; it leaves only by commit() (generated maxNewTokens), abort() or finish().

import { S, T, W, BS, BS_SHIFT, carve, ld, st, hset, hadd, blocksFor } from '../state';
import { REQ_RUNNING, H_NUM_PREEMPTED, H_PREEMPTIONS, H_PREFIX_HIT_TOKENS } from '../layout';
import { pool } from '../kv/pool';
import { rowAcquire, rowRelease, ensureBlocks, slidingTrimDue } from '../kv/tables';
import {
  REQ_STATE, REQ_NTOK, REQ_NCOMP, REQ_ROW, REQ_EPOCH, REQ_SCHED, waitHead, waitRemove, waitPushFront,
  prefixHitBlocks, hitFreeCost, applyHit,
} from './requests';

export let RUN_LIST: usize = 0;
export let runCount: i32 = 0;
export let SCHED_REQ: usize = 0; // request slot of schedule entry i
export let SCHED_NEW: usize = 0; // its new tokens (0 = taken out again by a preemption)
export let schedCount: i32 = 0;
let DEFERRED: usize = 0; // running requests with more than one token left, in running order

export function schedulerInit(): void {
  RUN_LIST = carve(S << 2);
  SCHED_REQ = carve(S << 2);
  SCHED_NEW = carve(S << 2);
  DEFERRED = carve(S << 2);
}

export function schedulerReset(): void { runCount = 0; schedCount = 0; }

export function setRunCount(n: i32): void { runCount = n; }

let budget: i32 = 0;
let preempted: i32 = 0;

function addToSchedule(r: i32, n: i32): void {
  st(REQ_SCHED, r, schedCount);
  st(SCHED_REQ, schedCount, r);
  st(SCHED_NEW, schedCount, n);
  schedCount++;
  budget -= n;
}

/** Drops a running request's blocks and row; takes it out of this step's schedule. */
export function dropRunning(r: i32): void {
  const si = ld(REQ_SCHED, r);
  if (si >= 0) { budget += ld(SCHED_NEW, si); st(SCHED_NEW, si, 0); st(REQ_SCHED, r, -1); }
  rowRelease(ld(REQ_ROW, r));
  st(REQ_ROW, r, -1);
  st(REQ_EPOCH, r, ld(REQ_EPOCH, r) + 1);
}

/** Removes r from the running list, keeping the order of the others. */
export function runRemove(r: i32): void {
  let j = 0;
  for (let i = 0; i < runCount; i++) {
    const x = ld(RUN_LIST, i);
    if (x != r) st(RUN_LIST, j++, x);
  }
  runCount = j;
}

function preemptLast(): i32 {
  const v = ld(RUN_LIST, --runCount);
  dropRunning(v);
  st(REQ_NCOMP, v, 0);
  waitPushFront(v);
  preempted++;
  return v;
}

/** Gets blocks for `n` more tokens of running request r, preempting from the back; false if r itself went. */
function fitRunning(r: i32, n: i32): bool {
  const c = ld(REQ_NCOMP, r);
  const row = ld(REQ_ROW, r);
  // Most decodes need nothing: their token lands in the last block (c is not on a block boundary)
  // and no sliding block has fallen out of the window since the last step.
  if (n == 1 && (c & (BS - 1)) != 0 && !slidingTrimDue(row, c)) return true;
  while (!ensureBlocks(row, c, c + n)) {
    if (preemptLast() == r) return false;
  }
  return true;
}

/**
 * One pass over the running list: decodes are scheduled as met; the others (prefill continuations)
 * are noted and scheduled after every decode, so the budget goes to decodes first.
 */
function scheduleRunning(): void {
  let deferred = 0;
  for (let i = 0; i < runCount; i++) {
    if (budget == 0 || schedCount == S) break;
    const r = ld(RUN_LIST, i);
    const left = ld(REQ_NTOK, r) - ld(REQ_NCOMP, r);
    if (left != 1) { st(DEFERRED, deferred++, r); continue; }
    if (!fitRunning(r, 1)) break; // r itself was preempted: it was the last, so nothing follows
    addToSchedule(r, 1);
  }
  for (let k = 0; k < deferred; k++) {
    if (budget == 0 || schedCount == S) return;
    const r = ld(DEFERRED, k);
    // A preemption above may have sent it back to waiting.
    if (ld(REQ_STATE, r) != REQ_RUNNING || ld(REQ_SCHED, r) >= 0) continue;
    const left = ld(REQ_NTOK, r) - ld(REQ_NCOMP, r);
    const n = left < budget ? left : budget;
    if (!fitRunning(r, n)) return;
    addToSchedule(r, n);
  }
}

function admitWaiting(): void {
  while (waitHead >= 0 && budget > 0 && schedCount < S && runCount < S) {
    const r = waitHead;
    const k = prefixHitBlocks(r);
    const hitTokens = k << BS_SHIFT;
    const left = ld(REQ_NTOK, r) - hitTokens;
    const n = left < budget ? left : budget;
    const end = hitTokens + n;
    // Free blocks the admission takes: new blocks beyond the hit, plus hit blocks now in a free queue.
    const nf = blocksFor(end) - k + hitFreeCost(r, k, 0);
    if (nf > pool(0).numFree) return;
    if (W > 0) {
      const ns = blocksFor(end) - k + hitFreeCost(r, k, 1);
      if (ns > pool(1).numFree) return;
    }
    waitRemove(r);
    const row = rowAcquire();
    st(REQ_ROW, r, row);
    st(REQ_STATE, r, REQ_RUNNING);
    applyHit(r, row, k);
    hadd(H_PREFIX_HIT_TOKENS, hitTokens);
    ensureBlocks(row, hitTokens, end); // fits: checked above
    st(RUN_LIST, runCount++, r);
    addToSchedule(r, n);
  }
}

/** Plans one step: fills the schedule (SCHED_REQ/SCHED_NEW, schedCount). Returns preemptions. */
export function schedule(): i32 {
  budget = T;
  preempted = 0;
  for (let i = 0; i < schedCount; i++) st(REQ_SCHED, ld(SCHED_REQ, i), -1);
  schedCount = 0;
  scheduleRunning();
  if (preempted == 0) admitWaiting();
  hset(H_NUM_PREEMPTED, preempted);
  hadd(H_PREEMPTIONS, preempted);
  return preempted;
}

