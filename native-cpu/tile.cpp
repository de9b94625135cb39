// attend_groups and its pieces (tile touch and load, QK, softmax update, PV): see tile.h for the algorithm.
#include "tile.h"

namespace {

// Pointers to the tile's key and value rows as f32: in place for f32 caches, widened for f16/bf16.
void load_tile(const AttnParams* P, int block, int off, int T, int g, float* tileBuf, const float** kp, const float** vp) {
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
  const F16Widen widen;
  for (int j = 0; j < T; j++) {
    float* kd = tileBuf + j * D;
    float* vd = tileBuf + (TILE + j) * D;
    if (P->dtype == SINKRT_F16) {
      widen.row(kc + (size_t)j * rowStride, kd, D);
      widen.row(vc + (size_t)j * rowStride, vd, D);
    } else {
      bf16_row(kc + (size_t)j * rowStride, kd, D);
      bf16_row(vc + (size_t)j * rowStride, vd, D);
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
    int j = 0;
    // 4 rows x 2 keys: 8 independent accumulators hide the add latency; 6 loads feed 8 products.
    for (; j + 2 <= T; j += 2) {
      const float* k0 = kp[j];
      const float* k1 = kp[j + 1];
      v128_t a0 = wasm_f32x4_splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
      for (int d = 0; d < D; d += 4) {
        const v128_t x0 = wasm_v128_load(k0 + d), x1 = wasm_v128_load(k1 + d);
        const v128_t y0 = wasm_v128_load(q0 + d), y1 = wasm_v128_load(q1 + d);
        const v128_t y2 = wasm_v128_load(q2 + d), y3 = wasm_v128_load(q3 + d);
        a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(y0, x0));
        a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(y1, x0));
        a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(y2, x0));
        a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(y3, x0));
        b0 = wasm_f32x4_add(b0, wasm_f32x4_mul(y0, x1));
        b1 = wasm_f32x4_add(b1, wasm_f32x4_mul(y1, x1));
        b2 = wasm_f32x4_add(b2, wasm_f32x4_mul(y2, x1));
        b3 = wasm_f32x4_add(b3, wasm_f32x4_mul(y3, x1));
      }
      float* Sr = S + r * TILE + j;
      Sr[0] = hsum(a0);
      Sr[1] = hsum(b0);
      Sr[TILE] = hsum(a1);
      Sr[TILE + 1] = hsum(b1);
      Sr[2 * TILE] = hsum(a2);
      Sr[2 * TILE + 1] = hsum(b2);
      Sr[3 * TILE] = hsum(a3);
      Sr[3 * TILE + 1] = hsum(b3);
    }
    for (; j < T; j++) {
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

// acc_r += sum_j p_rj v_j for two rows at once: 16 floats of each row's acc stay in registers while
// the tile's values stream, and each value load feeds both rows.
void pv_rows2(const float* p0, const float* p1, const float* const* vp, int T, int D, float* acc0, float* acc1) {
  int d = 0;
  for (; d + 16 <= D; d += 16) {
    v128_t a0 = wasm_v128_load(acc0 + d), a1 = wasm_v128_load(acc0 + d + 4);
    v128_t a2 = wasm_v128_load(acc0 + d + 8), a3 = wasm_v128_load(acc0 + d + 12);
    v128_t b0 = wasm_v128_load(acc1 + d), b1 = wasm_v128_load(acc1 + d + 4);
    v128_t b2 = wasm_v128_load(acc1 + d + 8), b3 = wasm_v128_load(acc1 + d + 12);
    for (int j = 0; j < T; j++) {
      const v128_t s0 = wasm_f32x4_splat(p0[j]), s1 = wasm_f32x4_splat(p1[j]);
      const float* v = vp[j] + d;
      const v128_t v0 = wasm_v128_load(v), v1 = wasm_v128_load(v + 4), v2 = wasm_v128_load(v + 8), v3 = wasm_v128_load(v + 12);
      a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(s0, v0));
      a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(s0, v1));
      a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(s0, v2));
      a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(s0, v3));
      b0 = wasm_f32x4_add(b0, wasm_f32x4_mul(s1, v0));
      b1 = wasm_f32x4_add(b1, wasm_f32x4_mul(s1, v1));
      b2 = wasm_f32x4_add(b2, wasm_f32x4_mul(s1, v2));
      b3 = wasm_f32x4_add(b3, wasm_f32x4_mul(s1, v3));
    }
    wasm_v128_store(acc0 + d, a0);
    wasm_v128_store(acc0 + d + 4, a1);
    wasm_v128_store(acc0 + d + 8, a2);
    wasm_v128_store(acc0 + d + 12, a3);
    wasm_v128_store(acc1 + d, b0);
    wasm_v128_store(acc1 + d + 4, b1);
    wasm_v128_store(acc1 + d + 8, b2);
    wasm_v128_store(acc1 + d + 12, b3);
  }
  for (; d < D; d += 4) {
    v128_t a = wasm_v128_load(acc0 + d), b = wasm_v128_load(acc1 + d);
    for (int j = 0; j < T; j++) {
      const v128_t v = wasm_v128_load(vp[j] + d);
      a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_f32x4_splat(p0[j]), v));
      b = wasm_f32x4_add(b, wasm_f32x4_mul(wasm_f32x4_splat(p1[j]), v));
    }
    wasm_v128_store(acc0 + d, a);
    wasm_v128_store(acc1 + d, b);
  }
}

