// Step metadata: turns the schedule into the arrays of layout.ts, batch ordered decode, extend, prefill.
//
// Classification of a scheduled sequence with contextLen c and queryLen n: prefill if c == 0, else
// decode if n == 1, else extend. Inside a range, a sequence keeps the row it had last step when it
// can (like a persistent batch: a request that finishes frees one row instead of shifting every row
// after it); the rest fill free rows in schedule order.
//
// Block-table rows are written incrementally: batch row b remembers which request (slot, epoch) it
// last held and how much of its rows it copied. If the same request sits in row b again (the common
// case in steady decoding), only the blocks appended since and the sliding entries released since are
// written; otherwise the row is copied whole. The arrays are read in place by TS and never written
// between step() and the next step(), so what a row held last step is still there.
//
// Slot mapping: consecutive positions inside one block have consecutive slots; runs of 4 or more are
// written with i32x4 stores.

import { BS, BS_SHIFT, MB, R, S, T, W, carve, ld, st, hset, blocksFor } from '../state';
import {
  H_NUM_SEQS, H_NUM_TOKENS, H_NUM_DECODES, H_NUM_EXTENDS, H_NUM_PREFILLS, H_MAX_QUERY_LEN,
  H_MAX_DECODE_QUERY_LEN, H_MAX_SEQ_LEN, H_METADATA_BYTES,
} from '../layout';
import {
  ROW_FULL, ROW_FULL_LEN, ROW_SLID, ROW_SLID_LEN, ROW_SLID_START, ROW_TAIL_F, ROW_TAIL_S, rowBase,
} from '../kv/tables';
import { REQ_EXT, REQ_NTOK, REQ_NCOMP, REQ_ROW, REQ_EPOCH } from '../sched/requests';
import { SCHED_REQ, SCHED_NEW, schedCount } from '../sched/scheduler';

export let QSL: usize = 0;
export let SEQ_LENS: usize = 0;
export let CTX_LENS: usize = 0;
export let QUERY_LENS: usize = 0;
export let REQUEST_IDS: usize = 0;
export let SAMPLE: usize = 0;
export let SAMPLED: usize = 0;
export let BLOCK_TABLE: usize = 0;
export let SLOT_MAPPING: usize = 0;
export let SLID_BLOCK_TABLE: usize = 0;
export let SLID_SLOT_MAPPING: usize = 0;
export let FINISHED: usize = 0;
export let FINISHED_REASONS: usize = 0;
export let FIN_CAP: i32 = 0;
/** Per batch position: request slot and epoch (commit() checks them). */
export let SEQ_SLOT: usize = 0;
export let SEQ_EPOCH: usize = 0;
// Row cache: what batch row b last held.
let M_OWNER: usize = 0;
let M_EPOCH: usize = 0;
let M_FULL_LEN: usize = 0;
let M_SLID_LEN: usize = 0;
let M_SLID_START: usize = 0;
let CLASS: usize = 0; // per schedule entry: 0 decode, 1 extend, 2 prefill; -1 placed / not in step
let TAKEN: usize = 0; // per batch row: 1 once a sequence is placed there this step
let REQ_BPOS: usize = 0; // per request slot: its batch row in the last step it ran

export let numSeqs: i32 = 0;

export function metadataInit(): void {
  QSL = carve((S + 1) << 2); SEQ_LENS = carve(S << 2); CTX_LENS = carve(S << 2);
  QUERY_LENS = carve(S << 2); REQUEST_IDS = carve(S << 2); SAMPLE = carve(S << 2);
  SAMPLED = carve(S << 2);
  FIN_CAP = 2 * R + S; FINISHED = carve(FIN_CAP << 2); FINISHED_REASONS = carve(FIN_CAP << 2);
  BLOCK_TABLE = carve(<i64>S * MB << 2); SLOT_MAPPING = carve(T << 2);
  SLID_BLOCK_TABLE = W > 0 ? carve(<i64>S * MB << 2) : 0;
  SLID_SLOT_MAPPING = W > 0 ? carve(T << 2) : 0;
  SEQ_SLOT = carve(S << 2); SEQ_EPOCH = carve(S << 2);
  M_OWNER = carve(S << 2); M_EPOCH = carve(S << 2); M_FULL_LEN = carve(S << 2);
  M_SLID_LEN = carve(S << 2); M_SLID_START = carve(S << 2); CLASS = carve(S << 2);
  TAKEN = carve(S << 2); REQ_BPOS = carve(R << 2);
}

