// The public engine API: what the runtime (createRuntime) sees of the WASM scheduler.
//
// Two ways to run the same engine, one interface:
//   - createEngine({ ...config })           in this thread (tests, CLI reference checks): src/runtime/engine-client.ts
//   - createEngine({ ..., worker: true })   in a worker_threads Worker / Web Worker behind comlink
// Control calls (addRequest, abort, step, commit, stats) are async in both cases. Per-step data never
// crosses threads by message: it lives in a shared WebAssembly.Memory and `plan` exposes typed views
// over it in place (no copy, no structured clone).
//
// The step protocol, strictly alternating:
//   1. await engine.step()      the worker schedules and writes the step metadata into shared memory
//   2. read engine.plan         views over that metadata; valid until the next step()
//   3. run the backends         attention for every layer of both KV groups
//   4. write sampled tokens     engine.plan.sampledTokens[i] for every i with plan.sample[i] === 1
//   5. await engine.commit()    advances computed tokens, appends sampled tokens, finishes requests;
//                               plan.finishedIds/finishedReasons then list what ended
// step() before commit() of the previous plan rejects (STEP_NOT_COMMITTED).
//
// Batch layout: sequences are ordered decode, extend, prefill (numDecodes/numExtends/numPrefills);
// inside a range the order is not the arrival order (a sequence keeps its row from step to step so its
// block-table row is not rewritten), so always go through requestIds[i]. Block-table rows have the
// stride plan.full.maxBlocksPerSeq, which is larger than ceil(maxModelLen / blockSize) (padding that
// keeps rows from aliasing in CPU caches); use it, never recompute it.
//
// KV layer groups (GPT-OSS alternates full-attention and 128-token sliding-window layers):
//   - 'full': every layer with slidingWindow 0. A sequence of L tokens holds ceil(L / blockSize) blocks.
//   - 'sliding': every layer with slidingWindow W (only when config.slidingWindow > 0). Its own pool of
//     numSlidingBlocks blocks; a sequence holds only the blocks that hold a key still visible to its next
//     query (position > nextPos - W), at most ceil((W - 1 + chunk) / blockSize) + 1 blocks. Entries of a
//     sliding block table for released blocks point at block 0, the null block, which is never allocated
//     (so a kernel that reads a whole row never reads out of bounds).
//   Memory per layer: full layers keep numBlocks * blockSize * numKvHeads * headSize * 2 (K and V)
//   elements, sliding layers numSlidingBlocks * ... . Both groups use the same blockSize and the same
//   batch (queryStartLoc, seqLens, contextLens); each has its own blockTable and slotMapping.

import type { StepMetadata } from '../backends/types.js';

export interface EngineConfig {
  /** Blocks in the full-attention group's pool (each full layer's cache has this many). */
  numBlocks: number;
  /** Tokens per block: 16, 32 or 64. */
  blockSize: number;
  /** Sliding window W of the sliding layers in tokens, or 0 when the model has no sliding layers. */
  slidingWindow: number;
  /** Blocks in the sliding group's pool, block 0 (the null block) included. Default: numBlocks. */
  numSlidingBlocks?: number;
  /** Most sequences running at once, and so most sequences in one step. */
  maxNumSeqs: number;
  /** Token budget of one step (sum of query lengths). */
  maxNumBatchedTokens: number;
  /** Most tokens of one sequence, prompt plus generated. */
  maxModelLen: number;
  /** Most requests known at once (waiting + running). Default: 4 * maxNumSeqs. */
  maxRequests?: number;
  /** Share full blocks between requests by a hash chained over their token ids. Default true. */
  enablePrefixCaching?: boolean;
}

export interface EngineOptions extends EngineConfig {
  /** Run the scheduler in a worker (worker_threads in Node, Web Worker in browsers). Default false. */
  worker?: boolean;
  /** Where the compiled engine is; default: build/engine.wasm of this package. */
  wasmUrl?: string | URL;
  /** Where the worker entry is (dist/src/runtime/engine-worker.js by default). */
  workerUrl?: string | URL;
}