// Scale, softcap and mask the tile's logits of every row, then the online-softmax update: new max,
// weights p = exp(S - m') in place of S, l and acc rescaled by exp(m - m').
void softmax_tile(const AttnParams* P, const RowGroup* G, RowState* st, int t0, int T) {
  const int D = P->headSize, W = P->slidingWindow;
  const float scale = P->scale, cap = P->softcap;
  // Every row sees every key of the tile when the tile ends at or before the earliest query and
  // starts inside the window of the latest one; otherwise mask key by key.
  const bool full = (t0 + T - 1 <= G->minPos) && (W <= 0 || t0 > G->maxPos - W);
  const int Tpad = (T + 3) & ~3;
  const v128_t vscale = wasm_f32x4_splat(scale);
  for (int r = 0; r < G->R; r++) {
    float* S = st->S + r * TILE;
    for (int j = T; j < Tpad; j++) S[j] = -INFINITY;
    v128_t mx = wasm_f32x4_splat(-INFINITY);
    if (full && cap <= 0.f) {
      for (int j = 0; j < Tpad; j += 4) {
        const v128_t x = wasm_f32x4_mul(wasm_v128_load(S + j), vscale);
        wasm_v128_store(S + j, x);
        mx = wasm_f32x4_max(mx, x);
      }
    } else {
      const int pos = G->pos[r];
      for (int j = 0; j < T; j++) {
        const int kpos = t0 + j;
        float x;
        if (kpos > pos || (W > 0 && kpos <= pos - W)) x = -INFINITY;
        else {
          x = S[j] * scale;
          if (cap > 0.f) x = cap * tanhf(x / cap);
        }
        S[j] = x;
      }
      for (int j = 0; j < Tpad; j += 4) mx = wasm_f32x4_max(mx, wasm_v128_load(S + j));
    }
    mx = wasm_f32x4_max(mx, wasm_i32x4_shuffle(mx, mx, 2, 3, 0, 1));
    mx = wasm_f32x4_max(mx, wasm_i32x4_shuffle(mx, mx, 1, 0, 3, 2));
    const float mt = wasm_f32x4_extract_lane(mx, 0);
    const float mOld = st->m[r];
    const float mNew = mt > mOld ? mt : mOld;
    if (mNew == -INFINITY) {  // nothing visible to this row yet: zero weights
      for (int j = 0; j < Tpad; j += 4) wasm_v128_store(S + j, wasm_f32x4_splat(0));
      continue;
    }
    const v128_t mv = wasm_f32x4_splat(mNew);
    v128_t sum = wasm_f32x4_splat(0);
    for (int j = 0; j < Tpad; j += 4) {
      const v128_t p = exp4_nonpos(wasm_f32x4_sub(wasm_v128_load(S + j), mv));
      wasm_v128_store(S + j, p);
      sum = wasm_f32x4_add(sum, p);
    }
    if (mNew > mOld) {
      const float alpha = mOld == -INFINITY ? 0.f : expf(mOld - mNew);
      const v128_t av = wasm_f32x4_splat(alpha);
      float* acc = st->acc + r * D;
      for (int d = 0; d < D; d += 4) wasm_v128_store(acc + d, wasm_f32x4_mul(wasm_v128_load(acc + d), av));
      st->l[r] *= alpha;
      st->m[r] = mNew;
    }
    st->l[r] += hsum(sum);
  }
}

