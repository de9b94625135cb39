// The engine's only export surface: numbers and pointers in, status codes out (errors.ts), every
// array in the shared memory described by layout.ts. Call order: init() once, then addRequest /
// abortRequest / finishRequest at any time, and step() / commit() strictly alternating.

import {
  MAGIC, LAYOUT_VERSION, REQ_FREE, REQ_WAITING, REQ_RUNNING,
  CFG_NUM_BLOCKS, CFG_BLOCK_SIZE, CFG_SLIDING_WINDOW, CFG_NUM_SLIDING_BLOCKS, CFG_MAX_NUM_SEQS,
  CFG_MAX_NUM_BATCHED_TOKENS, CFG_MAX_MODEL_LEN, CFG_MAX_REQUESTS,
  H_MAGIC, H_VERSION, H_CFG_NUM_BLOCKS, H_CFG_BLOCK_SIZE, H_CFG_SLIDING_WINDOW, H_CFG_NUM_SLIDING_BLOCKS,
  H_CFG_MAX_NUM_SEQS, H_CFG_MAX_NUM_BATCHED_TOKENS, H_CFG_MAX_MODEL_LEN, H_CFG_MAX_REQUESTS,
  H_CFG_PREFIX_CACHING, H_CFG_MAX_BLOCKS_PER_SEQ, H_CFG_NUM_GROUPS, H_MEMORY_BYTES,
  H_P_QUERY_START_LOC, H_P_SEQ_LENS, H_P_CONTEXT_LENS, H_P_QUERY_LENS, H_P_REQUEST_IDS, H_P_SAMPLE,
  H_P_SAMPLED_TOKENS, H_P_BLOCK_TABLE, H_P_SLOT_MAPPING, H_P_SLIDING_BLOCK_TABLE, H_P_SLIDING_SLOT_MAPPING,
  H_P_FINISHED_IDS, H_P_INPUT_TOKENS, H_P_REQ_STATE, H_P_REQ_EXT_ID, H_P_REQ_NUM_TOKENS,
  H_P_REQ_NUM_COMPUTED, H_P_REQ_NUM_GENERATED, H_P_REQ_MAX_NEW, H_P_REQ_ROW, H_P_ROW_FULL, H_P_ROW_FULL_LEN,
  H_P_ROW_SLIDING, H_P_ROW_SLIDING_LEN, H_P_ROW_SLIDING_START, H_P_BLOCKS_FULL, H_P_BLOCKS_SLIDING,
  H_P_RUN_LIST, H_STEP_ID, H_NUM_FINISHED, H_PENDING, H_RUNNING, H_WAITING, H_FREE_FULL, H_CACHED_FULL,
  H_FREE_SLIDING, H_CACHED_SLIDING, H_ERR_ARG0, H_ERR_ARG1, HEADER_WORDS, H_P_FINISHED_REASONS,
  H_FINISHED_DROPPED, H_PUBLISH, FINISH_LENGTH, FINISH_STOPPED, FINISH_ABORTED,
} from './layout';
import {
  OK, E_NOT_INIT, E_BAD_CONFIG, E_UNKNOWN_REQUEST, E_EMPTY_PROMPT, E_BAD_MAX_NEW_TOKENS,
  E_SEQUENCE_TOO_LONG, E_EXCEEDS_CACHE, E_TOO_MANY_REQUESTS, E_STEP_NOT_COMMITTED, E_NOTHING_TO_COMMIT,
  E_OUT_OF_MEMORY,
} from './errors';
import {
  NB, BS, W, NSB, S, T, L, R, MB, PC, INITIALIZED, HDR, setConfig, setInitialized, resetCarving, carve,
  carvedEnd, hget, hset, hadd, ld, st, blocksFor,
} from './state';
import { pool, poolInit, poolReset } from './kv/pool';
import {
  ROW_FULL, ROW_FULL_LEN, ROW_SLID, ROW_SLID_LEN, ROW_SLID_START, tablesInit, tablesReset, rowRelease,
} from './kv/tables';
import {
  REQ_STATE, REQ_EXT, REQ_NTOK, REQ_NCOMP, REQ_NGEN, REQ_MAXNEW, REQ_ROW, REQ_EPOCH, REQ_SCHED,
  requestsInit, requestsReset, hasFreeSlot, slotCreate, slotFree, waitPushBack, waitRemove, waitCount,
  hashAppend, registerFullBlocks,
} from './sched/requests';
import {
  RUN_LIST, runCount, setRunCount, schedulerInit, schedulerReset, schedule, dropRunning, runRemove,
} from './sched/scheduler';
import {
  QSL, SEQ_LENS, CTX_LENS, QUERY_LENS, REQUEST_IDS, SAMPLE, SAMPLED, BLOCK_TABLE, SLOT_MAPPING,
  SLID_BLOCK_TABLE, SLID_SLOT_MAPPING, FINISHED, FINISHED_REASONS, FIN_CAP, SEQ_SLOT, SEQ_EPOCH, numSeqs, metadataInit, metadataReset,
  buildMetadata,
} from './batch/metadata';

