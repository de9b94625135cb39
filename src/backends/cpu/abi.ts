// The TS side of native-cpu/abi.h: the AttnParams field order (one 4-byte slot each) and the ABI
// version. The loader checks sinkrt_abi_version() and sinkrt_params_bytes() against these, so a WASM
// built from other sources fails at start-up with a clear error, not with garbage at the first step.

export const CPU_ABI_VERSION = 2;

/** AttnParams fields in native-cpu/abi.h order; the value is the slot index (byte offset / 4). */
export const PARAM = {
  numQueryHeads: 0,
  numKvHeads: 1,
  headSize: 2,
  blockSize: 3,
  numBlocks: 4,
  dtype: 5,
  scale: 6,
  slidingWindow: 7,
  softcap: 8,
  sinks: 9,
  queryStartLoc: 10,
  seqLens: 11,
  contextLens: 12,
  blockTable: 13,
  maxBlocksPerSeq: 14,
  seqBegin: 15,
  seqEnd: 16,
  query: 17,
  keyCache: 18,
  valueCache: 19,
  output: 20,
  lse: 21,
  scratch: 22,
  scratchFloats: 23,
  segmentLen: 24,
  maxSeqLen: 25,
} as const;

export const PARAM_COUNT = 26;
export const PARAM_BYTES = PARAM_COUNT * 4;

/** Float fields; every other field is an int32 or a wasm32 pointer. */
export const FLOAT_PARAMS: ReadonlySet<number> = new Set([PARAM.scale, PARAM.softcap]);

/** Cache storage codes (SINKRT_F32, SINKRT_F16, SINKRT_BF16). */
export const DTYPE_CODE = { f32: 0, f16: 1, bf16: 2 } as const;

/** Kernel status codes (SINKRT_E_*) and what they mean. */
export const STATUS_TEXT: Record<number, string> = {
  [-1]: 'scratch smaller than the kernel asked for',
  [-2]: 'headSize not a positive multiple of 4, or a bad GQA group',
  [-3]: 'a block id outside [0, numBlocks)',
};

/** Exports of build/cpu/sinkrt_cpu.wasm (pointers are wasm32 offsets; read them with >>> 0). */
export interface CpuExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  sinkrt_abi_version(): number;
  sinkrt_params_bytes(): number;
  sinkrt_alloc(bytes: number): number;
  sinkrt_free(ptr: number): void;
  sinkrt_to_storage(src: number, dst: number, n: number, dtype: number): void;
  sinkrt_from_storage(src: number, dst: number, n: number, dtype: number): void;
  sinkrt_copy(dst: number, src: number, n: number): void;
  sinkrt_memcpy(dst: number, src: number, bytes: number): void;
  sinkrt_read_sum(src: number, n: number): number;
  sinkrt_reshape_and_cache(
    key: number, value: number, slotMapping: number, numTokens: number, rowFloats: number, numSlots: number,
    keyCache: number, valueCache: number, dtype: number,
  ): number;
  sinkrt_paged_decode(params: number): number;
  sinkrt_paged_decode_scratch_floats(params: number): number;
  sinkrt_unified_attention(params: number): number;
  sinkrt_unified_attention_scratch_floats(params: number): number;
}