/** Why a request left the engine (plan.finishedReasons). */
export const FinishReason = {
  /** Generated maxNewTokens tokens. */
  Length: 1,
  /** engine.finish(id) (e.g. the runtime saw an end-of-sequence token). */
  Stopped: 2,
  /** engine.abort(id). */
  Aborted: 3,
} as const;
export type FinishReason = (typeof FinishReason)[keyof typeof FinishReason];

/** What step() returns: the counts; the arrays are in `engine.plan`. */
export interface StepSummary {
  /** Increases by one per step(). */
  stepId: number;
  numSeqs: number;
  numTokens: number;
  numDecodes: number;
  numExtends: number;
  numPrefills: number;
  /** Requests preempted (blocks freed, sent back to waiting for recompute) while planning this step. */
  numPreempted: number;
}

/** What commit() returns. */
export interface CommitSummary {
  /** Requests that ended at this commit, or by abort/finish since the previous commit (plan.finishedIds). */
  numFinished: number;
}

export interface GroupStats {
  /** Blocks of the pool; for the sliding group, numSlidingBlocks - 1 (the null block is not counted). */
  totalBlocks: number;
  /** Blocks on no sequence: never used, or cached (evictable) blocks. */
  freeBlocks: number;
  /** Blocks held by at least one sequence. freeBlocks + usedBlocks = totalBlocks. */
  usedBlocks: number;
  /** Free blocks that still hold a prefix-cache entry. */
  cachedBlocks: number;
}

export interface EngineStats {
  running: number;
  waiting: number;
  /** Preemptions since init. */
  preemptions: number;
  /** Prompt tokens served from the prefix cache since init. */
  prefixHitTokens: number;
  steps: number;
  full: GroupStats;
  /** null when slidingWindow is 0. */
  sliding: GroupStats | null;
}

/**
 * Typed views over the current step's metadata, in the shared memory (no copies). Valid from the
 * step() that wrote them until the next step(); `finishedIds` is valid after commit().
 */
export interface StepPlan {
  readonly stepId: number;
  /** Metadata of the full-attention layers (vLLM contract, src/backends/types.ts). */
  readonly full: StepMetadata;
  /** Same batch, the sliding layers' blockTable/slotMapping; null when slidingWindow is 0. */
  readonly sliding: StepMetadata | null;
  /** [numSeqs] the request id of each sequence of the batch. */
  readonly requestIds: Int32Array;
  /** [numSeqs] query length (new tokens this step) of each sequence: its rows of q/k/v/output. */
  readonly queryLens: Int32Array;
  /** [numSeqs] 1 when the sequence's last row this step is a sampling position (write sampledTokens[i]). */
  readonly sample: Int32Array;
  /** [numSeqs] input: the token sampled for sequence i (read by commit() where sample[i] = 1). */
  readonly sampledTokens: Int32Array;
  /** After commit(): the ids that ended, and why (FinishReason). */
  readonly finishedIds: Int32Array;
  readonly finishedReasons: Int32Array;
}

export interface Engine {
  readonly config: Required<EngineConfig>;
  /** The views of the current step (see StepPlan). The same object for the engine's life. */
  readonly plan: StepPlan;
  /**
   * Adds a request. `prompt` is its token ids (enables prefix caching) or just its length.
   * Rejects with SinkrtError: DUPLICATE_REQUEST, EMPTY_PROMPT, BAD_MAX_NEW_TOKENS, SEQUENCE_TOO_LONG
   * (prompt + maxNewTokens > maxModelLen), EXCEEDS_CACHE (more than the cache can ever hold),
   * TOO_MANY_REQUESTS.
   */
  addRequest(id: number, prompt: Int32Array | number[] | number, maxNewTokens: number): Promise<void>;
  /** Removes a request wherever it is; its blocks are freed. UNKNOWN_REQUEST if not known. */
  abort(id: number): Promise<void>;
  /** Ends a request as Stopped (e.g. end-of-sequence) keeping its cached blocks. UNKNOWN_REQUEST if not known. */
  finish(id: number): Promise<void>;
  step(): Promise<StepSummary>;
  commit(): Promise<CommitSummary>;
  stats(): Promise<EngineStats>;
  /** True while any request is waiting or running. */
  hasWork(): Promise<boolean>;
  close(): Promise<void>;
}
