// paged_decode (matrix-unit variant): split-KV decode for GQA-8 layers with an f16 cache on adapters
// that offer `chromium-experimental-subgroup-matrix` with an f16 x f16 -> f32 configuration (M x N x K;
// on NVIDIA over Vulkan that is VK_KHR_cooperative_matrix). One workgroup = one subgroup (SG lanes).
//
// Why: the SIMT kernels spend ~2 * 8 * D FMAs, shuffles and conversions per (token, KV head) and
// are bound by issue, not memory, for f16 caches. Here the two products run on matrix units:
//   S^T (keys x heads)  = K (keys x D) * Q^T (D x heads)      left = K rows straight from the cache
//   O^T (D x heads)    += V^T (D x keys) * P^T (keys x heads)  left = V rows read column-major
// A paged block of blockSize (16, 32 or 64) keys of one KV head is a blockSize x D row-major
// matrix with row stride RS = Hkv * D halves, so M-row tiles (M = 16 divides the block size) load
// directly from the cache: no staging, no per-element conversion.
//
// Algorithm: workgroup (segment, kvHead, decodeSeq); chunks of CH = MT * M keys, aligned to CH
// (so every M-tile lies in one block). Per chunk:
//   1. V^T tiles (PK * DT of them) loaded, then per M-tile of keys S^T = sum_k K_k * Qt_k (Qt
//      tiles, q * scale in f16, held in registers for the whole kernel) stored to workgroup
//      memory `fw` ([key][head], f32).
//   2. Online softmax in SIMT: lane (head h = lane % 8, group g = lane / 8) takes KPL keys of its
//      head: mask (window, sequence end, invalid block), softcap, chunk max over the groups
//      (shuffles), p = exp(s - m) written as f16 to `hw` ([key][head]: the P^T right operand).
//      The running max moves only when a head's chunk max exceeds it by more than SLACK (e^8
//      fits f16 and f32 sums), so the accumulator rescale (store, scale per head, load) is rare:
//      mostly never after the first chunk. A uniform flag (workgroupUniformLoad) gates it.
//   3. O^T += V^T * P^T on the matrix units (acc: DT result tiles of M dims x N heads).
// End: acc stored to `fw` ([dim][head], row-major like every workgroup-memory operand: the first
// H100 run, with Q^T and O^T column-major, failed the table while the row-major operands and the
// column-major V^T load had checked exact in the probe) and written with (m, l) to the same partial buffers as
// paged_decode_gqa8; paged_decode_reduce merges segments and counts the sink once.
// Keys of an invalid block (id < 0 or >= numBlocks) read block 0 and are masked; keys past the
// sequence end read the finite stale rows of their own last block and are masked (p = 0, so
// 0 * v adds nothing: WebGPU buffers start zeroed and the kernels write only finite rows).
// N = 16 configurations pad heads 8..15 with zeros (q rows and P^T columns).
// Constants: SG, D, D4, MM, NN, KK, CH, MT = CH / MM, KS = D / KK, DT = D / MM, PK = CH / KK,
// NG = SG / 8 lane groups, KPL = CH / NG keys per lane, FW = NN * max(CH, D), RS = Hkv * D,
// MSLACK = SLACK (8; 0 rescales at every max change: the conformance run uses it to test that path).
// SMOLD selects the older builtin spelling (layout as a bool argument) for older Dawn builds.

//#include paged_decode_io

const SLACK: f32 = f32(MSLACK);

var<workgroup> fw: array<f32, FW>;
var<workgroup> hw: array<f16, FW>;
// q^T on its own (not reusing hw): no load of it can be ordered after hw's later writes.
var<workgroup> qw: array<f16, NN * D>;
var<workgroup> alw: array<f32, 8>;
var<workgroup> flagw: u32;

