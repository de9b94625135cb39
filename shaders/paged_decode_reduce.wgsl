// paged_decode_reduce: merges the split-KV segments of paged_decode and applies the sink once.
//
// Algorithm: workgroup (query head h, decode sequence s). Every invocation scans the (m, l) of the
// sequence's segments to get M = max m and L = sum l * exp(m - M); invocation c then sums
// acc_seg[c] * exp(m_seg - M). finish_row (online_softmax) adds exp(sink - M') to the denominator
// here and nowhere else, so the sink counts exactly once however many segments there are.
// Empty segments (past the sequence's last tile) hold m = NEG, l = 0, acc = 0 and add nothing.
// Layouts: partialO [numDecodes, numSegments, Hq, D4] vec4 f32; partialML [.., Hq] vec2 (m, l);
//   output [numTokens, Hq, D4] f32 (row queryStartLoc[s]); lse [numTokens, Hq]; sinks [Hq].
// Grid: (Hq, numDecodes); WG = 64 invocations, columns c = tid, tid + 64, .. < D4.
//
// PARALLEL variant (many segments, e.g. batch 1 at 32K with 128 segments): WG = WGR invocations
// as (column c, segment lane r), R = WGR / D4 segment lanes. Each invocation merges segments r,
// r + R, .. into its own (m, l, acc[c]) by online rescaling, eight segments' loads per round; the R
// partial states are then merged by shuffles (SGTREE: the R lanes of a column sit in one subgroup)
// or by a tree in workgroup memory (log2 R levels). The sink still enters only in finish_row, once,
// on the merged state. Constants: WGR, R (a power of two), SGTREE (0 / 1).

struct Params {
  numQueryHeads: u32,
  numSegments: u32,
  qslOff: u32,
  hasSinks: u32,
  negInfBits: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> md: array<i32>;
@group(0) @binding(2) var<storage, read> partialO: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> partialML: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> sinks: array<f32>;
@group(0) @binding(5) var<storage, read_write> output: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;

//#include online_softmax

// Lane exchange of the SGTREE merge (the flag and the constant of that name go together; without it
// the stand-ins are never called, and the kernel needs no subgroup feature).
//#if SGTREE
fn xor_f(x: f32, o: u32) -> f32 { return subgroupShuffleXor(x, o); }
fn xor_v(x: vec4<f32>, o: u32) -> vec4<f32> { return subgroupShuffleXor(x, o); }
//#else
fn xor_f(x: f32, o: u32) -> f32 { return x; }
fn xor_v(x: vec4<f32>, o: u32) -> vec4<f32> { return x; }
//#endif

//#if PARALLEL
var<workgroup> tm: array<f32, WGR>;
var<workgroup> tl: array<f32, WGR>;
var<workgroup> ta: array<vec4<f32>, WGR>;

// Merges state (mo, lo, ao) into (m, l, a) by online rescaling.
struct Merged {
  m: f32,
  l: f32,
  a: vec4<f32>,
}

fn merge(m: f32, l: f32, a: vec4<f32>, mo: f32, lo: f32, ao: vec4<f32>) -> Merged {
  let mn = max(m, mo);
  let s0 = rescale(m, mn);
  let s1 = rescale(mo, mn);
  return Merged(mn, l * s0 + lo * s1, a * s0 + ao * s1);
}

@compute @workgroup_size(WGR)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let h = wid.x;
  let seq = wid.y;
  let qtok = u32(md[p.qslOff + seq]);
  let base = seq * p.numSegments * p.numQueryHeads + h;
  // SGTREE (subgroups of at least R lanes): a column's R segment lanes are adjacent in one subgroup
  // and merge by shuffles; else they are D4 apart and merge through workgroup memory.
  let c = select(tid % D4, tid / R, SGTREE == 1u);
  let r = select(tid / D4, tid % R, SGTREE == 1u);
  // This invocation's segments r, r + R, ..: rounds of eight whose loads are all issued before the
  // merges (batch 1 x 32K: 128 segments, R = 16, one round). Segments past the last one load a
  // clamped index and merge as empty (m = NEG, l = 0, acc = 0).
  var m = NEG;
  var l = 0.0;
  var a = vec4<f32>(0.0);
  let last = p.numSegments - 1u;
  for (var g = r; g < p.numSegments; g += 8u * R) {
    var mls: array<vec2<f32>, 8>;
    var os: array<vec4<f32>, 8>;
//#unroll u 8
    {
      let gi = min(g + $u * R, last);
      mls[$u] = partialML[base + gi * p.numQueryHeads];
      os[$u] = partialO[(base + gi * p.numQueryHeads) * D4 + c];
      if (g + $u * R > last) {
        mls[$u] = vec2<f32>(NEG, 0.0);
        os[$u] = vec4<f32>(0.0);
      }
    }
//#end
//#unroll u 8
    {
      let t = merge(m, l, a, mls[$u].x, mls[$u].y, os[$u]);
      m = t.m;
      l = t.l;
      a = t.a;
    }
//#end
  }
  if (SGTREE == 1u) {
    for (var o = 1u; o < R; o <<= 1u) {
      let t = merge(m, l, a, xor_f(m, o), xor_f(l, o), xor_v(a, o));
      m = t.m;
      l = t.l;
      a = t.a;
    }
  } else {
    tm[tid] = m;
    tl[tid] = l;
    ta[tid] = a;
    workgroupBarrier();
    // Tree over the R segment lanes: lane r merges lane r + half (same column).
    for (var half = R / 2u; half > 0u; half >>= 1u) {
      if (r < half) {
        let o = tid + half * D4;
        let t = merge(m, l, a, tm[o], tl[o], ta[o]);
        m = t.m;
        l = t.l;
        a = t.a;
      }
      workgroupBarrier();
      if (r < half) {
        tm[tid] = m;
        tl[tid] = l;
        ta[tid] = a;
      }
      workgroupBarrier();
    }
  }
  if (r == 0u) {
    let f = finish_row(m, l, sinks[h], p.hasSinks != 0u);
    output[(qtok * p.numQueryHeads + h) * D4 + c] = a * f.factor;
    if (c == 0u) {
      lse[qtok * p.numQueryHeads + h] = select(f.lse, bitcast<f32>(p.negInfBits), f.empty);
    }
  }
}
//#else
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let h = wid.x;
  let seq = wid.y;
  let qtok = u32(md[p.qslOff + seq]);
  let base = seq * p.numSegments * p.numQueryHeads + h;
  var m = NEG;
  for (var g = 0u; g < p.numSegments; g++) {
    m = max(m, partialML[base + g * p.numQueryHeads].x);
  }
  var l = 0.0;
  for (var g = 0u; g < p.numSegments; g++) {
    let ml = partialML[base + g * p.numQueryHeads];
    l += ml.y * rescale(ml.x, m);
  }
  let f = finish_row(m, l, sinks[h], p.hasSinks != 0u);
  for (var c = tid; c < D4; c += 64u) {
    var a = vec4<f32>(0.0);
    for (var g = 0u; g < p.numSegments; g++) {
      let w = rescale(partialML[base + g * p.numQueryHeads].x, m);
      a += partialO[(base + g * p.numQueryHeads) * D4 + c] * w;
    }
    output[(qtok * p.numQueryHeads + h) * D4 + c] = a * f.factor;
  }
  if (tid == 0u) {
    lse[qtok * p.numQueryHeads + h] = select(f.lse, bitcast<f32>(p.negInfBits), f.empty);
  }
}
//#endif