export * from './layout';
export * from './errors';

let INPUT_TOKENS: usize = 0;
// The finished list accumulates ends until a commit reports them; the first end or commit after
// that report starts a new list.
let finCount: i32 = 0;
let finReported: bool = false;

function recordEnd(extId: i32, reason: i32): void {
  if (finReported) { finCount = 0; finReported = false; }
  if (finCount == FIN_CAP) { hadd(H_FINISHED_DROPPED, 1); return; }
  st(FINISHED, finCount, extId);
  st(FINISHED_REASONS, finCount, reason);
  finCount++;
}

function err(code: i32, a: i32, b: i32): i32 { hset(H_ERR_ARG0, a); hset(H_ERR_ARG1, b); publish(); return code; }

export function headerPtr(): usize { return HDR; }

/** Validates the config, carves every region, grows the memory once, resets all state. */
export function init(nb: i32, bs: i32, w: i32, nsb: i32, s: i32, t: i32, l: i32, r: i32, pc: i32): i32 {
  resetCarving();
  if (INITIALIZED) return err(E_BAD_CONFIG, -1, 0);
  if (nb < 1 || nb > (1 << 24)) return err(E_BAD_CONFIG, CFG_NUM_BLOCKS, nb);
  if (bs < 1 || bs > 256 || popcnt<i32>(bs) != 1) return err(E_BAD_CONFIG, CFG_BLOCK_SIZE, bs);
  if (w < 0) return err(E_BAD_CONFIG, CFG_SLIDING_WINDOW, w);
  if (w > 0 && (nsb < 2 || nsb > (1 << 24))) return err(E_BAD_CONFIG, CFG_NUM_SLIDING_BLOCKS, nsb);
  if (s < 1 || s > (1 << 16)) return err(E_BAD_CONFIG, CFG_MAX_NUM_SEQS, s);
  if (t < 1 || t > (1 << 24)) return err(E_BAD_CONFIG, CFG_MAX_NUM_BATCHED_TOKENS, t);
  if (l < 1 || l > (1 << 24)) return err(E_BAD_CONFIG, CFG_MAX_MODEL_LEN, l);
  if (r < s || r > (1 << 20)) return err(E_BAD_CONFIG, CFG_MAX_REQUESTS, r);
  setConfig(nb, bs, w, nsb, s, t, l, r, pc != 0);
  // Carve every region (addresses only; nothing is written before the memory is big enough).
  poolInit(pool(0), NB, 0);
  if (W > 0) poolInit(pool(1), NSB, 1);
  tablesInit(); requestsInit(); schedulerInit(); metadataInit();
  INPUT_TOKENS = carve(<i64>MB * BS << 2);
  const end = carvedEnd();
  if (end < 0) return err(E_OUT_OF_MEMORY, 65536, memory.size()); // needs 4 GiB or more
  const pages = <i32>((end + 0xffff) >> 16);
  const have = memory.size();
  if (pages > have && memory.grow(pages - have) < 0) return err(E_OUT_OF_MEMORY, pages, have);
  memory.fill(HDR, 0, <usize>HEADER_WORDS << 2);
  hset(H_MAGIC, MAGIC); hset(H_VERSION, LAYOUT_VERSION);
  hset(H_CFG_NUM_BLOCKS, NB); hset(H_CFG_BLOCK_SIZE, BS); hset(H_CFG_SLIDING_WINDOW, W);
  hset(H_CFG_NUM_SLIDING_BLOCKS, NSB); hset(H_CFG_MAX_NUM_SEQS, S); hset(H_CFG_MAX_NUM_BATCHED_TOKENS, T);
  hset(H_CFG_MAX_MODEL_LEN, L); hset(H_CFG_MAX_REQUESTS, R); hset(H_CFG_PREFIX_CACHING, PC ? 1 : 0);
  hset(H_CFG_MAX_BLOCKS_PER_SEQ, MB); hset(H_CFG_NUM_GROUPS, W > 0 ? 2 : 1); hset(H_MEMORY_BYTES, <i32>end);
  hset(H_P_QUERY_START_LOC, <i32>QSL); hset(H_P_SEQ_LENS, <i32>SEQ_LENS); hset(H_P_CONTEXT_LENS, <i32>CTX_LENS);
  hset(H_P_QUERY_LENS, <i32>QUERY_LENS); hset(H_P_REQUEST_IDS, <i32>REQUEST_IDS); hset(H_P_SAMPLE, <i32>SAMPLE);
  hset(H_P_SAMPLED_TOKENS, <i32>SAMPLED); hset(H_P_BLOCK_TABLE, <i32>BLOCK_TABLE);
  hset(H_P_SLOT_MAPPING, <i32>SLOT_MAPPING); hset(H_P_SLIDING_BLOCK_TABLE, <i32>SLID_BLOCK_TABLE);
  hset(H_P_SLIDING_SLOT_MAPPING, <i32>SLID_SLOT_MAPPING); hset(H_P_FINISHED_IDS, <i32>FINISHED);
  hset(H_P_FINISHED_REASONS, <i32>FINISHED_REASONS);
  hset(H_P_INPUT_TOKENS, <i32>INPUT_TOKENS); hset(H_P_REQ_STATE, <i32>REQ_STATE); hset(H_P_REQ_EXT_ID, <i32>REQ_EXT);
  hset(H_P_REQ_NUM_TOKENS, <i32>REQ_NTOK); hset(H_P_REQ_NUM_COMPUTED, <i32>REQ_NCOMP);
  hset(H_P_REQ_NUM_GENERATED, <i32>REQ_NGEN); hset(H_P_REQ_MAX_NEW, <i32>REQ_MAXNEW); hset(H_P_REQ_ROW, <i32>REQ_ROW);
  hset(H_P_ROW_FULL, <i32>ROW_FULL); hset(H_P_ROW_FULL_LEN, <i32>ROW_FULL_LEN); hset(H_P_ROW_SLIDING, <i32>ROW_SLID);
  hset(H_P_ROW_SLIDING_LEN, <i32>ROW_SLID_LEN); hset(H_P_ROW_SLIDING_START, <i32>ROW_SLID_START);
  hset(H_P_BLOCKS_FULL, <i32>pool(0).blocks); hset(H_P_BLOCKS_SLIDING, W > 0 ? <i32>pool(1).blocks : 0);
  hset(H_P_RUN_LIST, <i32>RUN_LIST);
  poolReset(pool(0));
  if (W > 0) poolReset(pool(1));
  tablesReset(); requestsReset(); schedulerReset(); metadataReset();
  finCount = 0; finReported = false;
  setInitialized();
  publishStats();
  return OK;
}

