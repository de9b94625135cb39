// Shared-memory layout of the engine: the one definition (STYLE rule 5). src/wasm/layout.ts mirrors the
// H_* word offsets and test/engine/layout.test.ts checks that both agree, name by name.
//
// The memory is one shared WebAssembly.Memory (SharedArrayBuffer), imported by the module. It grows
// once, inside init(), before TS builds any view; nothing allocates after that.
//
//   0            __heap_base                                   end (pages * 64 KiB)
//   | AS statics | HEADER (80 i32 words) | regions, 64-byte aligned, carved in init() ... |
//
// HEADER (i32 words; headerPtr() gives its byte address)
//   word  0 magic 0x534b5254 ('SKRT')    1 layout version
//   words 2..13   config as accepted by init(), memory size (H_CFG_*, H_MEMORY_BYTES)
//   words 14..41  byte addresses of the regions below      (H_P_*)
//   words 42..54  the current step: counts and ranges       (H_STEP_ID ... H_METADATA_BYTES)
//   words 55..64  stats and error detail                    (H_RUNNING ... H_ERR_ARG1)
//   words 65..67  finishedReasons address, dropped ends, publish counter; 68..79 spare
//
// STEP METADATA (written by step(), read in place by TS until the next step(); S = maxNumSeqs,
// T = maxNumBatchedTokens, MB = maxBlocksPerSeq = the row stride of every block table:
// ceil(maxModelLen / blockSize) rounded up to 16, plus 16 so rows do not alias in caches). Batch order:
//   seq index  0 ........ numDecodes ........ +numExtends ........ numSeqs
//              |  decode (queryLen 1)  |  extend (context > 0)  |  prefill (context 0) |
//
//   queryStartLoc   i32[S + 1]   prefix sums of queryLen; rows of seq i are [qsl[i], qsl[i+1])
//   seqLens         i32[S]       contextLen + queryLen
//   contextLens     i32[S]       tokens of the seq already in the cache before this step
//   queryLens       i32[S]       new tokens of the seq this step (its rows of q/k/v/output)
//   requestIds      i32[S]       the caller's request id of each seq
//   sample          i32[S]       1 = the seq's last row is a sampling position this step
//   sampledTokens   i32[S]       INPUT, written by TS before commit(): the token sampled for seq i
//   blockTable      i32[S * MB]  full group: row i = blocks of seq i by logical index; entries past
//                                ceil(seqLens[i] / blockSize) are stale and must be ignored
//   slotMapping     i32[T]       full group: cache slot of each new token (block * blockSize + offset)
//   slidingBlockTable i32[S*MB]  sliding group: same rows; blocks that fell out of the window read 0,
//                                the null block (never allocated, so reading it is never out of bounds)
//   slidingSlotMapping i32[T]    sliding group slots
//   finishedIds     i32[F]       after commit(): ids that ended since the previous commit: by abort()/
//   finishedReasons i32[F]       finish() (reasons 3/2) and, in commit, by their last token (reason 1).
//                                F = 2 * maxRequests + maxNumSeqs; an end past F is only counted
//                                (H_FINISHED_DROPPED). Valid until the next engine call.
//   inputTokens     i32[MB * blockSize]  INPUT for addRequest: the prompt's token ids
//
// KV GROUPS. Group 0 (full layers) and group 1 (sliding layers, only when slidingWindow W > 0) have
// their own pools, block tables and slot mappings over one batch. A full-group row holds every
// block of the sequence; a sliding-group row keeps only blocks with a key the next query can see:
//
//   sliding row, blockSize 8, W = 16, a decode at position 40 (it sees keys 25..40):
//     logical block   0     1     2    |  3     4     5
//     positions      0-7   8-15  16-23 | 24-31 32-39 40-47
//     entry           0     0     0    |  17    4     9     (0 = null block: released, every key < 25)
//
// So per sequence a full layer's cache holds ceil(L / blockSize) blocks and a sliding layer's at most
// ceil((W - 1 + chunk) / blockSize) + 1; numBlocks and numSlidingBlocks size the two pools (each
// full layer's cache tensor has numBlocks blocks, each sliding layer's numSlidingBlocks).
//
// INTERNAL (read by tests to check invariants; R = maxRequests)
//   reqState i32[R] (0 free, 1 waiting, 2 running)   reqExtId, reqNumTokens, reqNumComputed,
//   reqNumGenerated, reqMaxNew, reqRow i32[R]; rowFull i32[S * MB], rowFullLen i32[S];
//   rowSliding i32[S * MB], rowSlidingLen i32[S] (logical length), rowSlidingStart i32[S] (first live);
//   blocksFull / blocksSliding: one 16-byte record per block (kv/pool.ts): ringPos, refcount,
//   hash u64; runList i32[S].

export const MAGIC: i32 = 0x534b5254;
export const LAYOUT_VERSION: i32 = 1;
export const HEADER_WORDS: i32 = 80;

