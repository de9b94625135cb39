// paged_decode (GQA-8 subgroup variant): split-KV decode for layers with 8 query heads per KV head
// (GPT-OSS: 64 / 8), on adapters with a fixed subgroup size SG >= 8. One workgroup = one subgroup.
//
// Algorithm: workgroup (segment, kvHead, decodeSeq); key tiles of TT = STEPS * NPW tokens.
//   Lanes = (token slot tk in [0, NPW), column lane cl in [0, L)): L lanes cover one K/V row
//   (CPL vec4 each, coalesced), NPW rows per step. q of the 8 heads for the lane's columns stays in
//   registers for the whole kernel.
//   1. all K and V loads of the tile are issued first (STEPS * CPL per lane, in flight together).
//   2. QK per step: 8 partial dots per lane, then a reduce-scatter over the L lanes (3 halving
//      subgroupShuffleXor levels, then plain sums): lane cl ends with the full logit of head
//      cl / HL (HL = L / 8) for its token. 7 shuffles per step for L = 8, instead of 24.
//   3. online softmax: tile max per head across token slots (shuffles), p and alpha once per head;
//      p of the 8 heads per token and alpha per head go through workgroup memory (one subgroup:
//      its barrier is cheap).
//   4. PV: acc[h] = acc[h] * alpha[h] + p_h(token) * v for the 8 heads, the lane's columns.
// The kernel is bound by the instructions it issues (NOTES.md "Session 4"), so the defaults spend as
// few per key as they can: QKDOT 2 (each head's dot one FMA chain), PERMQ (a reduce-scatter with no
// selects: q held in a per-lane head order) and, for f16 caches, KV16 (16-byte K/V loads).
// Flags and constants (backend options, measured in bench/webgpu/NOTES.md; defaults: LATECVT always,
// QKDOT 2, PERMQ; QR = 0 for f32 caches; for f16 caches QR = 8 and KV16; HQK and HPV are opt-in):
// LATECVT keeps the staged K/V rows in storage precision (KV4: half the registers of f32 for an
// f16 cache) and converts each at its use; q of heads [QR, 8) is read from workgroup memory at each
// use instead of held in registers (CPL vec4 per head). Both cut live registers, so more workgroups fit
// per SM and more K/V loads are in flight (the f16 kernel was latency-bound: same token rate as
// f32). QKDOT 1 / 2 convert each staged K vec4 once for the 8 heads and sum with dot() / FMA chains.
// BLOCK_DIV keeps the old block lookup by division (default: shift and mask, p.blockShift).
// End: token slots are summed (shuffles) and the segment writes (m, l, acc) to the partial buffers;
// paged_decode_reduce counts the sink once. DIRECT (the host plans one segment): no partials and no
// reduce dispatch; the kernel finishes each row itself (finish_row: the sink once) and writes o, lse.
// Row offsets (block-table reads) of each tile are taken during the tile before, so its K/V loads
// wait on one memory round trip instead of two (H100: +1.5-2.6 points of copy at batch 8-256 with
// 8K-32K contexts, 224-225 registers instead of 228; NOTES.md "Session 4").
// Loops marked //#unroll are unrolled by the loader on GPUs so every register array is indexed by
// literals (see expandUnroll in shaders.ts).
// Layouts: as paged_decode.wgsl. Grid: (numSegments, Hkv, numDecodes).
// Constants: SG, D4, L, CPL = D4 / L, NPW = SG / L, STEPS, TT, HL = L / 8, O1 = L / 2, O2 = L / 4, O3 = L / 8,
// QKDOT (0 / 1 / 2), CPLM1 = CPL - 1, CPLH = CPL / 2 (KV16), PERMQ (0 / 1), HQK (0 / 1, with the flag of the same name),
// QR (0..8) and QS = 8 - QR.
// HQK / HPV (f16 caches with LATECVT; opt-in, off by default, session 2 in NOTES.md): QK products
// and the lane's partial sums in f16 (one conversion per head), and PV summed per tile in f16 before
// the f32 accumulator; packed half FMAs do two terms per instruction. Cost: f16 rounding of
// q * scale, of 2 * CPL-term partial logits and of per-tile PV sums. Both are f16 accumulation, which
// the contract's f32 accumulation rules out by default; HQK also fails the peaked-logit shapes.

//#include paged_decode_io