// Touches every cache line of the tile's K and V rows for heads [g0, g1] before the arithmetic uses
// them: one load per 64 bytes, all independent, in address order, so many DRAM misses are in flight
// at once and the hardware prefetcher sees a stream. Without it decode waits on each miss in turn
// (measured: ~2x slower on a context that does not fit in cache). WASM has no prefetch instruction.
uint32_t touch_tile(const AttnParams* P, int block, int off, int T, int g0, int g1) {
  const int D = P->headSize, rowStride = P->numKvHeads * D;
  const int elem = P->dtype == SINKRT_F32 ? 4 : 2;
  const size_t first = (((size_t)block * P->blockSize + off) * rowStride + (size_t)g0 * D) * elem;
  const size_t span = ((size_t)(g1 - g0 + 1) * D) * elem;
  const size_t stride = (size_t)rowStride * elem;
  const uint8_t* kb = (const uint8_t*)P->keyCache + first;
  const uint8_t* vb = (const uint8_t*)P->valueCache + first;
  uint32_t x = 0;
  for (int j = 0; j < T; j++) {
    for (size_t b = 0; b < span; b += 64) {
      x ^= *(const uint32_t*)(kb + j * stride + b);
      x ^= *(const uint32_t*)(vb + j * stride + b);
    }
  }
  return x;
}

}  // namespace

// Keeps touch_tile's loads alive (the compiler may not drop loads whose result is stored here).
volatile uint32_t sinkrt_touch_sink;

int attend_groups(const AttnParams* P, const RowGroup* groups, RowState* states, int n, int lo, int hi, float* tileBuf) {
  const int D = P->headSize, bs = P->blockSize;
  for (int i = 0; i < n; i++) {
    const int R = groups[i].R;
    for (int r = 0; r < R; r++) {
      states[i].m[r] = -INFINITY;
      states[i].l[r] = 0.f;
    }
    for (int k = 0; k < R * D; k += 4) wasm_v128_store(states[i].acc + k, wasm_f32x4_splat(0));
  }
  if (n == 0) return SINKRT_OK;
  const int32_t* table = P->blockTable + (size_t)groups[0].seq * P->maxBlocksPerSeq;
  const float* kp[TILE];
  const float* vp[TILE];
  int gMin = groups[0].g, gMax = groups[0].g;
  for (int i = 1; i < n; i++) {
    if (groups[i].g < gMin) gMin = groups[i].g;
    if (groups[i].g > gMax) gMax = groups[i].g;
  }
  uint32_t touched = 0;
  for (int t0 = lo; t0 < hi;) {
    const int off = t0 % bs;
    int T = bs - off;
    if (T > TILE) T = TILE;
    if (T > hi - t0) T = hi - t0;
    const int block = table[t0 / bs];
    if (block < 0 || block >= P->numBlocks) return SINKRT_E_BLOCK;
    touched ^= touch_tile(P, block, off, T, gMin, gMax);
    for (int i = 0; i < n; i++) {
      const RowGroup* G = &groups[i];
      RowState* st = &states[i];
      load_tile(P, block, off, T, G->g, tileBuf, kp, vp);
      qk_tile(P, G, kp, T, st->S);
      softmax_tile(P, G, st, t0, T);
      int r = 0;
      for (; r + 2 <= G->R; r += 2) pv_rows2(st->S + r * TILE, st->S + (r + 1) * TILE, vp, T, D, st->acc + r * D, st->acc + (r + 1) * D);
      if (r < G->R) pv_rows2(st->S + r * TILE, st->S + r * TILE, vp, T, D, st->acc + r * D, st->acc + r * D);
    }
    t0 += T;
  }
  sinkrt_touch_sink = touched;
  return SINKRT_OK;
}
