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
// PARALLEL variant (many segments, e.g. batch 1 at 32K with 512 segments): WG = WGR invocations
// as (column c = tid % D4, segment lane r = tid / D4), R = WGR / D4 segment lanes. Each invocation
// merges segments r, r + R, .. into its own (m, l, acc[c]) by online rescaling; the R partial
// states are then merged by a tree in workgroup memory (log2 R levels). The sink still enters only
// in finish_row, once, on the merged state. Constants: WGR, R (a power of two).

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

//#if PARALLEL
var<workgroup> tm: array<f32, WGR>;
var<workgroup> tl: array<f32, WGR>;
var<workgroup> ta: array<vec4<f32>, WGR>;

// The state (m, l, a) of one row and column over some segments, merged with another state of the same
// row and column over other segments (m2, l2, a2). Neither holds the sink: finish_row adds it once.
struct Part {
  m: f32,
  l: f32,
  a: vec4<f32>,
}

fn merge_part(x: Part, m2: f32, l2: f32, a2: vec4<f32>) -> Part {
  let mn = max(x.m, m2);
  let s0 = rescale(x.m, mn);
  let s1 = rescale(m2, mn);
  return Part(mn, x.l * s0 + l2 * s1, x.a * s0 + a2 * s1);
}

@compute @workgroup_size(WGR)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let h = wid.x;
  let seq = wid.y;
  let qtok = u32(md[p.qslOff + seq]);
  // Read up front: at the end it would be one more memory round trip before the write.
  let sink = sinks[h];
  let base = seq * p.numSegments * p.numQueryHeads + h;
  let c = tid % D4;
  let r = tid / D4;
  // This invocation's segments, merged online; four segments' loads are issued before their merges
  // (batch 1 x 32K: 128 segments, 8 per invocation, two rounds of loads instead of eight).
  var st = Part(NEG, 0.0, vec4<f32>(0.0));
  var g = r;
  for (; g + 3u * R < p.numSegments; g += 4u * R) {
    var mls: array<vec2<f32>, 4>;
    var os: array<vec4<f32>, 4>;
//#unroll u 4
    mls[$u] = partialML[base + (g + $u * R) * p.numQueryHeads];
    os[$u] = partialO[(base + (g + $u * R) * p.numQueryHeads) * D4 + c];
//#end
//#unroll u 4
    st = merge_part(st, mls[$u].x, mls[$u].y, os[$u]);
//#end
  }
  for (; g < p.numSegments; g += R) {
    let ml = partialML[base + g * p.numQueryHeads];
    st = merge_part(st, ml.x, ml.y, partialO[(base + g * p.numQueryHeads) * D4 + c]);
  }
  tm[tid] = st.m;
  tl[tid] = st.l;
  ta[tid] = st.a;
  workgroupBarrier();
  // Tree over the R segment lanes: lane r merges lane r + half (same column).
  for (var half = R / 2u; half > 0u; half >>= 1u) {
    if (r < half) {
      let o = tid + half * D4;
      st = merge_part(st, tm[o], tl[o], ta[o]);
    }
    workgroupBarrier();
    if (r < half) {
      tm[tid] = st.m;
      tl[tid] = st.l;
      ta[tid] = st.a;
    }
    workgroupBarrier();
  }
  if (r == 0u) {
    let f = finish_row(st.m, st.l, sink, p.hasSinks != 0u);
    output[(qtok * p.numQueryHeads + h) * D4 + c] = st.a * f.factor;
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
  let sink = sinks[h];
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
  let f = finish_row(m, l, sink, p.hasSinks != 0u);
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
