// Typed views over the engine's shared memory (layout: assembly/layout.ts, mirrored in ./layout.ts).
// Views are made once after init() (the memory never grows again) and sliced per step with
// subarray(): the step's arrays are read in place, never copied.

import type { StepMetadata } from '../backends/types.js';
import type { EngineConfig, EngineStats, GroupStats, StepPlan } from '../runtime/engine-api.js';
import * as L from './layout.js';

/** The StepPlan of engine-api.ts over the shared memory; `refresh()` re-slices after each step(). */
export class PlanViews implements StepPlan {
  stepId = 0;
  full: StepMetadata;
  sliding: StepMetadata | null;
  requestIds: Int32Array;
  queryLens: Int32Array;
  sample: Int32Array;
  sampledTokens: Int32Array;
  finishedIds: Int32Array;
  finishedReasons: Int32Array;

  constructor(private readonly v: EngineViews) {
    this.full = this.meta(0, false);
    this.sliding = v.config.slidingWindow > 0 ? this.meta(0, true) : null;
    this.requestIds = v.whole.requestIds.subarray(0, 0);
    this.queryLens = v.whole.queryLens.subarray(0, 0);
    this.sample = v.whole.sample.subarray(0, 0);
    this.sampledTokens = v.whole.sampledTokens.subarray(0, 0);
    this.finishedIds = v.whole.finishedIds.subarray(0, 0);
    this.finishedReasons = v.whole.finishedReasons.subarray(0, 0);
  }

  private meta(ns: number, sliding: boolean): StepMetadata {
    const h = this.v.header, w = this.v.whole;
    const nt = h[L.H_NUM_TOKENS];
    const mb = this.v.config.maxBlocksPerSeq;
    return {
      numSeqs: ns,
      numTokens: nt,
      queryStartLoc: w.queryStartLoc.subarray(0, ns + 1),
      seqLens: w.seqLens.subarray(0, ns),
      contextLens: w.contextLens.subarray(0, ns),
      blockTable: (sliding ? w.slidingBlockTable! : w.blockTable).subarray(0, ns * mb),
      maxBlocksPerSeq: mb,
      slotMapping: (sliding ? w.slidingSlotMapping! : w.slotMapping).subarray(0, nt),
      numDecodes: h[L.H_NUM_DECODES],
      numExtends: h[L.H_NUM_EXTENDS],
      numPrefills: h[L.H_NUM_PREFILLS],
      maxQueryLen: h[L.H_MAX_QUERY_LEN],
      maxDecodeQueryLen: h[L.H_MAX_DECODE_QUERY_LEN],
      maxSeqLen: h[L.H_MAX_SEQ_LEN],
    };
  }

  refresh(): void {
    this.v.acquire();
    const h = this.v.header, w = this.v.whole;
    const ns = h[L.H_NUM_SEQS];
    this.stepId = h[L.H_STEP_ID];
    this.full = this.meta(ns, false);
    this.sliding = this.v.config.slidingWindow > 0 ? this.meta(ns, true) : null;
    this.requestIds = w.requestIds.subarray(0, ns);
    this.queryLens = w.queryLens.subarray(0, ns);
    this.sample = w.sample.subarray(0, ns);
    this.sampledTokens = w.sampledTokens.subarray(0, ns);
    this.finishedIds = w.finishedIds.subarray(0, 0);
    this.finishedReasons = w.finishedReasons.subarray(0, 0);
  }

  refreshFinished(): void {
    this.v.acquire();
    const n = this.v.header[L.H_NUM_FINISHED];
    this.finishedIds = this.v.whole.finishedIds.subarray(0, n);
    this.finishedReasons = this.v.whole.finishedReasons.subarray(0, n);
  }
}

export type ResolvedConfig = Required<EngineConfig> & { maxBlocksPerSeq: number };

export class EngineViews {
  readonly header: Int32Array;
  readonly config: ResolvedConfig;
  /** Full-capacity views of every region (internal ones are for tests and invariant checks). */
  readonly whole: {
    queryStartLoc: Int32Array; seqLens: Int32Array; contextLens: Int32Array; queryLens: Int32Array;
    requestIds: Int32Array; sample: Int32Array; sampledTokens: Int32Array; blockTable: Int32Array;
    slotMapping: Int32Array; slidingBlockTable: Int32Array | null; slidingSlotMapping: Int32Array | null;
    finishedIds: Int32Array; finishedReasons: Int32Array; inputTokens: Int32Array;
    reqState: Int32Array; reqExtId: Int32Array; reqNumTokens: Int32Array; reqNumComputed: Int32Array;
    reqNumGenerated: Int32Array; reqMaxNew: Int32Array; reqRow: Int32Array;
    rowFull: Int32Array; rowFullLen: Int32Array; rowSliding: Int32Array | null; rowSlidingLen: Int32Array;
    rowSlidingStart: Int32Array; blocksFull: Int32Array; blocksSliding: Int32Array | null; runList: Int32Array;
  };
  readonly plan: PlanViews;

