// unified_attention: attention of query tokens of any length over a paged cache that already holds
// them (reshape_and_cache ran first), for extend (cached context + new tokens), prefill (no context)
// and decode when selection sends it here. vLLM's unified-attention shape: every path reads K/V
// through the block table.
//
// Algorithm: for each (sequence, kvHead), row groups of up to RMAX rows (query tokens x the GQA
// group's heads, see tile.h) run attend_rows once over the group's whole visible range: from the
// first key the earliest row's window admits to the latest row's own position (causal), tile by
// tile with online softmax; keys outside a row's causal/window range are masked to -inf per row.
// Then the sink is folded in exactly once per row:
//   M = max(s_h, m);  den = l exp(m - M) + exp(s_h - M);  o = acc exp(m - M) / den;  lse = M + log(den)
// A row with no visible key and no sink gets o = 0, lse = -inf.
#include "tile.h"

// Scratch: [tile buffer][one row group's state].
SINKRT_EXPORT int sinkrt_unified_attention_scratch_floats(const AttnParams* P) {
  return tile_floats(P->headSize) + state_floats(RMAX, P->headSize) + 4;
}

SINKRT_EXPORT int sinkrt_unified_attention(const AttnParams* P) {
  const int D = P->headSize, Hq = P->numQueryHeads, G = P->numQueryHeads / P->numKvHeads;
  if (D <= 0 || D % 4 != 0 || G <= 0) return SINKRT_E_SHAPE;
  if (P->scratchFloats < sinkrt_unified_attention_scratch_floats(P)) return SINKRT_E_SCRATCH;
  float* tileBuf = P->scratch;
  RowGroup grp;
  for (int s = P->seqBegin; s < P->seqEnd; s++) {
    const int queryLen = P->queryStartLoc[s + 1] - P->queryStartLoc[s];
    for (int g = 0; g < P->numKvHeads; g++) {
      for (int row0 = 0; row0 < queryLen * G; row0 += RMAX) {
        const int row1 = row0 + RMAX < queryLen * G ? row0 + RMAX : queryLen * G;
        make_group(P, s, g, row0, row1, &grp);
        RowState w = carve_state(tileBuf + tile_floats(D), grp.R, D);
        const int st = attend_groups(P, &grp, &w, 1, group_lo(P, &grp), grp.maxPos + 1, tileBuf);
        if (st != SINKRT_OK) return st;
        for (int r = 0; r < grp.R; r++) {
          float* out = P->output + ((size_t)grp.token[r] * Hq + grp.head[r]) * D;
          float* lse = P->lse + (size_t)grp.token[r] * Hq + grp.head[r];
          const float sink = sink_of(P, grp.head[r]), m = w.m[r];
          const float M = sink > m ? sink : m;
          if (M == -INFINITY) {
            for (int d = 0; d < D; d++) out[d] = 0.f;
            *lse = -INFINITY;
            continue;
          }
          const float keep = m == -INFINITY ? 0.f : expf(m - M);
          const float den = w.l[r] * keep + expf(sink - M);
          const v128_t f = wasm_f32x4_splat(keep / den);
          const float* acc = w.acc + r * D;
          for (int d = 0; d < D; d += 4) wasm_v128_store(out + d, wasm_f32x4_mul(wasm_v128_load(acc + d), f));
          *lse = M + logf(den);
        }
      }
    }
  }
  return SINKRT_OK;
}
