// paged_decode: attention of short queries (decode: queryLen 1, or a few tokens for speculative
// decoding) over a long paged context, with split-KV segments merged by log-sum-exp.
//
// Algorithm (the structure of the GPU paged-decode kernels, so the one delicate step, counting the
// sink exactly once, is exercised on the CPU too):
//   1. A sequence's keys are cut at absolute multiples of segmentLen into segments. For each segment
//      and each KV head g, each row group (see tile.h) runs attend_rows over the keys of the segment
//      it can see (tiles of keys, online softmax, no sink). The partial is normalized:
//      o_k = acc_k / l_k, lse_k = m_k + log l_k (-inf when the row saw no key in the segment).
//   2. Partials are merged by LSE with no sink, segment after segment, into a running (o, lse) per
//      row: M = max(lse, lse_k); a = exp(lse - M), b = exp(lse_k - M);
//      o = (a o + b o_k) / (a + b); lse = M + log(a + b). (A GPU writes every partial out and one
//      reduce pass merges them; merging as they come is the same sum, without a buffer that grows
//      with the context.)
//   3. The sink s_h enters once, at the end, as one more term with logit s_h and no value:
//      M = max(s_h, lse); den = exp(s_h - M) + exp(lse - M); o = o exp(lse - M) / den;
//      lse = M + log(den). A row with no visible key and no sink gets o = 0, lse = -inf.
// Loop order: segment outer, KV head inner. A segment of all heads (segmentLen x numKvHeads x
// headSize x 2 tensors) stays in L2 while each head's rows read their strided slice of it, so the
// cache streams from DRAM once, in order; head-outer order re-read each sequence from DRAM per head.
// Running state layout in scratch: [row of the sequence = t * numQueryHeads + h][headSize] and
// [row] lse, rows of one sequence at a time.
#include "tile.h"

namespace {

int max_query_len(const AttnParams* P) {
  int q = 0;
  for (int s = P->seqBegin; s < P->seqEnd; s++) {
    const int n = P->queryStartLoc[s + 1] - P->queryStartLoc[s];
    if (n > q) q = n;
  }
  return q;
}

// Folds the group's partial over one segment into the running state of its rows.
void merge_partial(const AttnParams* P, const RowGroup* G, const RowState* w, float* runOut, float* runLse) {
  const int D = P->headSize, Hq = P->numQueryHeads;
  for (int r = 0; r < G->R; r++) {
    const float l = w->l[r];
    if (!(l > 0.f)) continue;  // the row saw no key in this segment: lse_k = -inf adds nothing
    const int row = (G->token[r] - G->qStart) * Hq + G->head[r];
    const float lseK = w->m[r] + logf(l);
    float* o = runOut + (size_t)row * D;
    const float* acc = w->acc + (size_t)r * D;
    const float lse = runLse[row];
    if (lse == -INFINITY) {
      const v128_t inv = wasm_f32x4_splat(1.f / l);
      for (int d = 0; d < D; d += 4) wasm_v128_store(o + d, wasm_f32x4_mul(wasm_v128_load(acc + d), inv));
      runLse[row] = lseK;
      continue;
    }
    const float M = lse > lseK ? lse : lseK;
    const float a = expf(lse - M), b = expf(lseK - M), den = a + b;
    const v128_t fa = wasm_f32x4_splat(a / den), fb = wasm_f32x4_splat(b / (den * l));
    for (int d = 0; d < D; d += 4) {
      const v128_t v = wasm_f32x4_add(wasm_f32x4_mul(fa, wasm_v128_load(o + d)), wasm_f32x4_mul(fb, wasm_v128_load(acc + d)));
      wasm_v128_store(o + d, v);
    }
    runLse[row] = M + logf(den);
  }
}

// The sink, once per row, and the write to the caller's output.
void finish_row(const AttnParams* P, int qStart, int row, const float* runOut, const float* runLse) {
  const int D = P->headSize, Hq = P->numQueryHeads;
  const int t = row / Hq, h = row % Hq;
  float* out = P->output + ((size_t)(qStart + t) * Hq + h) * D;
  float* lseOut = P->lse + (size_t)(qStart + t) * Hq + h;
  const float sink = sink_of(P, h), lse = runLse[row];
  const float M = sink > lse ? sink : lse;
  if (M == -INFINITY) {
    for (int d = 0; d < D; d++) out[d] = 0.f;
    *lseOut = -INFINITY;
    return;
  }
  const float keep = lse == -INFINITY ? 0.f : expf(lse - M);
  const float den = keep + expf(sink - M);
  const v128_t f = wasm_f32x4_splat(keep / den);
  const float* o = runOut + (size_t)row * D;
  for (int d = 0; d < D; d += 4) wasm_v128_store(out + d, wasm_f32x4_mul(wasm_v128_load(o + d), f));
  *lseOut = M + logf(den);
}

}  // namespace

