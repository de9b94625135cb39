// The named table of batch shapes every backend is tested over. One table, every backend: a shape
// that only one backend runs is not conformance. Each entry says what it is there to catch.
//
// Terms: a decode has queryLen 1 (decodeQueryLen for speculative decoding); an extend has a cached
// context plus new tokens; a prefill has no context. The batch is ordered decode, extend, prefill.
// 'small' sinks are O(1) logits; 'large' sinks (6..10, one head -inf) dominate the softmax, so
// an output that mishandles them is far off. Contexts of 1000+ tokens span many kernel tiles and
// several split-KV segments; extends of 700+ context tokens span several context chunks.

export type SinkKind = 'none' | 'small' | 'large';

export interface BatchShape {
  name: string;
  numQueryHeads: number;
  numKvHeads: number;
  headSize: 64 | 128 | 256;
  blockSize: 16 | 32 | 64;
  /** 0 = full attention. */
  slidingWindow: number;
  /** 0 = none. */
  softcap: number;
  sinks: SinkKind;
  /** Context length of each decode sequence. */
  decodes: readonly number[];
  /** Query tokens per decode sequence (default 1). */
  decodeQueryLen?: number;
  /** [contextLen, queryLen] of each extend sequence. */
  extends: ReadonlyArray<readonly [number, number]>;
  /** queryLen of each prefill sequence. */
  prefills: readonly number[];
  /** Shuffle block ids so no sequence's blocks are contiguous or ordered. */
  shuffle: boolean;
  /** Trailing padding rows (slot -1, output unspecified). */
  padTokens: number;
  /**
   * Multiplies the new tokens' queries (default 1). Queries and keys are uniform in [-1, 1], so at
   * scale 1/sqrt(D) logits have a std of ~0.33 and attention is nearly flat; trained models put
   * logits tens of units apart. A queryScale of 40 at D = 64 gives a std of ~13 (peaked attention),
   * where arithmetic done in low precision on the logits or on long sums shows.
   */
  queryScale?: number;
  /** What the shape is for; suites may filter on tags ('heavy' = slow on software adapters). */
  tags: readonly string[];
}

const base = { softcap: 0, slidingWindow: 0, decodes: [] as number[], extends: [] as Array<[number, number]>, prefills: [] as number[], shuffle: true, padTokens: 0 };

