// attend_rows: see tile.h for the algorithm, tiling and layouts.
#include "tile.h"

namespace {

// Pointers to the tile's key and value rows as f32: in place for f32 caches, widened for f16.
void load_tile(const AttnParams* P, int block, int off, int T, int g, Work* w, const float** kp, const float** vp) {
  const int D = P->headSize, rowStride = P->numKvHeads * D;
  const size_t base = ((size_t)block * P->blockSize + off) * rowStride + (size_t)g * D;
  if (P->dtype == SINKRT_F32) {
    const float* kc = (const float*)P->keyCache + base;
    const float* vc = (const float*)P->valueCache + base;
    for (int j = 0; j < T; j++) {
      kp[j] = kc + (size_t)j * rowStride;
      vp[j] = vc + (size_t)j * rowStride;
    }
    return;
  }
  const uint16_t* kc = (const uint16_t*)P->keyCache + base;
  const uint16_t* vc = (const uint16_t*)P->valueCache + base;
  for (int j = 0; j < T; j++) {
    float* kd = w->kt + j * D;
    float* vd = w->vt + j * D;
    const uint16_t* ks = kc + (size_t)j * rowStride;
    const uint16_t* vs = vc + (size_t)j * rowStride;
    for (int d = 0; d < D; d += 4) {
      wasm_v128_store(kd + d, f16x4_to_f32x4(ks + d));
      wasm_v128_store(vd + d, f16x4_to_f32x4(vs + d));
    }
    kp[j] = kd;
    vp[j] = vd;
  }
}

// S[r][j] = q_r . k_j for the tile (unscaled), four rows per pass.
void qk_tile(const AttnParams* P, const RowGroup* G, const float* const* kp, int T, float* S) {
  const int D = P->headSize, Hq = P->numQueryHeads;
  int r = 0;
  for (; r + 4 <= G->R; r += 4) {
    const float* q0 = P->query + ((size_t)G->token[r] * Hq + G->head[r]) * D;
    const float* q1 = P->query + ((size_t)G->token[r + 1] * Hq + G->head[r + 1]) * D;
    const float* q2 = P->query + ((size_t)G->token[r + 2] * Hq + G->head[r + 2]) * D;
    const float* q3 = P->query + ((size_t)G->token[r + 3] * Hq + G->head[r + 3]) * D;
    for (int j = 0; j < T; j++) {
      const float* k = kp[j];
      v128_t a0 = wasm_f32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
      for (int d = 0; d < D; d += 4) {
        v128_t kv = wasm_v128_load(k + d);
        a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(q0 + d), kv));
        a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(q1 + d), kv));
        a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(q2 + d), kv));
        a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load(q3 + d), kv));
      }
      S[r * TILE + j] = hsum(a0);
      S[(r + 1) * TILE + j] = hsum(a1);
      S[(r + 2) * TILE + j] = hsum(a2);
      S[(r + 3) * TILE + j] = hsum(a3);
    }
  }
  for (; r < G->R; r++) {
    const float* q = P->query + ((size_t)G->token[r] * Hq + G->head[r]) * D;
    for (int j = 0; j < T; j++) {
      const float* k = kp[j];
      v128_t a = wasm_f32x4_splat(0);
      for (int d = 0; d < D; d += 4) a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load(q + d), wasm_v128_load(k + d)));
      S[r * TILE + j] = hsum(a);
    }
  }
}

