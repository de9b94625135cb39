// paged_decode_mma: split-KV decode on matrix units (Dawn `chromium-experimental-subgroup-matrix`,
// VK_KHR_cooperative_matrix on Vulkan) for GQA-8 layers with an f16 cache, on adapters that offer an
// f16 x f16 -> f32 configuration with M = 16 and K = 16 (MM x NN x KK: 16 x 8 x 16 or 16 x 16 x 16
// on the H100). Optional and opt-in (decodeVariant 'mma'): the backend's 'auto' keeps gqa8, which it
// does not beat (bench/webgpu/NOTES.md, session 3). One workgroup = one subgroup of SG lanes.
//
// Why: the SIMT kernels spend ~2 * 8 * D FMAs plus shuffles per (token, KV head) and are issue-bound
// for f16 caches (an f32 cache runs at 93% of copy). Here both products run on matrix units, f32
// accumulation throughout:
//   S^T (keys x heads) = K (keys x D) * Q^T (D x heads)       left: K rows; right: q * scale (f16)
//   O^T (D x heads)   += V^T (D x keys) * P^T (keys x heads)  left: V rows read column-major
// Matrix types (Dawn's spec): subgroup_matrix_left<T, K, M> is M rows x K columns,
// subgroup_matrix_right<T, N, K> is K rows x N columns, subgroup_matrix_result<T, N, M> is M x N;
// loads/stores take (pointer to an array of T, offset and stride in elements of T), row-major:
// element [r][c] at offset + r * stride + c; column-major: offset + c * stride + r. Their pointers
// must be 16-byte aligned: see the note at `flagw`.
//
// Algorithm: workgroup (segment, kvHead, decodeSeq); chunks of CH keys aligned to CH. A paged block
// of one KV head is a blockSize x D row-major matrix with row stride RS = Hkv * D halves, so M-row
// tiles (M = 16 divides every block size) load straight from the cache. Per chunk:
//   0. V^T tiles of the chunk loaded (in flight during 1 and 2).
//   1. S^T = sum_k K_k * Qt_k per M-row tile of keys (Qt: q^T tiles held for the whole kernel),
//      stored to `fw` ([key][head], f32).
//   2. Online softmax in SIMT: lane (head h = lane % 8, group g = lane / 8) takes KPL keys of its
//      head (one block): mask (window, sequence end, invalid block), softcap, chunk max over the NG
//      groups (shuffles), p = exp(s - m) as f16 to `hw` ([key][head], the P^T right operand). The
//      running max moves only when a head's chunk max exceeds it by more than SLACK (p <= e^8 fits
//      f16), so the accumulator rescale (store to fw, scale per head, load) is rare after the
//      first chunk; a uniform flag (workgroupUniformLoad, which is also the barrier before the P^T
//      loads) gates it. lsum sums the same f32 p whose f16 rounding goes into P^T.
//   3. O^T += V^T * P^T.
// End: acc stored to `fw` ([dim][head]) and written with (m, l) to the partial buffers in the
// gqa8 layout; paged_decode_reduce merges the segments and counts the sink exactly once.
// Keys of an invalid block read block 0 and keys past the sequence end read block 0: finite cache
// rows, masked (p = 0). NN = 16 pads heads 8..15 with zeros (q rows and P^T columns).
// Constants: SG, D, D4, MM, NN, KK, CH, MT = CH / MM, KS = D / KK, DT = D / MM, PK = CH / KK,
// NG = SG / 8, KPL = CH / NG (<= 16), FW = NN * max(CH, D), RS = Hkv * D, NVT = PK * DT,
// MSLACK (0 = rescale at every rise). SMOLD selects the older builtin spelling (layout as a bool
// argument) for older Dawn builds.
// Measured and removed in session 3 (NOTES.md): K/V staged through workgroup memory by 16-byte
// loads (scalar f16 stores into the matrix arrays: 25-28% of copy), prefetching the next chunk's
// tiles in registers (26%), reductions without subgroup operations (no effect on correctness).

//#include paged_decode_io

const SLACK: f32 = f32(MSLACK);

var<workgroup> qw: array<f16, NN * D>;
var<workgroup> hw: array<f16, FW>;
var<workgroup> fw: array<f32, FW>;
var<workgroup> alw: array<f32, 8>;
// Every workgroup variable of this kernel is a multiple of 16 bytes. The matrix loads and stores
// need 16-byte-aligned addresses (Vulkan: the pointer aligned to min(16, row bytes)), and Dawn /
// the driver place workgroup variables one after another: with a 4-byte u32 flag among them (the
// session-2 kernel), the arrays behind it sat 4 bytes off and every matrix access to them landed 4
// bytes early (H100, session 3: a host model with exactly that shift reproduces the wrong lse of
// the whole decode table to 4e-7). The flag is element 0 of a 16-byte array.
var<workgroup> flagw: array<u32, 4>;

alias LeftM = subgroup_matrix_left<f16, KK, MM>;
alias RightM = subgroup_matrix_right<f16, NN, KK>;
alias ResM = subgroup_matrix_result<f32, NN, MM>;