export const BATCH_SHAPES: readonly BatchShape[] = [
  { ...base, name: 'decode-mqa-small-sinks', numQueryHeads: 8, numKvHeads: 1, headSize: 64, blockSize: 16, sinks: 'small',
    decodes: [1, 17, 100, 300], tags: ['decode', 'gqa'] },
  { ...base, name: 'decode-gptoss-large-sinks', numQueryHeads: 64, numKvHeads: 8, headSize: 64, blockSize: 16, sinks: 'large',
    decodes: [1000, 2500, 37, 1], tags: ['decode', 'gqa', 'many-tiles', 'split-kv'] },
  { ...base, name: 'decode-gptoss-window-128', numQueryHeads: 64, numKvHeads: 8, headSize: 64, blockSize: 16, sinks: 'large',
    slidingWindow: 128, decodes: [5, 127, 128, 129, 1500], tags: ['decode', 'gqa', 'window'] },
  { ...base, name: 'decode-mha-no-sinks-h128', numQueryHeads: 4, numKvHeads: 4, headSize: 128, blockSize: 32, sinks: 'none',
    decodes: [33, 700], tags: ['decode', 'no-sinks'] },
  { ...base, name: 'decode-long-8k-large-sinks', numQueryHeads: 8, numKvHeads: 1, headSize: 64, blockSize: 16, sinks: 'large',
    decodes: [8192, 3], tags: ['decode', 'many-tiles', 'split-kv', 'heavy'] },
  { ...base, name: 'decode-speculative-q3', numQueryHeads: 8, numKvHeads: 1, headSize: 64, blockSize: 16, sinks: 'large',
    decodes: [40, 200], decodeQueryLen: 3, tags: ['decode', 'spec'] },
  { ...base, name: 'prefill-varlen-h128', numQueryHeads: 8, numKvHeads: 1, headSize: 128, blockSize: 32, sinks: 'small',
    prefills: [1, 37, 300], tags: ['prefill', 'many-tiles'] },
  { ...base, name: 'prefill-gptoss-window-large-sinks', numQueryHeads: 64, numKvHeads: 8, headSize: 64, blockSize: 16,
    sinks: 'large', slidingWindow: 128, prefills: [260, 130], tags: ['prefill', 'window', 'gqa', 'heavy'] },
  { ...base, name: 'prefill-no-sinks', numQueryHeads: 8, numKvHeads: 8, headSize: 64, blockSize: 64, sinks: 'none',
    prefills: [200, 65], tags: ['prefill', 'no-sinks'] },
  { ...base, name: 'mixed-decode-extend-prefill-padded', numQueryHeads: 8, numKvHeads: 1, headSize: 64, blockSize: 16,
    sinks: 'small', decodes: [50, 513], extends: [[64, 30], [200, 77]], prefills: [45], padTokens: 3,
    tags: ['mixed', 'padding'] },
  { ...base, name: 'extend-several-chunks-large-sinks', numQueryHeads: 8, numKvHeads: 2, headSize: 128, blockSize: 64,
    sinks: 'large', extends: [[2000, 16], [700, 48]], tags: ['extend', 'chunks', 'many-tiles', 'heavy'] },
  { ...base, name: 'mixed-window-chunks', numQueryHeads: 16, numKvHeads: 2, headSize: 64, blockSize: 32, sinks: 'large',
    slidingWindow: 128, decodes: [900], extends: [[1000, 150], [90, 10]], prefills: [300], tags: ['mixed', 'window', 'chunks'] },
  { ...base, name: 'mixed-h256-softcap', numQueryHeads: 4, numKvHeads: 1, headSize: 256, blockSize: 32, sinks: 'large',
    softcap: 30, decodes: [300], extends: [[100, 20]], prefills: [50], tags: ['mixed', 'softcap', 'h256'] },
  { ...base, name: 'mixed-softcap-small-sinks', numQueryHeads: 8, numKvHeads: 1, headSize: 64, blockSize: 16, sinks: 'small',
    softcap: 20, decodes: [77], extends: [[33, 5]], prefills: [19], padTokens: 2, tags: ['mixed', 'softcap', 'padding'] },
  { ...base, name: 'mha-1-1-long-context', numQueryHeads: 1, numKvHeads: 1, headSize: 64, blockSize: 64, sinks: 'large',
    decodes: [3000], prefills: [100], tags: ['mixed', 'many-tiles', 'split-kv'] },
  { ...base, name: 'decode-gptoss-peaked-logits', numQueryHeads: 64, numKvHeads: 8, headSize: 64, blockSize: 16, sinks: 'large',
    queryScale: 40, decodes: [1200, 300, 2], tags: ['decode', 'gqa', 'peaked', 'split-kv'] },
  { ...base, name: 'mixed-gptoss-peaked-logits-window', numQueryHeads: 64, numKvHeads: 8, headSize: 64, blockSize: 16,
    sinks: 'small', slidingWindow: 128, queryScale: 40, decodes: [400], extends: [[150, 40]], prefills: [90],
    tags: ['mixed', 'gqa', 'window', 'peaked'] },
  { ...base, name: 'decode-ordered-blocks-no-sinks-window', numQueryHeads: 8, numKvHeads: 1, headSize: 128, blockSize: 64,
    sinks: 'none', slidingWindow: 128, shuffle: false, decodes: [64, 1000], tags: ['decode', 'window', 'no-sinks'] },
];

export function shapeByName(name: string): BatchShape {
  const s = BATCH_SHAPES.find((x) => x.name === name);
  if (!s) throw new Error(`no batch shape named ${JSON.stringify(name)}; known: ${BATCH_SHAPES.map((x) => x.name).join(', ')}`);
  return s;
}