// acc_r = acc_r + sum_j p_rj v_j, 16 floats of acc held in registers while the tile's values stream.
void pv_row(const float* p, const float* const* vp, int T, int D, float* acc) {
  int d = 0;
  for (; d + 16 <= D; d += 16) {
    v128_t a0 = wasm_v128_load(acc + d), a1 = wasm_v128_load(acc + d + 4);
    v128_t a2 = wasm_v128_load(acc + d + 8), a3 = wasm_v128_load(acc + d + 12);
    for (int j = 0; j < T; j++) {
      const v128_t pj = wasm_f32x4_splat(p[j]);
      const float* v = vp[j] + d;
      a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(pj, wasm_v128_load(v)));
      a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(pj, wasm_v128_load(v + 4)));
      a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(pj, wasm_v128_load(v + 8)));
      a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(pj, wasm_v128_load(v + 12)));
    }
    wasm_v128_store(acc + d, a0);
    wasm_v128_store(acc + d + 4, a1);
    wasm_v128_store(acc + d + 8, a2);
    wasm_v128_store(acc + d + 12, a3);
  }
  for (; d < D; d += 4) {
    v128_t a = wasm_v128_load(acc + d);
    for (int j = 0; j < T; j++) a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_f32x4_splat(p[j]), wasm_v128_load(vp[j] + d)));
    wasm_v128_store(acc + d, a);
  }
}

}  // namespace

int attend_rows(const AttnParams* P, const RowGroup* G, int lo, int hi, Work* w) {
  const int D = P->headSize, R = G->R, W = P->slidingWindow, bs = P->blockSize;
  const float scale = P->scale, cap = P->softcap;
  for (int r = 0; r < R; r++) {
    w->m[r] = -INFINITY;
    w->l[r] = 0.f;
  }
  for (int i = 0; i < R * D; i += 4) wasm_v128_store(w->acc + i, wasm_f32x4_splat(0));
  const int32_t* table = P->blockTable + (size_t)G->seq * P->maxBlocksPerSeq;
  const float* kp[TILE];
  const float* vp[TILE];
  for (int t0 = lo; t0 < hi;) {
    const int off = t0 % bs;
    int T = bs - off;
    if (T > TILE) T = TILE;
    if (T > hi - t0) T = hi - t0;
    const int block = table[t0 / bs];
    if (block < 0 || block >= P->numBlocks) return SINKRT_E_BLOCK;
    load_tile(P, block, off, T, G->g, w, kp, vp);
    qk_tile(P, G, kp, T, w->S);
    // Every row sees every key of the tile when the tile ends at or before the earliest query and
    // starts inside the window of the latest one; otherwise mask key by key.
    const bool full = (t0 + T - 1 <= G->minPos) && (W <= 0 || t0 > G->maxPos - W);
    const int Tpad = (T + 3) & ~3;
    for (int r = 0; r < R; r++) {
      float* S = w->S + r * TILE;
      float mt = -INFINITY;
      for (int j = 0; j < Tpad; j++) {
        float s;
        const int kpos = t0 + j;
        if (j >= T || (!full && (kpos > G->pos[r] || (W > 0 && kpos <= G->pos[r] - W)))) {
          s = -INFINITY;
        } else {
          s = S[j] * scale;
          if (cap > 0.f) s = cap * tanhf(s / cap);
        }
        S[j] = s;
        if (s > mt) mt = s;
      }
      const float mOld = w->m[r];
      const float mNew = mt > mOld ? mt : mOld;
      if (mNew == -INFINITY) {  // nothing visible to this row yet
        for (int j = 0; j < Tpad; j++) S[j] = 0.f;
        continue;
      }
      const v128_t mv = wasm_f32x4_splat(mNew);
      v128_t sum = wasm_f32x4_splat(0);
      for (int j = 0; j < Tpad; j += 4) {
        v128_t p = exp4_nonpos(wasm_f32x4_sub(wasm_v128_load(S + j), mv));
        wasm_v128_store(S + j, p);
        sum = wasm_f32x4_add(sum, p);
      }
      if (mNew > mOld) {
        const float alpha = mOld == -INFINITY ? 0.f : expf(mOld - mNew);
        const v128_t av = wasm_f32x4_splat(alpha);
        float* acc = w->acc + r * D;
        for (int d = 0; d < D; d += 4) wasm_v128_store(acc + d, wasm_f32x4_mul(wasm_v128_load(acc + d), av));
        w->l[r] *= alpha;
        w->m[r] = mNew;
      }
      w->l[r] += hsum(sum);
    }
    for (int r = 0; r < R; r++) pv_row(w->S + r * TILE, vp, T, D, w->acc + r * D);
    t0 += T;
  }
  return SINKRT_OK;
}