// Matrix loads and stores in one place. ld_k(off): K tile, MM keys x KK dims, row-major from
// the cache; ld_vt(off): V^T tile, MM dims x KK keys, read column-major from V rows.
//#if SMOLD
fn ld_qt(off: u32) -> RightM { return subgroupMatrixLoad<RightM>(&qw, off, false, NN); }
fn ld_pt(off: u32) -> RightM { return subgroupMatrixLoad<RightM>(&hw, off, false, NN); }
fn st_f(off: u32, s: ResM) { subgroupMatrixStore(&fw, off, s, false, NN); }
fn ld_f(off: u32) -> ResM { return subgroupMatrixLoad<ResM>(&fw, off, false, NN); }
fn ld_k(off: u32) -> LeftM { return subgroupMatrixLoad<LeftM>(&keyCache, off, false, RS); }
fn ld_vt(off: u32) -> LeftM { return subgroupMatrixLoad<LeftM>(&valueCache, off, true, RS); }
//#else
fn ld_qt(off: u32) -> RightM { return subgroupMatrixLoad<RightM, row_major>(&qw, off, NN); }
fn ld_pt(off: u32) -> RightM { return subgroupMatrixLoad<RightM, row_major>(&hw, off, NN); }
fn st_f(off: u32, s: ResM) { subgroupMatrixStore<row_major>(&fw, off, s, NN); }
fn ld_f(off: u32) -> ResM { return subgroupMatrixLoad<ResM, row_major>(&fw, off, NN); }
fn ld_k(off: u32) -> LeftM { return subgroupMatrixLoad<LeftM, row_major>(&keyCache, off, RS); }
fn ld_vt(off: u32) -> LeftM { return subgroupMatrixLoad<LeftM, col_major>(&valueCache, off, RS); }
//#endif
// Tile base of chunk row r in the paged cache.
fn tile_base(seq: u32, seqLen: u32, j0: u32, r: u32, kvh: u32) -> u32 { return row_base(seq, seqLen, j0 + r, kvh); }

//#include online_softmax

// Reductions over the NG lanes of one head (lane % 8) and a vote over the subgroup.
fn head_max(x: f32, lane: u32) -> f32 {
  var m = x;
  for (var o = 8u; o < SG; o <<= 1u) {
    m = max(m, subgroupShuffleXor(m, o));
  }
  return m;
}
fn head_sum(x: f32, lane: u32) -> f32 {
  var m = x;
  for (var o = 8u; o < SG; o <<= 1u) {
    m += subgroupShuffleXor(m, o);
  }
  return m;
}
fn any_flag(b: bool, lane: u32) -> u32 {
  return select(0u, 1u, subgroupAny(b));
}

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
  let kStart = first_key(seqLen);
  let kAlign = kStart - kStart % CH;
  let chunks = segment_tiles(seg, seqLen, kAlign, CH);
  let c0 = chunks.x;
  let c1 = chunks.y;

  // q * scale of the 8 heads as f16, [dim][head] (Q^T row-major); heads 8..NN-1 and P^T's padding
  // columns stay zero (Dawn zero-fills workgroup memory; written explicitly anyway).
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
  var qt: array<RightM, KS>;
//#unroll k KS
  qt[$k] = ld_qt($k * KK * NN);
//#end

  let h = lane % 8u;
  let g = lane / 8u;
  var acc: array<ResM, DT>;
//#unroll d DT
  acc[$d] = ResM();
//#end
  var m_ref = NEG;
  var lsum = 0.0;
  var sv: array<f32, KPL>;
  var vl: array<LeftM, NVT>;

  for (var c = c0; c < c1; c++) {
    let j0 = kAlign + c * CH;
    // V^T tiles of the chunk in flight before the QK products (their latency hides behind them).
//#unroll t PK
    {
      let vb = tile_base(seq, seqLen, j0, $t * KK, kvh);
//#unroll d DT
      vl[$t * DT + $d] = ld_vt(vb + $d * MM);
//#end
    }
//#end
    // 1. S^T = K Q^T per M-row tile of keys.
//#unroll t MT
    {
      let kb = tile_base(seq, seqLen, j0, $t * MM, kvh);
      var s = ResM();
//#unroll k KS
      s = subgroupMatrixMultiplyAccumulate(ld_k(kb + $k * KK), qt[$k], s);
//#end
      st_f($t * MM * NN, s);
    }
//#end
    workgroupBarrier();
    // 2. Online softmax for head h over this lane's KPL keys (one block), then across the groups.
    let jl = j0 + g * KPL;
    let okb = jl < seqLen && block_of(seq, jl) >= 0;
    var mt = NEG;
//#unroll i KPL
    {
      let j = jl + $i;
      let ok = okb && j >= kStart && j < seqLen;
      sv[$i] = select(NEG, softcap_logit(fw[(g * KPL + $i) * NN + h], p.softcap), ok);
      mt = max(mt, sv[$i]);
    }
//#end
    mt = head_max(mt, lane);
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
    let anyNeed = any_flag(need, lane);
    if (lane == 0u) {
      flagw[0] = anyNeed;
    }
    if (workgroupUniformLoad(&flagw[0]) != 0u) {
      // Rare: a head's max moved by more than SLACK. acc -> fw ([dim][head]), scale, back.
//#unroll d DT
      st_f($d * MM * NN, acc[$d]);
//#end
      workgroupBarrier();
      for (var e = lane; e < D * NN; e += SG) {
        if (e % NN < 8u) {
          fw[e] *= alw[e % NN];
        }
      }
      workgroupBarrier();
//#unroll d DT
      acc[$d] = ld_f($d * MM * NN);
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
  st_f($d * MM * NN, acc[$d]);
//#end
  workgroupBarrier();
  let base = (seq * p.numSegments + seg) * p.numQueryHeads + kvh * 8u;
  for (var i = lane; i < 8u * D4; i += SG) {
    let at = 4u * (i % D4) * NN + i / D4;
    partialO[base * D4 + i] = vec4<f32>(fw[at], fw[at + NN], fw[at + 2u * NN], fw[at + 3u * NN]);
  }
  lsum = head_sum(lsum, lane);
  if (g == 0u) {
    partialML[base + h] = vec2<f32>(m_ref, lsum);
  }
}