//#if SMOLD
fn ld_k(off: u32) -> subgroup_matrix_left<f16, KK, MM> {
  return subgroupMatrixLoad<subgroup_matrix_left<f16, KK, MM>>(&keyCache, off, false, RS);
}
fn ld_vt(off: u32) -> subgroup_matrix_left<f16, KK, MM> {
  return subgroupMatrixLoad<subgroup_matrix_left<f16, KK, MM>>(&valueCache, off, true, RS);
}
fn ld_qt(off: u32) -> subgroup_matrix_right<f16, NN, KK> {
  return subgroupMatrixLoad<subgroup_matrix_right<f16, NN, KK>>(&qw, off, false, NN);
}
fn ld_pt(off: u32) -> subgroup_matrix_right<f16, NN, KK> {
  return subgroupMatrixLoad<subgroup_matrix_right<f16, NN, KK>>(&hw, off, false, NN);
}
fn st_s(off: u32, s: subgroup_matrix_result<f32, NN, MM>) {
  subgroupMatrixStore(&fw, off, s, false, NN);
}
fn st_o(off: u32, o: subgroup_matrix_result<f32, NN, MM>) {
  subgroupMatrixStore(&fw, off, o, false, NN);
}
fn ld_o(off: u32) -> subgroup_matrix_result<f32, NN, MM> {
  return subgroupMatrixLoad<subgroup_matrix_result<f32, NN, MM>>(&fw, off, false, NN);
}
//#else
fn ld_k(off: u32) -> subgroup_matrix_left<f16, KK, MM> {
  return subgroupMatrixLoad<subgroup_matrix_left<f16, KK, MM>, row_major>(&keyCache, off, RS);
}
fn ld_vt(off: u32) -> subgroup_matrix_left<f16, KK, MM> {
  return subgroupMatrixLoad<subgroup_matrix_left<f16, KK, MM>, col_major>(&valueCache, off, RS);
}
fn ld_qt(off: u32) -> subgroup_matrix_right<f16, NN, KK> {
  return subgroupMatrixLoad<subgroup_matrix_right<f16, NN, KK>, row_major>(&qw, off, NN);
}
fn ld_pt(off: u32) -> subgroup_matrix_right<f16, NN, KK> {
  return subgroupMatrixLoad<subgroup_matrix_right<f16, NN, KK>, row_major>(&hw, off, NN);
}
fn st_s(off: u32, s: subgroup_matrix_result<f32, NN, MM>) {
  subgroupMatrixStore<row_major>(&fw, off, s, NN);
}
fn st_o(off: u32, o: subgroup_matrix_result<f32, NN, MM>) {
  subgroupMatrixStore<row_major>(&fw, off, o, NN);
}
fn ld_o(off: u32) -> subgroup_matrix_result<f32, NN, MM> {
  return subgroupMatrixLoad<subgroup_matrix_result<f32, NN, MM>, row_major>(&fw, off, NN);
}
//#endif

//#include online_softmax

// Block id of key j when it is a real cache block, else -1.
fn block_of(seq: u32, j: u32) -> i32 {
  let blk = md[p.blockTableOff + seq * p.maxBlocksPerSeq + (j >> p.blockShift)];
  return select(-1, blk, blk >= 0 && u32(blk) < p.numBlocks);
}

// Offset (halves) of key j's row for KV head kvh; block 0 for keys past the end or invalid blocks.
fn row_base(seq: u32, seqLen: u32, j: u32, kvh: u32) -> u32 {
  var b = 0u;
  if (j < seqLen) {
    b = u32(max(block_of(seq, j), 0));
  }
  return ((b << p.blockShift) + (j & (p.blockSize - 1u))) * RS + kvh * D;
}