export function inputTokensPtr(): usize { return INPUT_TOKENS; }

function publishStats(): void {
  hset(H_RUNNING, runCount); hset(H_WAITING, waitCount);
  hset(H_FREE_FULL, pool(0).numFree); hset(H_CACHED_FULL, pool(0).numCached);
  if (W > 0) { hset(H_FREE_SLIDING, pool(1).numFree); hset(H_CACHED_SLIDING, pool(1).numCached); }
  publish();
}

/**
 * The last write of every call: a sequentially consistent atomic add. A reader in another thread
 * that does Atomics.load of this word (src/wasm/views.ts, after the call's reply) is then ordered
 * after every plain write the call made, by the memory model and not only by postMessage.
 */
@inline function publish(): void { atomic.add<i32>(HDR + (<usize>H_PUBLISH << 2), 1); }

/** The matching load for what TS wrote before calling (EngineViews.release()). */
@inline function acquire(): void { atomic.load<i32>(HDR + (<usize>H_PUBLISH << 2)); }

/** Sliding blocks one sequence of `total` tokens may hold at once (window + a chunk, straddling). */
function slidingNeed(total: i32): i32 {
  const chunk = T < total ? T : total;
  const a = blocksFor(total), b = blocksFor(W - 1 + chunk) + 1;
  return a < b ? a : b;
}

/**
 * Adds a request; `withTokens` = 1 when its promptLen token ids are at inputTokensPtr() (enables its
 * prefix caching). Returns the request's slot (>= 0) or an error.
 */