export const H_MAGIC: i32 = 0;
export const H_VERSION: i32 = 1;
// config
export const H_CFG_NUM_BLOCKS: i32 = 2;
export const H_CFG_BLOCK_SIZE: i32 = 3;
export const H_CFG_SLIDING_WINDOW: i32 = 4;
export const H_CFG_NUM_SLIDING_BLOCKS: i32 = 5;
export const H_CFG_MAX_NUM_SEQS: i32 = 6;
export const H_CFG_MAX_NUM_BATCHED_TOKENS: i32 = 7;
export const H_CFG_MAX_MODEL_LEN: i32 = 8;
export const H_CFG_MAX_REQUESTS: i32 = 9;
export const H_CFG_PREFIX_CACHING: i32 = 10;
export const H_CFG_MAX_BLOCKS_PER_SEQ: i32 = 11;
export const H_CFG_NUM_GROUPS: i32 = 12;
export const H_MEMORY_BYTES: i32 = 13;
// region byte addresses
export const H_P_QUERY_START_LOC: i32 = 14;
export const H_P_SEQ_LENS: i32 = 15;
export const H_P_CONTEXT_LENS: i32 = 16;
export const H_P_QUERY_LENS: i32 = 17;
export const H_P_REQUEST_IDS: i32 = 18;
export const H_P_SAMPLE: i32 = 19;
export const H_P_SAMPLED_TOKENS: i32 = 20;
export const H_P_BLOCK_TABLE: i32 = 21;
export const H_P_SLOT_MAPPING: i32 = 22;
export const H_P_SLIDING_BLOCK_TABLE: i32 = 23;
export const H_P_SLIDING_SLOT_MAPPING: i32 = 24;
export const H_P_FINISHED_IDS: i32 = 25;
export const H_P_INPUT_TOKENS: i32 = 26;
export const H_P_REQ_STATE: i32 = 27;
export const H_P_REQ_EXT_ID: i32 = 28;
export const H_P_REQ_NUM_TOKENS: i32 = 29;
export const H_P_REQ_NUM_COMPUTED: i32 = 30;
export const H_P_REQ_NUM_GENERATED: i32 = 31;
export const H_P_REQ_MAX_NEW: i32 = 32;
export const H_P_REQ_ROW: i32 = 33;
export const H_P_ROW_FULL: i32 = 34;
export const H_P_ROW_FULL_LEN: i32 = 35;
export const H_P_ROW_SLIDING: i32 = 36;
export const H_P_ROW_SLIDING_LEN: i32 = 37;
export const H_P_ROW_SLIDING_START: i32 = 38;
/** Block records of each group's pool (see BLOCK_BYTES). */
export const H_P_BLOCKS_FULL: i32 = 39;
export const H_P_BLOCKS_SLIDING: i32 = 40;
export const H_P_RUN_LIST: i32 = 41;
// the current step
export const H_STEP_ID: i32 = 42;
export const H_NUM_SEQS: i32 = 43;
export const H_NUM_TOKENS: i32 = 44;
export const H_NUM_DECODES: i32 = 45;
export const H_NUM_EXTENDS: i32 = 46;
export const H_NUM_PREFILLS: i32 = 47;
export const H_MAX_QUERY_LEN: i32 = 48;
export const H_MAX_DECODE_QUERY_LEN: i32 = 49;
export const H_MAX_SEQ_LEN: i32 = 50;
export const H_NUM_PREEMPTED: i32 = 51;
export const H_NUM_FINISHED: i32 = 52;
/** 1 between step() and commit(). */
export const H_PENDING: i32 = 53;
/** Bytes of metadata a consumer sees this step (all arrays, used block-table entries only). */
export const H_METADATA_BYTES: i32 = 54;
// stats
export const H_RUNNING: i32 = 55;
export const H_WAITING: i32 = 56;
export const H_PREEMPTIONS: i32 = 57;
export const H_PREFIX_HIT_TOKENS: i32 = 58;
export const H_FREE_FULL: i32 = 59;
export const H_CACHED_FULL: i32 = 60;
export const H_FREE_SLIDING: i32 = 61;
export const H_CACHED_SLIDING: i32 = 62;
export const H_ERR_ARG0: i32 = 63;
export const H_ERR_ARG1: i32 = 64;
export const H_P_FINISHED_REASONS: i32 = 65;
/** Ends not listed because the finished list was full (see FINISHED in the drawing). */
export const H_FINISHED_DROPPED: i32 = 66;
/** Bumped atomically as the last write of every call (see publish() in index.ts). */
export const H_PUBLISH: i32 = 67;
// words 68..79 are reserved for growth.

// Block record (kv/pool.ts): byte size and byte offsets of its fields.
export const BLOCK_BYTES: i32 = 16;
export const BLK_RING_POS: i32 = 0;
export const BLK_REFCOUNT: i32 = 4;
export const BLK_HASH: i32 = 8;

// Why a request ended (finishedReasons).
export const FINISH_LENGTH: i32 = 1;
export const FINISH_STOPPED: i32 = 2;
export const FINISH_ABORTED: i32 = 3;

// Config field ids (E_BAD_CONFIG's ERR_ARG0), in init()'s argument order.
export const CFG_NUM_BLOCKS: i32 = 0;
export const CFG_BLOCK_SIZE: i32 = 1;
export const CFG_SLIDING_WINDOW: i32 = 2;
export const CFG_NUM_SLIDING_BLOCKS: i32 = 3;
export const CFG_MAX_NUM_SEQS: i32 = 4;
export const CFG_MAX_NUM_BATCHED_TOKENS: i32 = 5;
export const CFG_MAX_MODEL_LEN: i32 = 6;
export const CFG_MAX_REQUESTS: i32 = 7;

// Request states (reqState).
export const REQ_FREE: i32 = 0;
export const REQ_WAITING: i32 = 1;
export const REQ_RUNNING: i32 = 2;
