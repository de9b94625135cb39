// unified_attention: paged attention for any query length (extend, prefill, and decode when
// selection sends it here, e.g. speculative decoding with several query tokens).
//
// Algorithm (flash attention over the paged cache): the new tokens' K/V are already in the cache
// (reshape_and_cache ran first), so prefill is the case contextLen = 0. Workgroup (work item w,
// head chunk y) takes a tile of RW query rows: QT consecutive query tokens of one sequence times
// HPT query heads of one KV head (rows share every K/V load: GQA). It walks the key tiles of BK
// tokens that any of its rows can see (causal, and with a sliding window only keys
// > pos - W), keeping the online-softmax state (m, l, acc) per row:
//   1. K and V rows of the key tile -> workgroup memory (f32).
//   2. QK: invocation per (row, key): s = softcap(q.k), NEG when not visible to that row.
//   3. softmax: invocation per row scans its BK logits: m_new, alpha, p (in place of s), l.
//   4. PV: invocation per (row, vec4 column): acc = acc * alpha + sum p v.
// After the last tile each row is finished with finish_row, which counts the sink exactly once.
//
// Layouts (vec4 units): query/output [numTokens, Hq, D4] f32; lse [numTokens, Hq] f32;
//   key/valueCache [slot, Hkv, D4] KV4; meta: queryStartLoc, seqLens, blockTable, and the
//   work list (seq, qStart) pairs at p.workOff, built per step by the host.
// Grid: (numWork, Hkv * HCH) with HCH = ceil(G / HPT); WG = 256 invocations.
// Inner loops run to `CONST + roll()`: roll() is 0 (unrolled) on GPUs and a runtime zero on software
// adapters, whose compilers take minutes over unrolled code (see ComposeOptions.rolled).
// Constants from the generated header: D4, KD4P = D4 + 1, G, BK = RW = 2048 / headSize,
// HPT = min(G, RW), QT = RW / HPT, HCH, QKR = ceil(RW*BK / WG), PVR = ceil(RW*D4 / WG),
// LD = BK*D4 / WG.

