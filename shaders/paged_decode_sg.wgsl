// paged_decode (subgroup variant): the same split-KV decode as paged_decode.wgsl, built for adapters
// whose subgroup size is fixed (subgroupMinSize == subgroupMaxSize == SG: 32 on NVIDIA, 8 on
// lavapipe). One workgroup is one subgroup, so it needs no workgroup barriers in its loop, and K/V
// go from global memory straight to registers (no workgroup-memory staging).
//
// Algorithm: workgroup (segment, kvHead, decodeSeq), SG lanes, key tiles of SG tokens. Per tile:
//   1. QK, lane = token: lane t reads its token's whole K row (D4 vec4 loads in flight at once) and
//      computes the logits of all G query heads of this KV head (q pre-scaled, in workgroup memory,
//      read as broadcasts). So each K row is read once for the G heads (GQA sharing).
//   2. online softmax per head: tile max by subgroupMax, p = exp(s - m_new) for the lane's token,
//      alpha = exp(m_old - m_new); each lane sums its own p into lsum (added up at the end).
//   3. PV, lane = (column lane cl, token group tgw): CL = min(D4, SG) lanes cover the head dim
//      (CPL vec4 each), TGW = SG / CL token groups. For token t of the tile the lane gets p_h(t) and
//      the V row offset from lane t by subgroupShuffle and accumulates acc_h += p_h(t) * v.
// End: token groups are added with subgroupShuffleXor, lsum with subgroupAdd; the segment writes
// (m, l, acc) to the partial buffers, and paged_decode_reduce applies the sink once.
// Layouts: as paged_decode.wgsl. Grid: (numSegments, Hkv, numDecodes); workgroup = SG invocations.
// Constants from the generated header: SG, D4, G, CL, CPL, TGW. Inner loops run to CONST + roll()
// (see ComposeOptions.rolled: rolled on software adapters, unrolled on GPUs).

//#include paged_decode_io

var<workgroup> qs: array<vec4<f32>, G * D4>;

//#include online_softmax

// Row offset (vec4 units) of key position j for KV head kvh; -1 past the sequence or for a block
// id out of range (never read out of bounds).
fn row_offset(seq: u32, seqLen: u32, j: u32, kvh: u32) -> i32 {
  if (j >= seqLen) {
    return -1;
  }
  let blk = md[p.blockTableOff + seq * p.maxBlocksPerSeq + j / p.blockSize];
  if (blk < 0 || u32(blk) >= p.numBlocks) {
    return -1;
  }
  return i32((u32(blk) * p.blockSize + j % p.blockSize) * p.rowVec4 + kvh * D4);
}

@compute @workgroup_size(SG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let seg = wid.x;
  let kvh = wid.y;
  let seq = wid.z;
  let seqLen = u32(md[p.seqLensOff + seq]);
  let qtok = u32(md[p.qslOff + seq]);
  let kStart = first_key(seqLen);
  let tiles = segment_tiles(seg, seqLen, kStart, SG);
  let t0 = tiles.x;
  let t1 = tiles.y;

  for (var i = lane; i < G * D4; i += SG) {
    qs[i] = query[(qtok * p.numQueryHeads + kvh * G + i / D4) * D4 + i % D4] * p.scale;
  }
  workgroupBarrier();

  let cl = lane % CL;
  let tgw = lane / CL;
  var m: array<f32, G>;
  var lsum: array<f32, G>;
  var acc: array<vec4<f32>, G * CPL>;
  for (var h = 0u; h < G; h++) {
    m[h] = NEG;
  }

  for (var tile = t0; tile < t1; tile++) {
    let off = row_offset(seq, seqLen, kStart + tile * SG + lane, kvh);
    // 1. QK for this lane's token, all G heads.
    // Zeroed explicitly: lavapipe was seen keeping a loop-scoped array from the previous iteration.
    var acc_s: array<vec4<f32>, G>;
    for (var h = 0u; h < G; h++) {
      acc_s[h] = vec4<f32>(0.0);
    }
    if (off >= 0) {
      for (var c = 0u; c < D4 + roll(); c++) {
        let k = kv_unpack(keyCache[u32(off) + c]);
        for (var h = 0u; h < G; h++) {
          acc_s[h] += qs[h * D4 + c] * k;
        }
      }
    }
    // 2. online softmax per head.
    var pr: array<f32, G>;
    var alpha: array<f32, G>;
    for (var h = 0u; h < G; h++) {
      var sv = NEG;
      if (off >= 0) {
        sv = softcap_logit(acc_s[h].x + acc_s[h].y + acc_s[h].z + acc_s[h].w, p.softcap);
      }
      let m_new = max(m[h], subgroupMax(sv));
      alpha[h] = rescale(m[h], m_new);
      pr[h] = prob(sv, m_new);
      lsum[h] = lsum[h] * alpha[h] + pr[h];
      m[h] = m_new;
    }
    for (var h = 0u; h < G; h++) {
      for (var k = 0u; k < CPL; k++) {
        acc[h * CPL + k] *= alpha[h];
      }
    }
    // 3. PV: token t = tt * TGW + tgw of the tile; p and the row offset come from lane t.
    for (var tt = 0u; tt < SG / TGW + roll(); tt++) {
      let t = tt * TGW + tgw;
      let voff = subgroupShuffle(off, t);
      var pt: array<f32, G>;
      for (var h = 0u; h < G; h++) {
        pt[h] = subgroupShuffle(pr[h], t);
      }
      if (voff >= 0) {
        for (var k = 0u; k < CPL; k++) {
          let v = kv_unpack(valueCache[u32(voff) + cl * CPL + k]);
          for (var h = 0u; h < G; h++) {
            acc[h * CPL + k] += pt[h] * v;
          }
        }
      }
    }
  }

  // Add up the token groups (lanes cl, cl + CL, ..) and the per-lane sums of p.
  for (var o = CL; o < SG; o <<= 1u) {
    for (var i = 0u; i < G * CPL; i++) {
      acc[i] += subgroupShuffleXor(acc[i], o);
    }
  }
  let base = (seq * p.numSegments + seg) * p.numQueryHeads + kvh * G;
  for (var h = 0u; h < G; h++) {
    let l = subgroupAdd(lsum[h]);
    if (tgw == 0u) {
      for (var k = 0u; k < CPL; k++) {
        partialO[(base + h) * D4 + cl * CPL + k] = acc[h * CPL + k];
      }
    }
    if (lane == 0u) {
      partialML[base + h] = vec2<f32>(m[h], l);
    }
  }
}
