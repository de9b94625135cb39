// paged_decode: split-KV decode attention over the paged cache, one query token per sequence.
//
// Algorithm (flash-decoding): workgroup (segment, kvHead, decodeSeq) handles the G = Hq / Hkv
// query heads that share one KV head, over one segment of the sequence's visible keys. The G heads
// share every K/V load: a key tile is read from global memory once into workgroup memory and used
// by all G heads. Per key tile of TILE tokens:
//   1. K and V rows of the tile (prefetched into registers during the previous tile) go to
//      workgroup memory as f32; the loads of the next tile are issued right after, so they are in
//      flight while this tile is computed.
//   2. QK: one invocation per (head, token): s = softcap(q.k) (q pre-scaled), NEG when masked.
//   3. online softmax: the tile max per head (subgroup shuffles where the adapter's subgroups hold
//      a whole TILE, else a scan of workgroup memory), p = exp(s - m_new), alpha = exp(m_old - m_new).
//   4. PV: one invocation per (token group, head, vec4 of the head dim): acc = acc * alpha + sum p v.
// At the end the token groups are summed in workgroup memory and the segment writes its
// unnormalised state (m, l, acc) to the partial buffers. The sink is not used here:
// paged_decode_reduce merges the segments and counts the sink exactly once (online_softmax).
// Sliding window: only keys [seqLen - W, seqLen) are visited at all; tiles before it are never read.
//
// Layouts (vec4 units):
//   query          [numTokens, Hq, D4] f32; the decode token of sequence s is row queryStartLoc[s]
//   key/valueCache [slot, Hkv, D4] KV4, slot = blockTable[s][j / blockSize] * blockSize + j % blockSize
//   partialO       [numDecodes, numSegments, Hq, D4] f32;  partialML [.., Hq] vec2 (m, l)
// Grid: (numSegments, Hkv, numDecodes); workgroup WG = 256 invocations.
// Inner loops run to `CONST + roll()`: roll() is 0 (unrolled) on GPUs and a runtime zero on software
// adapters, whose compilers take minutes over unrolled code (see ComposeOptions.rolled).
// Constants from the generated header: D4 = headSize / 4, KD4P = D4 + 1 (padded K row: conflict-free
// column reads), G, TILE = 2048 / headSize, QKR = ceil(G*TILE / WG), TG = token groups of the PV
// step, PVR = ceil(TG*G*D4 / WG), LD = TILE*D4 / WG (vec4 loads per invocation per tile).

//#include paged_decode_io

var<workgroup> qs: array<vec4<f32>, G * D4>;
var<workgroup> ks: array<vec4<f32>, TILE * KD4P>;
var<workgroup> vs: array<vec4<f32>, TILE * D4>;
var<workgroup> sc: array<f32, G * TILE>;
var<workgroup> pr: array<f32, G * TILE>;
var<workgroup> alpha: array<f32, G>;
var<workgroup> msh: array<f32, G>;

//#include online_softmax

