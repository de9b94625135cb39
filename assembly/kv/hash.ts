// Content hash of full blocks, chained: the hash of block j covers every token of blocks 0..j, so two
// requests share block j only if their whole prefixes up to it agree. A rolling u64 state absorbs one
// token at a time (prompt tokens at addRequest, sampled tokens at commit); at each block boundary the
// state is finalized into the block's hash, which is also the seed of the next block. 64 bits make an
// accidental collision (which would share wrong KV) negligible at any realistic cache size. 0 is
// reserved for "no hash".

export const HASH_SEED: u64 = 0x6a09e667f3bcc908;

@inline export function absorb(state: u64, token: i32): u64 {
  let x = state ^ (<u64><u32>token + 0x9e3779b97f4a7c15);
  x *= 0xbf58476d1ce4e5b9;
  return x ^ (x >> 31);
}

@inline export function finalizeBlock(state: u64): u64 {
  let x = state;
  x ^= x >> 33; x *= 0xff51afd7ed558ccd;
  x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53;
  x ^= x >> 33;
  return x == 0 ? 1 : x;
}
