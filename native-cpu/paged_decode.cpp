// paged_decode: attention of short queries (decode: queryLen 1, or a few tokens for speculative
// decoding) over a long paged context, with split-KV segments merged by log-sum-exp.
//
// Algorithm (the same structure as the GPU paged-decode kernels, so the one delicate step, counting
// the sink exactly once, is exercised on the CPU too):
//   1. The visible key range [lo, hi) of a row group (see tile.h) is cut at absolute multiples of
//      segmentLen into segments. Each segment runs attend_rows (tiles of keys, online softmax, no
//      sink) and is stored normalized: o_k = acc_k / l_k, lse_k = m_k + log l_k (-inf when the
//      segment saw no key), layout [segment][row][headSize] and [segment][row] in scratch.
//      On a GPU each segment is its own workgroup; here they run one after another.
//   2. The reduce merges the segments of each row with the sink s_h entering once, as one more
//      term with logit s_h and no value:
//        M = max(s_h, max_k lse_k);  den = exp(s_h - M) + sum_k exp(lse_k - M)
//        o = sum_k exp(lse_k - M) o_k / den;  lse = M + log(den)
//      A row with no visible key and no sink gets o = 0, lse = -inf.
#include "tile.h"

namespace {

int num_segments(const AttnParams* P) { return P->maxSeqLen / P->segmentLen + 2; }

void reduce_row(const AttnParams* P, const RowGroup* G, int r, const float* segOut, const float* segLse,
                int numSeg) {
  const int D = P->headSize, Hq = P->numQueryHeads;
  const float sink = sink_of(P, G->head[r]);
  float* out = P->output + ((size_t)G->token[r] * Hq + G->head[r]) * D;
  float M = sink;
  for (int k = 0; k < numSeg; k++) {
    const float lk = segLse[k * RMAX + r];
    if (lk > M) M = lk;
  }
  if (M == -INFINITY) {
    for (int d = 0; d < D; d++) out[d] = 0.f;
    P->lse[(size_t)G->token[r] * Hq + G->head[r]] = -INFINITY;
    return;
  }
  float den = expf(sink - M);
  for (int d = 0; d < D; d += 4) wasm_v128_store(out + d, wasm_f32x4_splat(0));
  for (int k = 0; k < numSeg; k++) {
    const float lk = segLse[k * RMAX + r];
    if (lk == -INFINITY) continue;
    const float wk = expf(lk - M);
    den += wk;
    const v128_t wv = wasm_f32x4_splat(wk);
    const float* o = segOut + ((size_t)k * RMAX + r) * D;
    for (int d = 0; d < D; d += 4)
      wasm_v128_store(out + d, wasm_f32x4_add(wasm_v128_load(out + d), wasm_f32x4_mul(wv, wasm_v128_load(o + d))));
  }
  const v128_t inv = wasm_f32x4_splat(1.f / den);
  for (int d = 0; d < D; d += 4) wasm_v128_store(out + d, wasm_f32x4_mul(wasm_v128_load(out + d), inv));
  P->lse[(size_t)G->token[r] * Hq + G->head[r]] = M + logf(den);
}

}  // namespace

SINKRT_EXPORT int sinkrt_paged_decode_scratch_floats(const AttnParams* P) {
  const int D = P->headSize;
  return work_floats(D) + num_segments(P) * RMAX * (D + 1) + 4;
}

SINKRT_EXPORT int sinkrt_paged_decode(const AttnParams* P) {
  const int D = P->headSize, G = P->numQueryHeads / P->numKvHeads;
  if (D <= 0 || D % 4 != 0 || P->segmentLen <= 0 || G <= 0) return SINKRT_E_SHAPE;
  if (P->scratchFloats < sinkrt_paged_decode_scratch_floats(P)) return SINKRT_E_SCRATCH;
  Work w = carve(P->scratch, D);
  const int maxSeg = num_segments(P);
  float* segOut = w.rest;                           // [maxSeg][RMAX][D]
  float* segLse = segOut + (size_t)maxSeg * RMAX * D;  // [maxSeg][RMAX]
  RowGroup grp;
  for (int s = P->seqBegin; s < P->seqEnd; s++) {
    const int queryLen = P->queryStartLoc[s + 1] - P->queryStartLoc[s];
    for (int g = 0; g < P->numKvHeads; g++) {
      for (int row0 = 0; row0 < queryLen * G; row0 += RMAX) {
        const int row1 = row0 + RMAX < queryLen * G ? row0 + RMAX : queryLen * G;
        make_group(P, s, g, row0, row1, &grp);
        const int lo = group_lo(P, &grp), hi = grp.maxPos + 1;
        int numSeg = 0;
        for (int a = lo; a < hi; numSeg++) {
          const int b0 = (a / P->segmentLen + 1) * P->segmentLen;
          const int b = b0 < hi ? b0 : hi;
          if (numSeg >= maxSeg) return SINKRT_E_SCRATCH;
          const int st = attend_rows(P, &grp, a, b, &w);
          if (st != SINKRT_OK) return st;
          for (int r = 0; r < grp.R; r++) {
            float* o = segOut + ((size_t)numSeg * RMAX + r) * D;
            const float l = w.l[r];
            if (l > 0.f) {
              const v128_t inv = wasm_f32x4_splat(1.f / l);
              for (int d = 0; d < D; d += 4) wasm_v128_store(o + d, wasm_f32x4_mul(wasm_v128_load(w.acc + r * D + d), inv));
              segLse[numSeg * RMAX + r] = w.m[r] + logf(l);
            } else {
              segLse[numSeg * RMAX + r] = -INFINITY;
            }
          }
          a = b;
        }
        for (int r = 0; r < grp.R; r++) reduce_row(P, &grp, r, segOut, segLse, numSeg);
      }
    }
  }
  return SINKRT_OK;
}