// QDIRECT (default where q of all 8 heads is in registers and QK is f32): q goes straight from the
// query buffer into registers, with no workgroup copy (2 KB at head size 64) and no barrier. H100:
// +0.3-0.6 points of copy at batch 8-256, and residency stays 8 workgroups per SM, so that copy was
// not what held it (NOTES.md "Direct q"); the private stand-in only satisfies the source's dead
// QSHARED references.
//#if QDIRECT
var<private> qs: array<vec4<f32>, 1>;
//#else
var<workgroup> qs: array<vec4<f32>, 8u * D4>;
//#endif
var<workgroup> ps: array<vec4<f32>, 2u * TT>;
var<workgroup> al: array<vec4<f32>, 2>;
//#if HPV
var<workgroup> ph: array<vec4<f16>, 2u * TT>;
//#endif

//#include online_softmax

// Staged K/V rows: converted to f32 when taken (default) or at each use (LATECVT).
//#if LATECVT
alias KR = KV4;
fn kr_keep(x: KV4) -> KR { return x; }
fn kr_use(x: KR) -> vec4<f32> { return kv_unpack(x); }
//#else
alias KR = vec4<f32>;
fn kr_keep(x: KV4) -> KR { return kv_unpack(x); }
fn kr_use(x: KR) -> vec4<f32> { return x; }
//#endif

// a . b as one chain of FMAs (dot4_acc adds it to c): no separate add per vec4, no zero start.
fn dot4_first(a: vec4<f32>, b: vec4<f32>) -> f32 {
  return fma(a.w, b.w, fma(a.z, b.z, fma(a.y, b.y, a.x * b.x)));
}

fn dot4_acc(a: vec4<f32>, b: vec4<f32>, c: f32) -> f32 {
  return fma(a.w, b.w, fma(a.z, b.z, fma(a.y, b.y, fma(a.x, b.x, c))));
}

fn row_offset(seq: u32, seqLen: u32, j: u32, kvh: u32) -> i32 {
  if (j >= seqLen) {
    return -1;
  }
//#if BLOCK_DIV
  let blk = md[p.blockTableOff + seq * p.maxBlocksPerSeq + j / p.blockSize];
  if (blk < 0 || u32(blk) >= p.numBlocks) {
    return -1;
  }
  return i32((u32(blk) * p.blockSize + j % p.blockSize) * p.rowVec4 + kvh * D4);
//#else
  // Block sizes are powers of two (the backend accepts 16, 32, 64): shift and mask, no division.
  let blk = md[p.blockTableOff + seq * p.maxBlocksPerSeq + (j >> p.blockShift)];
  if (blk < 0 || u32(blk) >= p.numBlocks) {
    return -1;
  }
  return i32(((u32(blk) << p.blockShift) + (j & (p.blockSize - 1u))) * p.rowVec4 + kvh * D4);
//#endif
}