// Scratch: [tile buffer][row groups][their states][running out: rows x D][running lse: rows].
struct DecodeLayout {
  int maxGroups, groupRows, rows, floats;
};

static DecodeLayout decode_layout(const AttnParams* P) {
  const int D = P->headSize, G = P->numQueryHeads / P->numKvHeads, q = max_query_len(P);
  DecodeLayout L;
  L.groupRows = q * G < RMAX ? q * G : RMAX;
  L.maxGroups = P->numKvHeads * ((q * G + RMAX - 1) / RMAX);
  L.rows = q * P->numQueryHeads;
  L.floats = tile_floats(D) + L.maxGroups * (ROWGROUP_FLOATS + state_floats(L.groupRows, D)) + L.rows * (D + 1) + 4;
  return L;
}

SINKRT_EXPORT int sinkrt_paged_decode_scratch_floats(const AttnParams* P) { return decode_layout(P).floats; }

SINKRT_EXPORT int sinkrt_paged_decode(const AttnParams* P) {
  const int D = P->headSize, Hq = P->numQueryHeads, G = P->numQueryHeads / P->numKvHeads;
  const int seg = P->segmentLen, W = P->slidingWindow;
  if (D <= 0 || D % 4 != 0 || seg <= 0 || G <= 0) return SINKRT_E_SHAPE;
  const DecodeLayout L = decode_layout(P);
  if (P->scratchFloats < L.floats) return SINKRT_E_SCRATCH;
  float* tileBuf = P->scratch;
  RowGroup* groups = (RowGroup*)(tileBuf + tile_floats(D));
  float* stateMem = (float*)groups + L.maxGroups * ROWGROUP_FLOATS;
  float* runOut = stateMem + (size_t)L.maxGroups * state_floats(L.groupRows, D);  // [rows][D]
  float* runLse = runOut + (size_t)L.rows * D;                                     // [rows]
  for (int s = P->seqBegin; s < P->seqEnd; s++) {
    const int qStart = P->queryStartLoc[s], queryLen = P->queryStartLoc[s + 1] - qStart;
    const int ctx = P->contextLens[s], rows = queryLen * Hq;
    if (queryLen == 0) continue;
    for (int i = 0; i < rows; i++) runLse[i] = -INFINITY;
    int n = 0;
    for (int g = 0; g < P->numKvHeads; g++) {
      for (int row0 = 0; row0 < queryLen * G; row0 += RMAX, n++) {
        const int row1 = row0 + RMAX < queryLen * G ? row0 + RMAX : queryLen * G;
        make_group(P, s, g, row0, row1, &groups[n]);
      }
    }
    // Keys any row of the sequence can see: [lo, hi).
    const int hi = ctx + queryLen;
    const int lo = W > 0 && ctx - W + 1 > 0 ? ctx - W + 1 : 0;
    for (int a = lo; a < hi;) {
      const int b0 = (a / seg + 1) * seg, b = b0 < hi ? b0 : hi;
      // States are carved per segment call from the same memory; RowState is 4 pointers.
      RowState st[256];
      for (int done = 0; done < n; done += 256) {
        const int m = n - done < 256 ? n - done : 256;
        for (int i = 0; i < m; i++) st[i] = carve_state(stateMem + (size_t)(done + i) * state_floats(L.groupRows, D), groups[done + i].R, D);
        const int rc = attend_groups(P, groups + done, st, m, a, b, tileBuf);
        if (rc != SINKRT_OK) return rc;
        for (int i = 0; i < m; i++) merge_partial(P, &groups[done + i], &st[i], runOut, runLse);
      }
      a = b;
    }
    for (int row = 0; row < rows; row++) finish_row(P, qStart, row, runOut, runLse);
  }
  return SINKRT_OK;
}
