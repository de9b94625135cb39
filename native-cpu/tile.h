// The attention core shared by paged_decode and unified_attention: online softmax of a group of
// query rows over a key range of one sequence's paged cache, one tile of keys at a time.
//
// Rows. The rows of one (sequence, kvHead g) are its query tokens t in [0, queryLen) times the query
// heads h of g's GQA group (h = g * G + i, G = numQueryHeads / numKvHeads), numbered t * G + i and cut
// into groups of at most RMAX. Every row of a group reads the same K/V rows (same sequence, same g),
// so each key and value is loaded once per tile for the whole group: for GQA 64/8 decode that is
// 8 heads per load, the reuse that makes decode bandwidth-bound instead of load-bound.
//
// Tiles. Keys [lo, hi) (absolute positions) are walked in tiles of at most TILE keys that never cross
// a cache block, so a tile's keys are one block's consecutive slots: slot stride numKvHeads * headSize
// floats. Before the arithmetic, the tile's K/V lines are touched in address order (independent
// loads: many DRAM misses in flight). f32 caches are then read in place; f16 and bf16 caches are widened into
// a small f32 tile first, once per tile and KV head for all of that head's rows. Several groups (all
// KV heads of a decode sequence) share one tile walk: tile outer, group inner.
//
// Per tile, per row r (all f32):
//   S[r][j] = scale * q_r . k_j          (f32x4 dots, 4 rows x 2 keys per pass: 8 accumulators)
//   softcap: S = c * tanh(S / c); masked (j > pos_r, or j <= pos_r - W) -> -inf
//   m' = max(m, max_j S);  p_j = exp(S_j - m');  l = l * exp(m - m') + sum_j p_j
//   acc = acc * exp(m - m') + sum_j p_j v_j   (f32x4, 2 rows x 16 floats of acc in registers per pass)
// The sink is NOT applied here: the caller folds it in exactly once (finalize for unified attention,
// the LSE merge of segments for paged_decode).
#pragma once
#include "abi.h"
#include "simd.h"

#define RMAX 64  // rows per group
#define TILE 16  // keys per tile

struct RowGroup {
  int R;
  int seq, g, qStart, ctx;
  int minPos, maxPos;
  int token[RMAX];  // query row index in the batch (queryStartLoc[seq] + t)
  int head[RMAX];
  int pos[RMAX];    // absolute position of the row's query token
};

// Online-softmax state of one row group (unnormalized, no sink), carved from scratch. Row counts are
// padded to 4 so every part stays 16-byte aligned for f32x4.
struct RowState {
  float* acc;  // [R][D]
  float* m;    // [R] running max
  float* l;    // [R] running sum of exp(S - m)
  float* S;    // [R][TILE] this tile's logits, then weights
};

static inline int rows_pad(int R) { return (R + 3) & ~3; }
static inline int state_floats(int R, int D) { return rows_pad(R) * (D + 2 + TILE); }
static inline RowState carve_state(float* p, int R, int D) {
  const int Rp = rows_pad(R);
  RowState st;
  st.acc = p;
  st.m = p + Rp * D;
  st.l = st.m + Rp;
  st.S = st.l + Rp;
  return st;
}
// Widened f16/bf16 K and V of one tile, shared by all groups of a call.
static inline int tile_floats(int D) { return 2 * TILE * D; }
// RowGroup kept in scratch (ints only).
#define ROWGROUP_FLOATS ((int)((sizeof(RowGroup) + 15) / 16 * 4))

// Rows [rowStart, rowStart + R) of (seq, g).
static inline void make_group(const AttnParams* P, int seq, int g, int rowStart, int rowEnd, RowGroup* G) {
  const int groupSize = P->numQueryHeads / P->numKvHeads;
  G->R = rowEnd - rowStart;
  G->seq = seq;
  G->g = g;
  G->qStart = P->queryStartLoc[seq];
  G->ctx = P->contextLens[seq];
  G->minPos = 0x7fffffff;
  G->maxPos = -1;
  for (int r = 0; r < G->R; r++) {
    int i = rowStart + r, t = i / groupSize;
    G->token[r] = G->qStart + t;
    G->head[r] = g * groupSize + i % groupSize;
    G->pos[r] = G->ctx + t;
    if (G->pos[r] < G->minPos) G->minPos = G->pos[r];
    if (G->pos[r] > G->maxPos) G->maxPos = G->pos[r];
  }
}

// First key any row of the group can see.
static inline int group_lo(const AttnParams* P, const RowGroup* G) {
  if (P->slidingWindow <= 0) return 0;
  int lo = G->minPos - P->slidingWindow + 1;
  return lo < 0 ? 0 : lo;
}

static inline float sink_of(const AttnParams* P, int h) { return P->sinks ? P->sinks[h] : -INFINITY; }

// Online softmax of groups[0..n) (all of one sequence) over keys [lo, hi) of that sequence, tile
// outer, group inner: each tile of keys (contiguous in the cache across KV heads) is used by every
// group while it is in L1/L2, so decode streams the cache once, in address order. Leaves each group's
// m, l, acc (unnormalized, no sink) in states[i]; rows mask keys outside their own causal/window range.
// Returns SINKRT_E_BLOCK (having written nothing outside scratch) on a block id outside the cache.
int attend_groups(const AttnParams* P, const RowGroup* groups, RowState* states, int n, int lo, int hi, float* tileBuf);
