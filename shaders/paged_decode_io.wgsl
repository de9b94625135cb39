// Shared piece of every paged_decode variant (kernels include it by name): the
// uniform parameters the host writes (step.ts, parameter slot 1) and the bindings. One definition,
// so the variants cannot drift from the host layout or from each other.
//   md: packed i32 metadata (plan.ts); query [numTokens, Hq, D4] vec4 f32; key/valueCache
//   [numBlocks, blockSize, Hkv, D4] KV4; partialO [numDecodes, numSegments, Hq, D4] vec4 f32;
//   partialML [numDecodes, numSegments, Hq] vec2 (m, l). DIRECT: output [numTokens, Hq, D4] vec4 f32,
//   lse [numTokens, Hq], sinks [Hq] in their place (hasSinks / negInfBits as in paged_decode_reduce).
// blockShift = log2(blockSize), for lookups by shift and mask (variants that divide ignore it).

struct Params {
  numQueryHeads: u32,
  numKvHeads: u32,
  blockSize: u32,
  maxBlocksPerSeq: u32,
  qslOff: u32,
  seqLensOff: u32,
  blockTableOff: u32,
  numSegments: u32,
  segTiles: u32,
  window: u32,
  softcap: f32,
  scale: f32,
  numBlocks: u32,
  rowVec4: u32,
  zero: u32,
  blockShift: u32,
  hasSinks: u32,
  negInfBits: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> md: array<i32>;
@group(0) @binding(2) var<storage, read> query: array<vec4<f32>>;
//#if MMA
// The matrix-unit variant loads tiles from arrays of the scalar type (f16 caches only).
@group(0) @binding(3) var<storage, read> keyCache: array<f16>;
@group(0) @binding(4) var<storage, read> valueCache: array<f16>;
//#else
@group(0) @binding(3) var<storage, read> keyCache: array<KVSTORE>;
@group(0) @binding(4) var<storage, read> valueCache: array<KVSTORE>;
//#endif
// KV16 (gqa8, f16 caches): the cache read as 16-byte words, two vec4<f16> each, so a lane's two
// vec4 of a row are one load.
//#if KV16
alias KVSTORE = vec4<u32>;
//#else
alias KVSTORE = KV4;
//#endif
//#if DIRECT
// One segment (DIRECT, gqa8 only): the kernel finishes each row itself, so it writes the output and
// lse where the reduce would, and reads the sinks.
@group(0) @binding(5) var<storage, read_write> outO: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> outLse: array<f32>;
@group(0) @binding(7) var<storage, read> sinks: array<f32>;
//#else
@group(0) @binding(5) var<storage, read_write> partialO: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> partialML: array<vec2<f32>>;
//#endif

// The first key a decode row at position seqLen - 1 sees: 0, or with a sliding window W the first
// of the last W positions (keys j with j > pos - W). Every variant starts its key range here.
fn first_key(seqLen: u32) -> u32 {
  if (p.window > 0u && seqLen > p.window) {
    return seqLen - p.window;
  }
  return 0u;
}

// Split-KV segment seg's tiles [x, y): the keys from kFirst to seqLen cut into tiles of `tile` keys,
// p.segTiles tiles per segment (an empty range past the last tile). Every variant plans its grid so.
fn segment_tiles(seg: u32, seqLen: u32, kFirst: u32, tile: u32) -> vec2<u32> {
  let n = (seqLen - kFirst + tile - 1u) / tile;
  let t0 = min(seg * p.segTiles, n);
  return vec2<u32>(t0, min(t0 + p.segTiles, n));
}