@compute @workgroup_size(SG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let seg = wid.x;
  let kvh = wid.y;
  let seq = wid.z;
  let seqLen = u32(md[p.seqLensOff + seq]);
  let qtok = u32(md[p.qslOff + seq]);
  let kStart = first_key(seqLen);
  let tiles = segment_tiles(seg, seqLen, kStart, TT);
  let t0 = tiles.x;
  let t1 = tiles.y;

//#if QDIRECT
//#else
  for (var i = lane; i < 8u * D4; i += SG) {
    qs[i] = query[(qtok * p.numQueryHeads + kvh * 8u + i / D4) * D4 + i % D4] * p.scale;
  }
  workgroupBarrier();
//#endif
  let cl = lane % L;
  let tk = lane / L;
  let myHead = cl / HL;
  let writer = cl % HL == 0u;
  // PERMQ: lane cl keeps q of head h in slot h ^ myHead, so its partial dots come out in the order the
  // reduce-scatter sends and keeps them in, and the scatter needs no selects (see step 2).
  let qperm = select(0u, myHead, PERMQ == 1u);
  // q of heads [0, QR) in registers; heads [QR, 8) are read from workgroup memory at each use. The
  // host passes QR = 8 or 0 (gqa8SharedQ); a split (QR 4 / 6) was measured and lost (NOTES.md "Register
  // diet"). The array keeps 8 heads so every literal index is in bounds; unused elements are dropped.
  var q: array<vec4<f32>, 8u * CPL>;
//#if QDIRECT
//#unroll h 8
//#unroll k CPL
  q[$h * CPL + $k] = query[(qtok * p.numQueryHeads + kvh * 8u + ($h ^ qperm)) * D4 + cl * CPL + $k] * p.scale;
//#end
//#end
//#else
//#unroll h QR
//#unroll k CPL
  q[$h * CPL + $k] = qs[($h ^ qperm) * D4 + cl * CPL + $k];
//#end
//#end
//#endif
//#if HQK
  // HQK: q * scale as f16 for the packed-half QK.
  var qh: array<vec4<f16>, 8u * CPL>;
//#unroll h 8
//#unroll k CPL
  qh[$h * CPL + $k] = vec4<f16>(qs[($h ^ qperm) * D4 + cl * CPL + $k]);
//#end
//#end
//#endif
  var acc: array<vec4<f32>, 8u * CPL>;
  var m_run = NEG;
  var lsum = 0.0;
  var offs: array<i32, STEPS>;
  var kr: array<KR, STEPS * CPL>;
  var vr: array<KR, STEPS * CPL>;
  var sc: array<f32, STEPS>;
  var d: array<f32, 8>;

  var offn: array<i32, STEPS>;
//#unroll j STEPS
  offn[$j] = row_offset(seq, seqLen, kStart + t0 * TT + $j * NPW + tk, kvh);
//#end
  for (var tile = t0; tile < t1; tile++) {
    // 1. Issue every K and V load of the tile.
//#unroll j STEPS
    {
      let o = offn[$j];
      offs[$j] = o;
//#unroll k CPL
      kr[$j * CPL + $k] = KR();
      vr[$j * CPL + $k] = KR();
//#end
      if (o >= 0) {
//#if KV16
        // Two vec4<f16> per 16-byte word (o and cl * CPL are even: the host checks CPL).
//#unroll w CPLH
        {
          let kw = keyCache[(u32(o) + cl * CPL) / 2u + $w];
          let vw = valueCache[(u32(o) + cl * CPL) / 2u + $w];
          kr[$j * CPL + 2u * $w] = bitcast<vec4<f16>>(kw.xy);
          kr[$j * CPL + 2u * $w + 1u] = bitcast<vec4<f16>>(kw.zw);
          vr[$j * CPL + 2u * $w] = bitcast<vec4<f16>>(vw.xy);
          vr[$j * CPL + 2u * $w + 1u] = bitcast<vec4<f16>>(vw.zw);
        }
//#end
//#else
//#unroll k CPL
        kr[$j * CPL + $k] = kr_keep(keyCache[u32(o) + cl * CPL + $k]);
        vr[$j * CPL + $k] = kr_keep(valueCache[u32(o) + cl * CPL + $k]);
//#end
//#endif
      }
    }
//#end
    // The next tile's row offsets: their block-table reads are in flight behind this tile's loads
    // and math instead of in front of the next tile's loads (rows past seqLen give -1).
//#unroll j STEPS
    offn[$j] = row_offset(seq, seqLen, kStart + (tile + 1u) * TT + $j * NPW + tk, kvh);
//#end
    // 2. QK and the reduce-scatter of the 8 heads' partial dots over the L column lanes.
//#unroll j STEPS
//#if HQK
    // HQK: half-precision products and partial sums over the lane's CPL vec4 (packed f16 FMAs,
    // no K conversion), one conversion per head; the sums over lanes stay f32.
//#unroll h 8
    {
      var t = vec4<f16>(0.0);
//#unroll k CPL
      t = fma(qh[$h * CPL + $k], kr[$j * CPL + $k], t);
//#end
      let t2 = t.xy + t.zw;
      d[$h] = f32(t2.x) + f32(t2.y);
    }
//#end
//#endif
    // QKDOT (constant 1): each staged K vec4 converted once and used by the 8 heads through dot();
    // QKDOT 2: the same, each head's dot one chain of scalar FMAs over the lane's CPL vec4 (no
    // separate add per vec4, no zero start); else the per-head vec4 accumulation and a final sum.
    // q per QR in all three.
    if (HQK == 1u) {
    } else if (QKDOT == 2u) {
      {
        let kf = kr_use(kr[$j * CPL]);
//#unroll h QR
        d[$h] = dot4_first(q[$h * CPL], kf);
//#end
//#unroll g QS
        d[QR + $g] = dot4_first(qs[((QR + $g) ^ qperm) * D4 + cl * CPL], kf);
//#end
      }
//#unroll k CPLM1
      {
        let kf = kr_use(kr[$j * CPL + 1u + $k]);
//#unroll h QR
        d[$h] = dot4_acc(q[$h * CPL + 1u + $k], kf, d[$h]);
//#end
//#unroll g QS
        d[QR + $g] = dot4_acc(qs[((QR + $g) ^ qperm) * D4 + cl * CPL + 1u + $k], kf, d[QR + $g]);
//#end
      }
//#end
    } else if (QKDOT == 1u) {
//#unroll h 8
      d[$h] = 0.0;
//#end
//#unroll k CPL
      {
        let kf = kr_use(kr[$j * CPL + $k]);
//#unroll h QR
        d[$h] += dot(q[$h * CPL + $k], kf);
//#end
//#unroll g QS
        d[QR + $g] += dot(qs[((QR + $g) ^ qperm) * D4 + cl * CPL + $k], kf);
//#end
      }
//#end
    } else {
//#unroll h 8
    {
      var a = vec4<f32>(0.0);
//#unroll k CPL
      // $h < QR is a constant on GPUs (unrolled): the select folds to one source.
      a += select(qs[($h ^ qperm) * D4 + cl * CPL + $k], q[$h * CPL + $k], $h < QR) * kr_use(kr[$j * CPL + $k]);
//#end
      d[$h] = a.x + a.y + a.z + a.w;
    }
//#end
    }
    {
      if (PERMQ == 1u) {
        // Slot i of lane cl holds head i ^ myHead: at each halving level a lane keeps the low half
        // of its slots and sends the high half, which its partner (lane cl ^ O) holds as the same heads.
//#unroll i 4
        d[$i] += subgroupShuffleXor(d[$i + 4u], O1);
//#end
//#unroll i 2
        d[$i] += subgroupShuffleXor(d[$i + 2u], O2);
//#end
        d[0] += subgroupShuffleXor(d[1], O3);
      } else {
        let up1 = (cl & O1) != 0u;
//#unroll i 4
        d[$i] = select(d[$i], d[$i + 4u], up1) + subgroupShuffleXor(select(d[$i + 4u], d[$i], up1), O1);
//#end
        let up2 = (cl & O2) != 0u;
//#unroll i 2
        d[$i] = select(d[$i], d[$i + 2u], up2) + subgroupShuffleXor(select(d[$i + 2u], d[$i], up2), O2);
//#end
        let up3 = (cl & O3) != 0u;
        d[0] = select(d[0], d[1], up3) + subgroupShuffleXor(select(d[1], d[0], up3), O3);
      }
      for (var o = O3 / 2u; o > 0u; o >>= 1u) {
        d[0] += subgroupShuffleXor(d[0], o);
      }
      sc[$j] = select(NEG, softcap_logit(d[0], p.softcap), offs[$j] >= 0);
    }
//#end
    // 3. Online softmax for head myHead over the tile (all token slots).
    var mt = NEG;
//#unroll j STEPS
    mt = max(mt, sc[$j]);
//#end
    for (var o = L; o < SG; o <<= 1u) {
      mt = max(mt, subgroupShuffleXor(mt, o));
    }
    let m_new = max(m_run, mt);
    let alpha = rescale(m_run, m_new);
    m_run = m_new;
    lsum *= alpha;
//#unroll j STEPS
    {
      let pj = prob(sc[$j], m_new);
      lsum += pj;
      if (writer) {
//#if HPV
        ph[($j * NPW + tk) * 2u + myHead / 4u][myHead % 4u] = f16(pj);
//#else
        ps[($j * NPW + tk) * 2u + myHead / 4u][myHead % 4u] = pj;
//#endif
      }
    }
//#end
    if (writer && tk == 0u) {
      al[myHead / 4u][myHead % 4u] = alpha;
    }
    workgroupBarrier();
    // 4. PV for the 8 heads on this lane's columns.
//#if HPV
    // HPV: the tile's sum of p * v in f16 (packed FMAs on the staged f16 rows, p as f16), then
    // acc = acc * alpha + tile sum in f32 once per tile.
    var a16: array<vec4<f16>, 8u * CPL>;
//#unroll i 8
//#unroll k CPL
    a16[$i * CPL + $k] = vec4<f16>(0.0);
//#end
//#end
//#unroll j STEPS
    {
      let pa = ph[($j * NPW + tk) * 2u];
      let pb = ph[($j * NPW + tk) * 2u + 1u];
//#unroll k CPL
      {
        let v = vr[$j * CPL + $k];
        a16[0u * CPL + $k] += pa.x * v;
        a16[1u * CPL + $k] += pa.y * v;
        a16[2u * CPL + $k] += pa.z * v;
        a16[3u * CPL + $k] += pa.w * v;
        a16[4u * CPL + $k] += pb.x * v;
        a16[5u * CPL + $k] += pb.y * v;
        a16[6u * CPL + $k] += pb.z * v;
        a16[7u * CPL + $k] += pb.w * v;
      }
//#end
    }
//#end
    {
      let b0 = al[0];
      let b1 = al[1];
//#unroll k CPL
      acc[0u * CPL + $k] = acc[0u * CPL + $k] * b0.x + vec4<f32>(a16[0u * CPL + $k]);
      acc[1u * CPL + $k] = acc[1u * CPL + $k] * b0.y + vec4<f32>(a16[1u * CPL + $k]);
      acc[2u * CPL + $k] = acc[2u * CPL + $k] * b0.z + vec4<f32>(a16[2u * CPL + $k]);
      acc[3u * CPL + $k] = acc[3u * CPL + $k] * b0.w + vec4<f32>(a16[3u * CPL + $k]);
      acc[4u * CPL + $k] = acc[4u * CPL + $k] * b1.x + vec4<f32>(a16[4u * CPL + $k]);
      acc[5u * CPL + $k] = acc[5u * CPL + $k] * b1.y + vec4<f32>(a16[5u * CPL + $k]);
      acc[6u * CPL + $k] = acc[6u * CPL + $k] * b1.z + vec4<f32>(a16[6u * CPL + $k]);
      acc[7u * CPL + $k] = acc[7u * CPL + $k] * b1.w + vec4<f32>(a16[7u * CPL + $k]);
//#end
    }
//#else
    let a0 = al[0];
    let a1 = al[1];
//#unroll k CPL
    acc[0u * CPL + $k] *= a0.x;
    acc[1u * CPL + $k] *= a0.y;
    acc[2u * CPL + $k] *= a0.z;
    acc[3u * CPL + $k] *= a0.w;
    acc[4u * CPL + $k] *= a1.x;
    acc[5u * CPL + $k] *= a1.y;
    acc[6u * CPL + $k] *= a1.z;
    acc[7u * CPL + $k] *= a1.w;
//#end
//#unroll j STEPS
    {
      let pa = ps[($j * NPW + tk) * 2u];
      let pb = ps[($j * NPW + tk) * 2u + 1u];
//#unroll k CPL
      {
        let v = kr_use(vr[$j * CPL + $k]);
        acc[0u * CPL + $k] += pa.x * v;
        acc[1u * CPL + $k] += pa.y * v;
        acc[2u * CPL + $k] += pa.z * v;
        acc[3u * CPL + $k] += pa.w * v;
        acc[4u * CPL + $k] += pb.x * v;
        acc[5u * CPL + $k] += pb.y * v;
        acc[6u * CPL + $k] += pb.z * v;
        acc[7u * CPL + $k] += pb.w * v;
      }
//#end
    }
//#end
//#endif
    workgroupBarrier();
  }

  // Sum the token slots: acc per column, lsum per head (HL lanes hold the same head's copy).
  for (var o = L; o < SG; o <<= 1u) {
//#unroll i 8
//#unroll k CPL
    acc[$i * CPL + $k] += subgroupShuffleXor(acc[$i * CPL + $k], o);
//#end
//#end
    lsum += subgroupShuffleXor(lsum, o);
  }
//#if DIRECT
  // One segment holds the whole row: finish it here, counting the sink once (finish_row), and write
  // o and lse as paged_decode_reduce would. Every lane holds (m, l) of its head; lane h * HL's
  // factor is head h's.
  var sink = NEG;
  if (p.hasSinks != 0u) {
    sink = sinks[kvh * 8u + myHead];
  }
  let fin = finish_row(m_run, lsum, sink, p.hasSinks != 0u);
  var fh: array<f32, 8>;
//#unroll h 8
  fh[$h] = subgroupShuffle(fin.factor, $h * HL);
//#end
  if (tk == 0u) {
    let orow = qtok * p.numQueryHeads + kvh * 8u;
//#unroll h 8
//#unroll k CPL
    outO[(orow + $h) * D4 + cl * CPL + $k] = acc[$h * CPL + $k] * fh[$h];
//#end
//#end
    if (writer) {
      outLse[orow + myHead] = select(fin.lse, bitcast<f32>(p.negInfBits), fin.empty);
    }
  }
//#else
  let base = (seq * p.numSegments + seg) * p.numQueryHeads + kvh * 8u;
  if (tk == 0u) {
//#unroll h 8
//#unroll k CPL
    partialO[(base + $h) * D4 + cl * CPL + $k] = acc[$h * CPL + $k];
//#end
//#end
    if (writer) {
      partialML[base + myHead] = vec2<f32>(m_run, lsum);
    }
  }
//#endif
}