@compute @workgroup_size(SG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let seg = wid.x;
  let kvh = wid.y;
  let seq = wid.z;
  let seqLen = u32(md[p.seqLensOff + seq]);
  let qtok = u32(md[p.qslOff + seq]);
  var kStart = 0u;
  if (p.window > 0u && seqLen > p.window) {
    kStart = seqLen - p.window;
  }
  let kAlign = kStart - kStart % CH;
  let numChunks = (seqLen - kAlign + CH - 1u) / CH;
  let c0 = min(seg * p.segTiles, numChunks);
  let c1 = min(c0 + p.segTiles, numChunks);

  // q * scale of the 8 heads as f16, [dim][head] (Q^T row-major); heads 8..NN-1 zero.
  for (var i = lane; i < FW; i += SG) {
    hw[i] = f16(0.0);
  }
  for (var i = lane; i < NN * D; i += SG) {
    qw[i] = f16(0.0);
  }
  workgroupBarrier();
  for (var i = lane; i < 8u * D4; i += SG) {
    let q = query[(qtok * p.numQueryHeads + kvh * 8u) * D4 + i] * p.scale;
    let at = 4u * (i % D4) * NN + i / D4;
    qw[at] = f16(q.x);
    qw[at + NN] = f16(q.y);
    qw[at + 2u * NN] = f16(q.z);
    qw[at + 3u * NN] = f16(q.w);
  }
  workgroupBarrier();
  var qt: array<subgroup_matrix_right<f16, NN, KK>, KS>;
//#unroll k KS
  qt[$k] = ld_qt($k * KK * NN);
//#end
  // hw holds P^T: [key][head], columns 8..NN-1 stay zero.

  let h = lane % 8u;
  let g = lane / 8u;
  var acc: array<subgroup_matrix_result<f32, NN, MM>, DT>;
//#unroll d DT
  acc[$d] = subgroup_matrix_result<f32, NN, MM>();
//#end
  var m_ref = NEG;
  var lsum = 0.0;
  var vl: array<subgroup_matrix_left<f16, KK, MM>, PK * DT>;
  var sv: array<f32, KPL>;

  for (var c = c0; c < c1; c++) {
    let j0 = kAlign + c * CH;
    // 1. V^T tiles of the chunk in flight, then S^T = K Q^T per M-tile of keys.
//#unroll t PK
    {
      let vb = row_base(seq, seqLen, j0 + $t * KK, kvh);
//#unroll d DT
      vl[$t * DT + $d] = ld_vt(vb + $d * MM);
//#end
    }
//#end
//#unroll t MT
    {
      let kb = row_base(seq, seqLen, j0 + $t * MM, kvh);
      var s = subgroup_matrix_result<f32, NN, MM>();
//#unroll k KS
      s = subgroupMatrixMultiplyAccumulate(ld_k(kb + $k * KK), qt[$k], s);
//#end
      st_s($t * MM * NN, s);
    }
//#end
    workgroupBarrier();
    // 2. Online softmax for head h over this lane's KPL keys, then across the NG groups.
    var mt = NEG;
    var okb = false;
//#unroll i KPL
    {
      let j = j0 + g * KPL + $i;
      if (($i % MM) == 0u) {
        okb = j < seqLen && block_of(seq, j) >= 0;
      }
      let ok = okb && j >= kStart && j < seqLen;
      sv[$i] = select(NEG, softcap_logit(fw[(g * KPL + $i) * NN + h], p.softcap), ok);
      mt = max(mt, sv[$i]);
    }
//#end
    for (var o = 8u; o < SG; o <<= 1u) {
      mt = max(mt, subgroupShuffleXor(mt, o));
    }
    let grow = mt > m_ref + SLACK;
    let m_new = select(m_ref, mt, grow);
    let alpha = exp(m_ref - m_new);
    let need = grow && m_ref > NEG_HALF;
    m_ref = m_new;
    lsum *= alpha;
//#unroll i KPL
    {
      let pj = prob(sv[$i], m_new);
      lsum += pj;
      hw[(g * KPL + $i) * NN + h] = f16(pj);
    }
//#end
    if (g == 0u) {
      alw[h] = alpha;
    }
    let anyNeed = subgroupAny(need);
    if (lane == 0u) {
      flagw = select(0u, 1u, anyNeed);
    }
    if (workgroupUniformLoad(&flagw) != 0u) {
      // Rare: a head's max moved by more than SLACK. acc -> fw ([dim][head]), scale, back.
//#unroll d DT
      st_o($d * MM * NN, acc[$d]);
//#end
      workgroupBarrier();
      for (var e = lane; e < D * NN; e += SG) {
        if (e % NN < 8u) {
          fw[e] *= alw[e % NN];
        }
      }
      workgroupBarrier();
//#unroll d DT
      acc[$d] = ld_o($d * MM * NN);
//#end
      workgroupBarrier();
    }
    // 3. O^T += V^T P^T.
//#unroll t PK
    {
      let pt = ld_pt($t * KK * NN);
//#unroll d DT
      acc[$d] = subgroupMatrixMultiplyAccumulate(vl[$t * DT + $d], pt, acc[$d]);
//#end
    }
//#end
    workgroupBarrier();
  }

  // acc -> fw as [dim][head], then the partial buffers of the 8 heads (contiguous rows).
//#unroll d DT
  st_o($d * MM * NN, acc[$d]);
//#end
  workgroupBarrier();
  let base = (seq * p.numSegments + seg) * p.numQueryHeads + kvh * 8u;
  for (var i = lane; i < 8u * D4; i += SG) {
    let at = 4u * (i % D4) * NN + i / D4;
    partialO[base * D4 + i] = vec4<f32>(fw[at], fw[at + NN], fw[at + 2u * NN], fw[at + 3u * NN]);
  }
  for (var o = 8u; o < SG; o <<= 1u) {
    lsum += subgroupShuffleXor(lsum, o);
  }
  if (g == 0u) {
    partialML[base + h] = vec2<f32>(m_ref, lsum);
  }
}