// Offset (vec4 units) of key position j of sequence `seq` for KV head kvh, column c; -1 when the
// position is past the sequence or its block id is out of range (never read out of bounds).
fn kv_offset(seq: u32, seqLen: u32, j: u32, kvh: u32, c: u32) -> i32 {
  if (j >= seqLen) {
    return -1;
  }
  let blk = md[p.blockTableOff + seq * p.maxBlocksPerSeq + j / p.blockSize];
  if (blk < 0 || u32(blk) >= p.numBlocks) {
    return -1;
  }
  let slot = u32(blk) * p.blockSize + j % p.blockSize;
  return i32(slot * p.rowVec4 + kvh * D4 + c);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let seg = wid.x;
  let kvh = wid.y;
  let seq = wid.z;
  let seqLen = u32(md[p.seqLensOff + seq]);
  let qtok = u32(md[p.qslOff + seq]);
  let kStart = first_key(seqLen);
  let tiles = segment_tiles(seg, seqLen, kStart, TILE);
  let t0 = tiles.x;
  let t1 = tiles.y;

  for (var i = tid; i < G * D4; i += WG) {
    let h = i / D4;
    qs[i] = query[(qtok * p.numQueryHeads + kvh * G + h) * D4 + i % D4] * p.scale;
  }

  var m_run: array<f32, QKR>;
  var s_reg: array<f32, QKR>;
  for (var r = 0u; r < QKR; r++) {
    m_run[r] = NEG;
  }
  var acc: array<vec4<f32>, PVR>;
  var lsum: array<f32, PVR>;
  var kr: array<vec4<f32>, LD>;
  var vr: array<vec4<f32>, LD>;

  // Prefetch of the first tile.
  for (var i = 0u; i < LD; i++) {
    let e = tid + i * WG;
    let off = kv_offset(seq, seqLen, kStart + t0 * TILE + e / D4, kvh, e % D4);
    kr[i] = vec4<f32>(0.0);
    vr[i] = vec4<f32>(0.0);
    if (off >= 0 && t0 < t1) {
      kr[i] = kv_unpack(keyCache[off]);
      vr[i] = kv_unpack(valueCache[off]);
    }
  }

  for (var tile = t0; tile < t1; tile++) {
    workgroupBarrier();
    for (var i = 0u; i < LD; i++) {
      let e = tid + i * WG;
      ks[(e / D4) * KD4P + e % D4] = kr[i];
      vs[e] = vr[i];
    }
    // Issue the next tile's loads now; they complete while this tile is computed.
    if (tile + 1u < t1) {
      for (var i = 0u; i < LD; i++) {
        let e = tid + i * WG;
        let off = kv_offset(seq, seqLen, kStart + (tile + 1u) * TILE + e / D4, kvh, e % D4);
        kr[i] = vec4<f32>(0.0);
        vr[i] = vec4<f32>(0.0);
        if (off >= 0) {
          kr[i] = kv_unpack(keyCache[off]);
          vr[i] = kv_unpack(valueCache[off]);
        }
      }
    }
    workgroupBarrier();

    // QK: invocation idx = (head h, token t) of the tile.
    for (var r = 0u; r < QKR; r++) {
      let idx = tid + r * WG;
      let h = idx / TILE;
      let t = idx % TILE;
      var s = NEG;
      if (idx < G * TILE && kStart + tile * TILE + t < seqLen) {
        var d = vec4<f32>(0.0);
        for (var c = 0u; c < D4 + roll(); c++) {
          d += qs[h * D4 + c] * ks[t * KD4P + c];
        }
        s = softcap_logit(d.x + d.y + d.z + d.w, p.softcap);
      }
      s_reg[r] = s;
      if (idx < G * TILE) {
        sc[idx] = s;
      }
    }
    workgroupBarrier();

    // Online softmax: tile max per head, probabilities, rescale factor.
    for (var r = 0u; r < QKR; r++) {
      let idx = tid + r * WG;
      let h = idx / TILE;
      let t = idx % TILE;
      var mx = s_reg[r];
//#if SUBGROUPS
      // The TILE invocations of head h are consecutive and lie in one subgroup (subgroupMinSize >= TILE).
      for (var o = 1u; o < TILE; o <<= 1u) {
        mx = max(mx, subgroupShuffleXor(mx, o));
      }
//#else
      if (idx < G * TILE) {
        for (var u = 0u; u < TILE + roll(); u++) {
          mx = max(mx, sc[h * TILE + u]);
        }
      }
//#endif
      if (idx < G * TILE) {
        let m_new = max(m_run[r], mx);
        pr[idx] = prob(s_reg[r], m_new);
        if (t == 0u) {
          alpha[h] = rescale(m_run[r], m_new);
        }
        m_run[r] = m_new;
      }
    }
    workgroupBarrier();

    // PV: invocation u = (token group tg, head h, column c).
    for (var r = 0u; r < PVR; r++) {
      let u = tid + r * WG;
      if (u < TG * G * D4) {
        let tg = u / (G * D4);
        let h = (u / D4) % G;
        let c = u % D4;
        let a = alpha[h];
        var av = acc[r] * a;
        var lv = lsum[r] * a;
        for (var t = tg; t < TILE + roll(); t += TG) {
          let pv = pr[h * TILE + t];
          av += pv * vs[t * D4 + c];
          lv += pv;
        }
        acc[r] = av;
        lsum[r] = lv;
      }
    }
  }

  // Sum the token groups (vs and sc are free now) and publish the running max per head.
  workgroupBarrier();
  for (var r = 0u; r < QKR; r++) {
    let idx = tid + r * WG;
    if (idx < G * TILE && idx % TILE == 0u) {
      msh[idx / TILE] = m_run[r];
    }
  }
  for (var r = 0u; r < PVR; r++) {
    let u = tid + r * WG;
    if (u < TG * G * D4) {
      vs[u] = acc[r];
      if (u % D4 == 0u) {
        sc[u / D4] = lsum[r];
      }
    }
  }
  workgroupBarrier();
  let hq0 = kvh * G;
  let base = (seq * p.numSegments + seg) * p.numQueryHeads;
  for (var u = tid; u < G * D4; u += WG) {
    let h = u / D4;
    var a = vec4<f32>(0.0);
    var l = 0.0;
    for (var tg = 0u; tg < TG; tg++) {
      a += vs[tg * G * D4 + u];
      l += sc[tg * G + h];
    }
    partialO[(base + hq0 + h) * D4 + u % D4] = a;
    if (u % D4 == 0u) {
      partialML[base + hq0 + h] = vec2<f32>(msh[h], l);
    }
  }
}