struct Params {
  numQueryHeads: u32,
  numKvHeads: u32,
  blockSize: u32,
  maxBlocksPerSeq: u32,
  qslOff: u32,
  seqLensOff: u32,
  blockTableOff: u32,
  workOff: u32,
  window: u32,
  softcap: f32,
  scale: f32,
  numBlocks: u32,
  rowVec4: u32,
  hasSinks: u32,
  negInfBits: u32,
  zero: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> md: array<i32>;
@group(0) @binding(2) var<storage, read> query: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> keyCache: array<KV4>;
@group(0) @binding(4) var<storage, read> valueCache: array<KV4>;
@group(0) @binding(5) var<storage, read> sinks: array<f32>;
@group(0) @binding(6) var<storage, read_write> output: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> lse: array<f32>;

var<workgroup> qs: array<vec4<f32>, RW * D4>;
var<workgroup> ks: array<vec4<f32>, BK * KD4P>;
var<workgroup> vs: array<vec4<f32>, BK * D4>;
var<workgroup> sc: array<f32, RW * BK>;
var<workgroup> msh: array<f32, RW>;
var<workgroup> lsh: array<f32, RW>;
var<workgroup> alpha: array<f32, RW>;

//#include online_softmax

struct Row {
  valid: bool,
  tok: u32,
  head: u32,
  pos: u32,
}

fn row_of(r: u32, seq: u32, qStart: u32, chunk: u32, kvh: u32, queryLen: u32, seqLen: u32) -> Row {
  var row: Row;
  let qi = qStart + r / HPT;
  let hh = chunk * HPT + r % HPT;
  row.valid = r / HPT < QT && qi < queryLen && hh < G;
  row.tok = u32(md[p.qslOff + seq]) + qi;
  row.head = kvh * G + hh;
  row.pos = seqLen - queryLen + qi;
  return row;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let seq = u32(md[p.workOff + 2u * wid.x]);
  let qStart = u32(md[p.workOff + 2u * wid.x + 1u]);
  let kvh = wid.y / HCH;
  let chunk = wid.y % HCH;
  let queryLen = u32(md[p.qslOff + seq + 1u] - md[p.qslOff + seq]);
  let seqLen = u32(md[p.seqLensOff + seq]);
  let ctx = seqLen - queryLen;
  let posMin = ctx + qStart;
  let kHi = ctx + min(qStart + QT, queryLen); // one past the last visible key of the tile's rows
  var kLo = 0u;
  if (p.window > 0u && posMin + 1u > p.window) {
    kLo = posMin + 1u - p.window;
  }

  for (var i = tid; i < RW * D4; i += WG) {
    let row = row_of(i / D4, seq, qStart, chunk, kvh, queryLen, seqLen);
    var q = vec4<f32>(0.0);
    if (row.valid) {
      q = query[(row.tok * p.numQueryHeads + row.head) * D4 + i % D4] * p.scale;
    }
    qs[i] = q;
  }
  if (tid < RW) {
    msh[tid] = NEG;
    lsh[tid] = 0.0;
  }
  var acc: array<vec4<f32>, PVR>;

  for (var kt = kLo; kt < kHi; kt += BK) {
    workgroupBarrier();
    for (var i = 0u; i < LD; i++) {
      let e = tid + i * WG;
      let t = e / D4;
      let c = e % D4;
      let j = kt + t;
      var kv = vec4<f32>(0.0);
      var vv = vec4<f32>(0.0);
      if (j < kHi) {
        let blk = md[p.blockTableOff + seq * p.maxBlocksPerSeq + j / p.blockSize];
        if (blk >= 0 && u32(blk) < p.numBlocks) {
          let off = (u32(blk) * p.blockSize + j % p.blockSize) * p.rowVec4 + kvh * D4 + c;
          kv = kv_unpack(keyCache[off]);
          vv = kv_unpack(valueCache[off]);
        }
      }
      ks[t * KD4P + c] = kv;
      vs[e] = vv;
    }
    workgroupBarrier();

    for (var r = 0u; r < QKR; r++) {
      let idx = tid + r * WG;
      if (idx < RW * BK) {
        let rr = idx / BK;
        let t = idx % BK;
        let j = kt + t;
        let row = row_of(rr, seq, qStart, chunk, kvh, queryLen, seqLen);
        var s = NEG;
        if (row.valid && j <= row.pos && (p.window == 0u || j + p.window > row.pos)) {
          var d = vec4<f32>(0.0);
          for (var c = 0u; c < D4 + roll(); c++) {
            d += qs[rr * D4 + c] * ks[t * KD4P + c];
          }
          s = softcap_logit(d.x + d.y + d.z + d.w, p.softcap);
        }
        sc[idx] = s;
      }
    }
    workgroupBarrier();

    if (tid < RW) {
      let m_old = msh[tid];
      var mx = NEG;
      for (var t = 0u; t < BK + roll(); t++) {
        mx = max(mx, sc[tid * BK + t]);
      }
      let m_new = max(m_old, mx);
      let a = rescale(m_old, m_new);
      var l = lsh[tid] * a;
      for (var t = 0u; t < BK + roll(); t++) {
        let pv = prob(sc[tid * BK + t], m_new);
        sc[tid * BK + t] = pv;
        l += pv;
      }
      msh[tid] = m_new;
      lsh[tid] = l;
      alpha[tid] = a;
    }
    workgroupBarrier();

    for (var r = 0u; r < PVR; r++) {
      let u = tid + r * WG;
      if (u < RW * D4) {
        let rr = u / D4;
        let c = u % D4;
        var av = acc[r] * alpha[rr];
        for (var t = 0u; t < BK + roll(); t++) {
          av += sc[rr * BK + t] * vs[t * D4 + c];
        }
        acc[r] = av;
      }
    }
  }
  workgroupBarrier();

  for (var r = 0u; r < PVR; r++) {
    let u = tid + r * WG;
    if (u < RW * D4) {
      let rr = u / D4;
      let c = u % D4;
      let row = row_of(rr, seq, qStart, chunk, kvh, queryLen, seqLen);
      if (row.valid) {
        let f = finish_row(msh[rr], lsh[rr], sinks[row.head], p.hasSinks != 0u);
        output[(row.tok * p.numQueryHeads + row.head) * D4 + c] = acc[r] * f.factor;
        if (c == 0u) {
          lse[row.tok * p.numQueryHeads + row.head] = select(f.lse, bitcast<f32>(p.negInfBits), f.empty);
        }
      }
    }
  }
}