export function metadataReset(): void {
  memory.fill(M_OWNER, 0xff, <usize>S << 2);
  numSeqs = 0;
}

function fillSlots(dst: usize, table: usize, row: i32, c: i32, n: i32): void {
  const base = rowBase(table, row);
  let p = c;
  const end = c + n;
  let out = dst;
  while (p < end) {
    const off = p & (BS - 1);
    let m = BS - off;
    if (m > end - p) m = end - p;
    let slot = (ld(base, p >> BS_SHIFT) << BS_SHIFT) + off;
    let k = 0;
    if (m >= 4) {
      let v = i32x4(slot, slot + 1, slot + 2, slot + 3);
      const four = i32x4.splat(4);
      for (; k + 4 <= m; k += 4) { v128.store(out + (<usize>k << 2), v); v = i32x4.add(v, four); }
    }
    for (; k < m; k++) store<i32>(out + (<usize>k << 2), slot + k);
    out += <usize>m << 2;
    p += m;
  }
}

function writeRows(b: i32, r: i32, row: i32): void {
  const epoch = ld(REQ_EPOCH, r);
  const fullLen = ld(ROW_FULL_LEN, row);
  const dstF = rowBase(BLOCK_TABLE, b), srcF = rowBase(ROW_FULL, row);
  const same = ld(M_OWNER, b) == r && ld(M_EPOCH, b) == epoch;
  const fromF = same ? ld(M_FULL_LEN, b) : 0;
  if (fullLen > fromF) memory.copy(dstF + (<usize>fromF << 2), srcF + (<usize>fromF << 2), <usize>(fullLen - fromF) << 2);
  st(M_FULL_LEN, b, fullLen);
  if (W > 0) {
    const sLen = ld(ROW_SLID_LEN, row), sStart = ld(ROW_SLID_START, row);
    const dstS = rowBase(SLID_BLOCK_TABLE, b), srcS = rowBase(ROW_SLID, row);
    const oldLen = same ? ld(M_SLID_LEN, b) : 0;
    if (sLen > oldLen) memory.copy(dstS + (<usize>oldLen << 2), srcS + (<usize>oldLen << 2), <usize>(sLen - oldLen) << 2);
    if (same) {
      // Entries released since last step, among those copied before: now the null block.
      let z = ld(M_SLID_START, b);
      const zEnd = sStart < oldLen ? sStart : oldLen;
      if (zEnd > z) memory.fill(dstS + (<usize>z << 2), 0, <usize>(zEnd - z) << 2);
    }
    st(M_SLID_LEN, b, sLen);
    st(M_SLID_START, b, sStart);
  }
  st(M_OWNER, b, r);
  st(M_EPOCH, b, epoch);
}

@inline function placeSeq(b: i32, r: i32, n: i32): void {
  const c = ld(REQ_NCOMP, r);
  st(REQ_BPOS, r, b);
  st(SEQ_SLOT, b, r); st(SEQ_EPOCH, b, ld(REQ_EPOCH, r));
  st(QUERY_LENS, b, n); st(CTX_LENS, b, c); st(SEQ_LENS, b, c + n);
  st(REQUEST_IDS, b, ld(REQ_EXT, r));
  st(SAMPLE, b, c + n == ld(REQ_NTOK, r) ? 1 : 0);
}

let maxSeq: i32 = 0;
let tableEntries: i32 = 0;

/** Slots and block-table rows of the sequence at row b, whose tokens start at row t of the batch. */
@inline function emitSeq(b: i32, r: i32, n: i32, t: i32): void {
  const row = ld(REQ_ROW, r), c = ld(REQ_NCOMP, r);
  st(QSL, b, t);
  if (n == 1) {
    // A decode: its token goes to the row's last block (ensureBlocks allocated exactly up to it).
    const off = c & (BS - 1);
    st(SLOT_MAPPING, t, (ld(ROW_TAIL_F, row) << BS_SHIFT) + off);
    if (W > 0) st(SLID_SLOT_MAPPING, t, (ld(ROW_TAIL_S, row) << BS_SHIFT) + off);
  } else {
    fillSlots(SLOT_MAPPING + (<usize>t << 2), ROW_FULL, row, c, n);
    if (W > 0) fillSlots(SLID_SLOT_MAPPING + (<usize>t << 2), ROW_SLID, row, c, n);
  }
  writeRows(b, r, row);
  if (c + n > maxSeq) maxSeq = c + n;
  tableEntries += blocksFor(c + n);
}

