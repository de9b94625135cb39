// online_softmax: the shared piece of every attention kernel (paged_decode*, paged_decode_reduce,
// unified_attention). Included by the loader (src/backends/webgpu/shaders.ts) after the generated
// header, which defines the compile-time constants, `alias KV4` (one vec4 of the cache: vec4<f32>,
// vec4<f16>, or vec2<u32> holding 4 packed halves) with kv_unpack / kv_pack to and from vec4<f32>.
//
// State of one query row over any subset of its keys: (m, l, acc) with
//   m   = running max of the logits seen (NEG when none),
//   l   = sum_j exp(l_j - m),  acc = sum_j exp(l_j - m) v_j   (unnormalised, f32).
// The sink is NOT part of this state. It enters exactly once, in finish_row, when the state of the
// whole row is final: after the last key tile (unified_attention) or after merging the split-KV
// segments (paged_decode_reduce). Passing it to every segment and merging by LSE would count it
// once per segment: the bug class the sink contract warns about.
//
// NEG is a finite stand-in for -inf (WGSL constant expressions may not produce infinities, and
// exp(NEG - m) underflows to 0 for every real m). Masked logits are NEG; a probability is taken
// only for logits above NEG_HALF, so an all-masked tile never yields exp(NEG - NEG) = 1.

const NEG: f32 = -3.0e38;
const NEG_HALF: f32 = -1.0e38;

// c * tanh(l / c) when a softcap is set. The argument is clamped: tanh(+-15) is +-1 in f32, and
// some drivers build tanh from exp and return NaN for large arguments.
fn softcap_logit(l: f32, c: f32) -> f32 {
  if (c > 0.0) {
    return c * tanh(clamp(l / c, -15.0, 15.0));
  }
  return l;
}

// exp(s - m) for a logit that may be masked (NEG): 0 when masked.
fn prob(s: f32, m: f32) -> f32 {
  return select(0.0, exp(s - m), s > NEG_HALF);
}

// Rescale factor of a state whose max moves from m_old to m_new (1 while both are NEG).
fn rescale(m_old: f32, m_new: f32) -> f32 {
  return exp(m_old - m_new);
}

// Final normalisation of a row with state (m, l), counting the sink (if any) exactly once.
// Returns (factor, lse_or_nan_flag): o = acc * factor. A row with no visible key and no sink has
// l = 0: o = 0 and lse = -inf (the caller writes its runtime -inf, see `neg_inf()` users).
struct RowFinish {
  factor: f32,
  lse: f32,
  empty: bool,
}

fn finish_row(m: f32, l: f32, sink: f32, has_sink: bool) -> RowFinish {
  var r: RowFinish;
  var mm = m;
  var ll = l;
  if (has_sink && sink > NEG_HALF) {
    mm = max(m, sink);
    ll = l * exp(m - mm) + exp(sink - mm);
  }
  if (ll <= 0.0) {
    r.factor = 0.0;
    r.lse = 0.0;
    r.empty = true;
    return r;
  }
  r.factor = exp(m - mm) / ll;
  r.lse = mm + log(ll);
  r.empty = false;
  return r;
}
