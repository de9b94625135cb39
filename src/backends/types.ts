// The shared vocabulary of every backend: layer configuration, paged-cache geometry, per-step
// metadata and the inputs/outputs of one attention call. Words follow vLLM (seqLen, queryLen,
// contextLen, blockSize, slot, blockTable); `sinks` are the learned per-head logits.
//
// Tensor layouts (row-major, innermost last), identical on every backend:
//   query            [numTokens, numQueryHeads, headSize]
//   key, value (new) [numTokens, numKvHeads, headSize]
//   keyCache/valueCache [numBlocks, blockSize, numKvHeads, headSize]   (vLLM "NHD" flash layout)
//   output           [numTokens, numQueryHeads, headSize]
//   lse              [numTokens, numQueryHeads]         (natural log, includes the sink)
//   blockTable       [numSeqs, maxBlocksPerSeq]           (int32; unused entries are ignored)
// A cache slot is block * blockSize + offset; slot -1 means padding (no write).

export type Dtype = 'f32' | 'f16' | 'bf16';

export type AttentionPath = 'decode' | 'extend' | 'prefill';

/** What one attention layer needs; fixed at model load. */
export interface LayerConfig {
  numQueryHeads: number;
  numKvHeads: number;
  headSize: number;
  /** Multiplier on q.k; usually 1/sqrt(headSize). */
  scale: number;
  /** Sliding window W in tokens (key pos > query pos - W), or 0 for full attention. */
  slidingWindow: number;
  /** Logit softcap c (c * tanh(l / c)), or 0 for none. Never applied to sinks. */
  softcap: number;
  /** One fp32 logit per query head (natural-log units), or null for no sinks (s = -inf). */
  sinks: Float32Array | null;
}

/** Geometry of the paged KV cache of one layer. */
export interface CacheConfig {
  numBlocks: number;
  blockSize: number;
  dtype: Dtype;
}

/**
 * Per-step metadata (vLLM contract). The batch is ordered decode, then extend, then prefill,
 * so each path is one contiguous range of sequences: decode [0, numDecodes),
 * extend [numDecodes, numDecodes + numExtends), prefill [.., numSeqs).
 * Tokens past queryStartLoc[numSeqs] (up to numTokens) are padding: slot -1, output unspecified.
 */
export interface StepMetadata {
  numSeqs: number;
  /** Rows of query/key/value/output, padding included. */
  numTokens: number;
  /** [numSeqs + 1] prefix sums of queryLen. */
  queryStartLoc: Int32Array;
  /** [numSeqs] contextLen + queryLen. */
  seqLens: Int32Array;
  /** [numSeqs] tokens already in the cache before this step. */
  contextLens: Int32Array;
  /** [numSeqs * maxBlocksPerSeq] block ids. */
  blockTable: Int32Array;
  maxBlocksPerSeq: number;
  /** [numTokens] cache slot of each new token, -1 = padding (no write). */
  slotMapping: Int32Array;
  numDecodes: number;
  numExtends: number;
  numPrefills: number;
  /** Largest queryLen in the batch / in the decode range. */
  maxQueryLen: number;
  maxDecodeQueryLen: number;
  maxSeqLen: number;
}

/** Host-side (CPU, float) view of one step's tensors; GPU backends upload these. */
export interface HostTensors {
  query: Float32Array;
  key: Float32Array;
  value: Float32Array;
  keyCache: Float32Array;
  valueCache: Float32Array;
}

export interface AttentionOutput {
  output: Float64Array | Float32Array;
  lse: Float64Array | Float32Array;
}

/** A typed error that names the field, the rule and the value. */
export class SinkrtError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SinkrtError';
    this.code = code;
  }
}