/**
 * Writes every metadata array for the current schedule; returns numSeqs. Decodes are complete the
 * moment their row is known (a decode at row b has its one token at batch row b: queryStartLoc[b] = b);
 * extends and prefills are emitted after, in row order, once their token offsets are known.
 */
export function buildMetadata(): i32 {
  let nd = 0, ne = 0, np = 0;
  for (let i = 0; i < schedCount; i++) {
    const n = ld(SCHED_NEW, i);
    if (n == 0) { st(CLASS, i, -1); continue; }
    const cls = ld(REQ_NCOMP, ld(SCHED_REQ, i)) == 0 ? 2 : (n == 1 ? 0 : 1);
    st(CLASS, i, cls);
    if (cls == 0) nd++; else if (cls == 1) ne++; else np++;
  }
  maxSeq = 0; tableEntries = 0;
  // Rows: a sequence keeps last step's batch row when that row lies inside its class's range (rows of
  // requests that kept their place need no block-table rewrite); the others fill the free rows of
  // their range in schedule order.
  const ns = nd + ne + np;
  memory.fill(TAKEN, 0, <usize>ns << 2);
  for (let i = 0; i < schedCount; i++) {
    const cls = ld(CLASS, i);
    if (cls < 0) continue;
    const r = ld(SCHED_REQ, i);
    const b = ld(REQ_BPOS, r);
    const lo = cls == 0 ? 0 : (cls == 1 ? nd : nd + ne);
    const hi = cls == 0 ? nd : (cls == 1 ? nd + ne : ns);
    if (b >= lo && b < hi && ld(M_OWNER, b) == r && ld(M_EPOCH, b) == ld(REQ_EPOCH, r) && ld(TAKEN, b) == 0) {
      st(TAKEN, b, 1);
      const n = ld(SCHED_NEW, i);
      placeSeq(b, r, n);
      if (cls == 0) emitSeq(b, r, 1, b);
      st(CLASS, i, -1);
    }
  }
  let cur0 = 0, cur1 = nd, cur2 = nd + ne;
  for (let i = 0; i < schedCount; i++) {
    const cls = ld(CLASS, i);
    if (cls < 0) continue;
    const r = ld(SCHED_REQ, i), n = ld(SCHED_NEW, i);
    let b: i32;
    if (cls == 0) {
      while (ld(TAKEN, cur0) != 0) cur0++;
      b = cur0++;
      placeSeq(b, r, n);
      emitSeq(b, r, 1, b);
      continue;
    }
    if (cls == 1) { while (ld(TAKEN, cur1) != 0) cur1++; b = cur1++; }
    else { while (ld(TAKEN, cur2) != 0) cur2++; b = cur2++; }
    placeSeq(b, r, n);
  }
  let t = nd, maxQ = nd > 0 ? 1 : 0;
  for (let b = nd; b < ns; b++) {
    const n = ld(QUERY_LENS, b);
    emitSeq(b, ld(SEQ_SLOT, b), n, t);
    t += n;
    if (n > maxQ) maxQ = n;
  }
  st(QSL, ns, t);
  numSeqs = ns;
  hset(H_NUM_SEQS, ns); hset(H_NUM_TOKENS, t);
  hset(H_NUM_DECODES, nd); hset(H_NUM_EXTENDS, ne); hset(H_NUM_PREFILLS, np);
  hset(H_MAX_QUERY_LEN, maxQ); hset(H_MAX_DECODE_QUERY_LEN, nd > 0 ? 1 : 0); hset(H_MAX_SEQ_LEN, maxSeq);
  const groups = W > 0 ? 2 : 1;
  hset(H_METADATA_BYTES, ((ns + 1) + 5 * ns + groups * (t + tableEntries)) << 2);
  return ns;
}