export function addRequest(extId: i32, promptLen: i32, maxNew: i32, withTokens: i32): i32 {
  if (!INITIALIZED) return E_NOT_INIT;
  if (promptLen < 1) return err(E_EMPTY_PROMPT, promptLen, 0);
  if (maxNew < 1) return err(E_BAD_MAX_NEW_TOKENS, maxNew, 0);
  const total = promptLen + maxNew;
  if (total > L || total < 0) return err(E_SEQUENCE_TOO_LONG, total, L);
  if (blocksFor(total) > NB) return err(E_EXCEEDS_CACHE, blocksFor(total), NB);
  if (W > 0 && slidingNeed(total) > NSB - 1) return err(E_EXCEEDS_CACHE, slidingNeed(total), NSB - 1);
  if (!hasFreeSlot()) return err(E_TOO_MANY_REQUESTS, R, 0);
  acquire(); // the prompt tokens were written by TS (another thread, with a worker)
  const r = slotCreate(extId, promptLen, maxNew, withTokens != 0 ? INPUT_TOKENS : 0);
  waitPushBack(r);
  publishStats();
  return r;
}

function checkSlot(r: i32): i32 {
  if (!INITIALIZED) return E_NOT_INIT;
  if (r < 0 || r >= R || ld(REQ_STATE, r) == REQ_FREE) return err(E_UNKNOWN_REQUEST, r, 0);
  return OK;
}

/** Ends a request wherever it is; `stopped` = 1 reports it as Stopped (finish), else Aborted. */
export function removeRequest(r: i32, stopped: i32): i32 {
  const e = checkSlot(r);
  if (e != OK) return e;
  recordEnd(ld(REQ_EXT, r), stopped != 0 ? FINISH_STOPPED : FINISH_ABORTED);
  if (ld(REQ_STATE, r) == REQ_WAITING) waitRemove(r);
  else { dropRunning(r); runRemove(r); }
  slotFree(r);
  publishStats();
  return OK;
}

/** Plans a step and writes its metadata. Returns numSeqs or an error. */
export function step(): i32 {
  if (!INITIALIZED) return E_NOT_INIT;
  if (hget(H_PENDING) != 0) return E_STEP_NOT_COMMITTED;
  schedule();
  const ns = buildMetadata();
  hadd(H_STEP_ID, 1);
  hset(H_PENDING, 1);
  publishStats();
  return ns;
}

/**
 * Applies the executed plan: computed tokens advance, sampled tokens (SAMPLED) are appended, full
 * blocks enter the prefix cache, requests with all their tokens end. Entries of requests removed
 * since step() are skipped (their epoch changed). Returns how many ended since the last commit (ids in FINISHED).
 */
export function commit(): i32 {
  if (!INITIALIZED) return E_NOT_INIT;
  if (hget(H_PENDING) == 0) return E_NOTHING_TO_COMMIT;
  acquire(); // sampledTokens were written by TS
  if (finReported) { finCount = 0; finReported = false; }
  let finished = 0;
  for (let b = 0; b < numSeqs; b++) {
    const r = ld(SEQ_SLOT, b);
    if (ld(REQ_EPOCH, r) != ld(SEQ_EPOCH, b) || ld(REQ_STATE, r) != REQ_RUNNING) continue;
    st(REQ_NCOMP, r, ld(REQ_NCOMP, r) + ld(QUERY_LENS, b));
    if (ld(SAMPLE, b) != 0) {
      const ntok = ld(REQ_NTOK, r) + 1;
      st(REQ_NTOK, r, ntok);
      st(REQ_NGEN, r, ld(REQ_NGEN, r) + 1);
      hashAppend(r, ld(SAMPLED, b), ntok);
    }
    registerFullBlocks(r, ld(REQ_ROW, r));
    if (ld(REQ_NGEN, r) >= ld(REQ_MAXNEW, r)) {
      recordEnd(ld(REQ_EXT, r), FINISH_LENGTH);
      finished++;
      st(REQ_SCHED, r, -1);
      rowRelease(ld(REQ_ROW, r));
      st(REQ_ROW, r, -1);
      slotFree(r);
    }
  }
  if (finished > 0) compactRunning();
  hset(H_NUM_FINISHED, finCount);
  finReported = true;
  hset(H_PENDING, 0);
  publishStats();
  return finCount;
}

function compactRunning(): void {
  let j = 0;
  for (let i = 0; i < runCount; i++) {
    const x = ld(RUN_LIST, i);
    if (ld(REQ_STATE, x) == REQ_RUNNING) st(RUN_LIST, j++, x);
  }
  setRunCount(j);
}

/** Test hook: the slot of the seq at batch position b of the current plan. */
export function seqSlot(b: i32): i32 { return b >= 0 && b < numSeqs ? ld(SEQ_SLOT, b) : -1; }