  constructor(readonly memory: WebAssembly.Memory, headerPtr: number) {
    // Read the buffer now, after init() grew the memory: a shared memory's buffer getter returns a
    // SharedArrayBuffer of the current length (one read before the growth would be too short).
    const buf = memory.buffer;
    const h = new Int32Array(buf, headerPtr, L.HEADER_WORDS);
    if (h[L.H_MAGIC] !== L.MAGIC || h[L.H_VERSION] !== L.LAYOUT_VERSION) {
      throw new Error(`engine: header magic/version ${h[L.H_MAGIC]}/${h[L.H_VERSION]} do not match this build`);
    }
    this.header = h;
    const sw = h[L.H_CFG_SLIDING_WINDOW];
    this.config = {
      numBlocks: h[L.H_CFG_NUM_BLOCKS],
      blockSize: h[L.H_CFG_BLOCK_SIZE],
      slidingWindow: sw,
      numSlidingBlocks: h[L.H_CFG_NUM_SLIDING_BLOCKS],
      maxNumSeqs: h[L.H_CFG_MAX_NUM_SEQS],
      maxNumBatchedTokens: h[L.H_CFG_MAX_NUM_BATCHED_TOKENS],
      maxModelLen: h[L.H_CFG_MAX_MODEL_LEN],
      maxRequests: h[L.H_CFG_MAX_REQUESTS],
      enablePrefixCaching: h[L.H_CFG_PREFIX_CACHING] !== 0,
      maxBlocksPerSeq: h[L.H_CFG_MAX_BLOCKS_PER_SEQ],
    };
    const c = this.config;
    const S = c.maxNumSeqs, T = c.maxNumBatchedTokens, MB = c.maxBlocksPerSeq, R = c.maxRequests;
    const at = (word: number, len: number) => new Int32Array(buf, h[word], len);
    const opt = (word: number, len: number) => (sw > 0 ? at(word, len) : null);
    this.whole = {
      queryStartLoc: at(L.H_P_QUERY_START_LOC, S + 1),
      seqLens: at(L.H_P_SEQ_LENS, S),
      contextLens: at(L.H_P_CONTEXT_LENS, S),
      queryLens: at(L.H_P_QUERY_LENS, S),
      requestIds: at(L.H_P_REQUEST_IDS, S),
      sample: at(L.H_P_SAMPLE, S),
      sampledTokens: at(L.H_P_SAMPLED_TOKENS, S),
      blockTable: at(L.H_P_BLOCK_TABLE, S * MB),
      slotMapping: at(L.H_P_SLOT_MAPPING, T),
      slidingBlockTable: opt(L.H_P_SLIDING_BLOCK_TABLE, S * MB),
      slidingSlotMapping: opt(L.H_P_SLIDING_SLOT_MAPPING, T),
      finishedIds: at(L.H_P_FINISHED_IDS, 2 * R + S),
      finishedReasons: at(L.H_P_FINISHED_REASONS, 2 * R + S),
      inputTokens: at(L.H_P_INPUT_TOKENS, MB * c.blockSize),
      reqState: at(L.H_P_REQ_STATE, R),
      reqExtId: at(L.H_P_REQ_EXT_ID, R),
      reqNumTokens: at(L.H_P_REQ_NUM_TOKENS, R),
      reqNumComputed: at(L.H_P_REQ_NUM_COMPUTED, R),
      reqNumGenerated: at(L.H_P_REQ_NUM_GENERATED, R),
      reqMaxNew: at(L.H_P_REQ_MAX_NEW, R),
      reqRow: at(L.H_P_REQ_ROW, R),
      rowFull: at(L.H_P_ROW_FULL, S * MB),
      rowFullLen: at(L.H_P_ROW_FULL_LEN, S),
      rowSliding: opt(L.H_P_ROW_SLIDING, S * MB),
      rowSlidingLen: at(L.H_P_ROW_SLIDING_LEN, S),
      rowSlidingStart: at(L.H_P_ROW_SLIDING_START, S),
      blocksFull: at(L.H_P_BLOCKS_FULL, (c.numBlocks * L.BLOCK_BYTES) >> 2),
      blocksSliding: opt(L.H_P_BLOCKS_SLIDING, (c.numSlidingBlocks * L.BLOCK_BYTES) >> 2),
      runList: at(L.H_P_RUN_LIST, S),
    };
    this.plan = new PlanViews(this);
  }

  /** Reference count of block b of group 0 (full) or 1 (sliding), read from its record. */
  refcount(group: 0 | 1, b: number): number {
    const recs = group === 0 ? this.whole.blocksFull : this.whole.blocksSliding!;
    return recs[((b * L.BLOCK_BYTES) + L.BLK_REFCOUNT) >> 2];
  }

  /**
   * Acquire side of the engine's publish(): call after an engine call returns (in a worker, after its
   * reply arrives) and before reading what it wrote.
   */
  acquire(): void {
    Atomics.load(this.header, L.H_PUBLISH);
  }

  /** Release side for the inputs TS writes (prompt tokens, sampled tokens) before an engine call. */
  release(): void {
    Atomics.add(this.header, L.H_PUBLISH, 1);
  }

  errArgs(): [number, number] {
    this.acquire();
    return [this.header[L.H_ERR_ARG0], this.header[L.H_ERR_ARG1]];
  }

  stats(): EngineStats {
    this.acquire();
    const h = this.header, c = this.config;
    const group = (total: number, free: number, cached: number): GroupStats => ({
      totalBlocks: total, freeBlocks: free, usedBlocks: total - free, cachedBlocks: cached,
    });
    return {
      running: h[L.H_RUNNING],
      waiting: h[L.H_WAITING],
      preemptions: h[L.H_PREEMPTIONS],
      prefixHitTokens: h[L.H_PREFIX_HIT_TOKENS],
      steps: h[L.H_STEP_ID],
      full: group(c.numBlocks, h[L.H_FREE_FULL], h[L.H_CACHED_FULL]),
      // The null block is never free and never used: it is not counted in the sliding group's total.
      sliding: c.slidingWindow > 0 ? group(c.numSlidingBlocks - 1, h[L.H_FREE_SLIDING], h[L.H_CACHED_SLIDING]) : null,
    };
  }
}
