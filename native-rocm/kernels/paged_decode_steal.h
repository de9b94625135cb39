// paged_decode, row form with tile stealing: batch-256-class decode at GPT-OSS shape (NVIDIA, head
// size 64, one query token per sequence), included by paged_decode.hip after paged_decode_rows.h.
//
// Why: the row kernel gives each block one whole sequence. On the H100 the SMs do not get the same
// share of DRAM bandwidth (per-block trace, bench/rocm/NOTES.md pass 4: at batch 256 x 1K the blocks
// of some SMs finish at 164 us, others at 193 us; the 8 blocks alone on an SM at 146 us), so the
// last ~15% of each call ran with fewer and fewer blocks reading. Here blocks that finish early
// take tiles of sequences still running, and the sequence is merged from its pieces at the end.
//
// Work: block b owns sequences b, b + grid, ... It takes the first CH0 tiles (16 keys each) of an own
// sequence without asking anyone, then grants of CH more tiles from the sequence's counter. With
// nothing left of its own, it steals: wave 0 looks at every sequence's counter and takes CHT tiles
// of the one with the most tiles not yet granted (compare-and-swap, which also gives it a partial
// slot), then asks that counter for more as the owner does.
// Counters (workspace, zeroed by the host before each launch), per sequence z:
//   cnt[2z]     = (thieves << 24) | tiles granted beyond the owner's first CH0
//   cnt[2z + 1] = tiles finished by participants that wrote a partial
// Results: a block that did all of a sequence's tiles alone (the owner, not stolen from) writes the
// output straight from registers, sink included, as the row kernel does. Otherwise each participant
// writes its partial (slot 0 = owner, 1.. = thieves; paged_common.h layout with S = stealSlots),
// fences, and adds its tile count to cnt[2z + 1]; the one whose addition completes the sequence
// merges the slots and counts the sink once. Completion counts tiles, not participants, so a thief
// that arrives after the last grant never enters.
// Pipeline (as the row kernel: ST stages, one barrier per tile): every stage carries a descriptor
// (sequence, first key, slot) the consumer reads after the barrier, so the producer's order may be
// dynamic. Grant requests of thread 0 are issued one grant ahead and published through shared memory
// (two buffers by parity) only before the issue that ends the current grant, so their latency hides
// behind the grant's tiles.
#pragma once

#ifndef SK_PD_STEAL
#define SK_PD_STEAL 1
#endif

#ifndef SK_PD_STEAL_CH
#define SK_PD_STEAL_CH 2
#endif
#ifndef SK_PD_STEAL_CHT
#define SK_PD_STEAL_CHT 1
#endif
constexpr int kStealSlots = 16;                   // partials per sequence: the owner's and up to 15 thieves'
constexpr int kStealFirstTiles = 4;              // CH0: an owner's first tiles, taken without asking
constexpr int kStealOwnerTiles = SK_PD_STEAL_CH;  // CH: tiles per grant of an owner
constexpr int kStealTiles = SK_PD_STEAL_CHT;      // CHT: tiles per grant of a thief

#if SINKRT_HAS_MMA && defined(SINKRT_NVIDIA)
// Merges the partial slots [0, np) of one sequence for wave w's KV head (un.kvh) and writes the
// output rows, sink counted once. Lanes: row lane / (32 / kRows), DPL dimensions each.
template <int D>
__device__ __forceinline__ void steal_merge(const PagedParams& p, const Unit& un, int np) {
  constexpr int LPR = 32 / kRows, DPL = D / LPR;
  static_assert(LPR * kRows == 32 && DPL % 4 == 0, "merge lanes");
  const int lane = threadIdx.x % 32, r = lane / LPR, d0 = (lane % LPR) * DPL, S = p.stealSlots;
  if (r >= un.rr.rowsHere) return;
  const size_t item = ((size_t)un.z * p.numKvHeads + un.kvh) * p.numChunks + un.chunk;
  float M = -INFINITY;
#pragma unroll 4
  for (int j = 0; j < np; j++) M = fmaxf(M, __ldcg(p.partialML + ((item * S + j) * kRows + r) * 2));
  const float mUse = M == -INFINITY ? 0.f : M;
  float L = 0.f, acc[DPL];
#pragma unroll
  for (int d = 0; d < DPL; d++) acc[d] = 0.f;
  for (int j = 0; j < np; j++) {
    const size_t base = (item * S + j) * kRows + r;
    const float f = exp2f(__ldcg(p.partialML + base * 2) - mUse);
    L += __ldcg(p.partialML + base * 2 + 1) * f;
    const float4* src = reinterpret_cast<const float4*>(p.partialO + base * D + d0);
#pragma unroll
    for (int v = 0; v < DPL / 4; v++) {
      const float4 x = __ldcg(src + v);
      acc[4 * v] += x.x * f;
      acc[4 * v + 1] += x.y * f;
      acc[4 * v + 2] += x.z * f;
      acc[4 * v + 3] += x.w * f;
    }
  }
  const int row = un.rr.rowBase + r, t = row / p.G, h = un.kvh * p.G + row % p.G;
  const float sink2 = p.sinks ? p.sinks[h] * kLog2e : -INFINITY;
  const size_t outRow = (size_t)(un.rr.qStart + t) * p.numQueryHeads + h;
  float* lseOut = (d0 == 0 && p.lse) ? p.lse + outRow : nullptr;
#pragma unroll
  for (int d = 0; d < DPL; d++) {
    p.output[outRow * D + d0 + d] = finish_row(acc[d], M, L, sink2, lseOut);
    lseOut = nullptr;
  }
}
#endif

// Two blocks per SM as the row kernel (128 registers; without the bound nvcc takes 169, one block).
template <class T, int D>
__global__ void __launch_bounds__(kRowMaxThreads, 2) paged_decode_steal_kernel(PagedParams p, int numSeqs) {
#if SINKRT_HAS_MMA && defined(SINKRT_NVIDIA)
  using namespace skmma;
  constexpr int KW = keys_per_wave(D);
  constexpr int ST = SK_PD_ROW_STAGES;
  constexpr int CH0 = kStealFirstTiles, CH = kStealOwnerTiles, CHT = kStealTiles;
  static_assert(ST >= 2, "the pipeline needs two stages at least");
  extern __shared__ __align__(16) sk_u16 smem[];
  __shared__ int sDesc[ST][3];   // stage -> sequence (-1: none), first key, slot
  __shared__ unsigned sGrant[2];  // thread 0's grant results, by parity
  __shared__ int sSteal[3];      // a steal: sequence (-1: none), first tile, slot
  __shared__ int sLast;
  const int tid = threadIdx.x, w = tid / 32;
  const int LD = p.numKvHeads * D + 8;
  const int stageElems = 2 * KW * LD;
  unsigned* cnt = p.stealCnt;
  const int S = p.stealSlots;
#if SK_PD_TRACE
  unsigned smid;
  asm volatile("mov.u32 %0, %%smid;" : "=r"(smid));
  SK_ROW_TRACE(0, smid);
  SK_ROW_TRACE(1, sk_now());
  int traced = 0;
#endif

  // Producer (block-uniform but for g): keys [pk, pke) of sequence pz (slot ps, pnT tiles) are
  // granted and not yet copied; home is the own sequence being worked or next.
  Unit pun;
  int pz = -1, ps = 0, pk = 0, pke = 0, pnT = 0, par = 0, home = blockIdx.x;  // home: the next own sequence
  bool pAsked = false;  // a grant request for pz is outstanding (its result lands in sGrant[par])
  RowGather<D> g(p);
  unsigned pend = 0;  // thread 0: the outstanding grant request's result
  bool pendLive = false;
  auto tiles_of = [&](const Unit& un) { return un.segEnd > un.segStart ? (un.segEnd - un.segStart + KW - 1) / KW : 0; };
  // Asks (thread 0) for the next grant of pz where tiles may remain beyond tile t1.
  auto ask = [&](int t1) {
    pAsked = t1 < pnT && !(p.stealTest && ps == 0);
    if (pAsked && tid == 0) {
      pend = atomicAdd(cnt + 2 * pz, (unsigned)(ps == 0 ? CH : CHT));
      pendLive = true;
    }
  };
  // Starts on tiles [t0, t1) of sequence z as slot `slot` (an empty range if z has no query rows).
  auto enter = [&](int z, int slot, int t0, int t1) {
    pz = z;
    ps = slot;
    pnT = 0;
    pk = pke = 0;
    pAsked = false;
    if (!rows_unit(p, z, pun)) return;  // one segment, one chunk: unit z is sequence z
    pnT = tiles_of(pun);
    pk = pun.segStart + t0 * KW;
    pke = min(pun.segEnd, pun.segStart + t1 * KW);
    ask(t1);
  };
  // The sequence with the most tiles not yet granted (wave 0 looks, lane 0 takes CHT of them);
  // returns false when no sequence has any left.
  auto steal = [&]() -> bool {
    if (w == 0) {
      const int lane = tid;
      // Every lane looks at 4 sequences per round, all loads in flight together (the counters from
      // the L2, where the atomics are).
      int bestZ = -1, bestRem = CHT - 1;  // a steal takes CHT tiles at least, else it is not worth a merge
      for (int base = 0; base < numSeqs; base += 128) {
        unsigned c[4];
        int nT[4];
#pragma unroll
        for (int k = 0; k < 4; k++) {
          const int z = base + lane + 32 * k;
          RowRange rr;
          nT[k] = z < numSeqs && row_range(p, p.seqBegin + z, 0, kRows, rr) && rr.hi > rr.lo ? (rr.hi - rr.lo + KW - 1) / KW : 0;
          c[k] = z < numSeqs ? __ldcg(cnt + 2 * z) : 0u;
        }
#pragma unroll
        for (int k = 0; k < 4; k++) {
          const int rem = nT[k] - CH0 - (int)(c[k] & 0xffffffu);
          if ((int)(c[k] >> 24) + 1 < S && rem > bestRem) {
            bestRem = rem;
            bestZ = base + lane + 32 * k;
          }
        }
      }
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) {
        const int r2 = __shfl_xor_sync(0xffffffffu, bestRem, o), z2 = __shfl_xor_sync(0xffffffffu, bestZ, o);
        if (r2 > bestRem || (r2 == bestRem && z2 > bestZ)) {
          bestRem = r2;
          bestZ = z2;
        }
      }
      if (lane == 0) {
        int got = -1, t0 = 0, slot = 0;
        if (bestZ >= 0) {
          RowRange rr;
          row_range(p, p.seqBegin + bestZ, 0, kRows, rr);
          const int nT = (rr.hi - rr.lo + KW - 1) / KW;
          unsigned c = __ldcg(cnt + 2 * bestZ);
          for (;;) {
            const int next = CH0 + (int)(c & 0xffffffu), np = (int)(c >> 24);
            if (next >= nT || np + 1 >= S) break;
            const unsigned old = atomicCAS(cnt + 2 * bestZ, c, c + (1u << 24) + CHT);
            if (old == c) {
              got = bestZ;
              t0 = next;
              slot = np + 1;
              break;
            }
            c = old;
          }
        }
        sSteal[0] = got;
        sSteal[1] = t0;
        sSteal[2] = slot;
      }
    }
    __syncthreads();
    if (sSteal[0] < 0) return false;
    enter(sSteal[0], sSteal[2], sSteal[1], sSteal[1] + CHT);
    return true;
  };
  // The next non-empty range: the next grant of pz (the published result of the request made on
  // entering or at the last grant), else the next own sequence, else a steal; pz = -1 when none.
  auto next_range = [&]() {
    for (;;) {
      if (pz >= 0 && pAsked) {
        const unsigned c = sGrant[par];
        par ^= 1;
        const int t0 = CH0 + (int)(c & 0xffffffu), t1 = t0 + (ps == 0 ? CH : CHT);
        if (t0 < pnT) {
          pk = pun.segStart + t0 * KW;
          pke = min(pun.segEnd, pun.segStart + t1 * KW);
          ask(t1);
          return;
        }
      }
      pz = -1;
      if (home < numSeqs) {
        enter(home, 0, 0, CH0);
        home += gridDim.x;
      } else if (!steal()) {
        return;
      }
      if (pk < pke) return;
    }
  };
  // After a tile's copies: the next tile, and this thread's block-table entries for it.
  auto advance = [&]() {
    pk += KW;
    if (pk >= pke) next_range();
    if (pz >= 0) g.lookup(p, p.blockTable + (size_t)pun.seq * p.maxBlocksPerSeq, pk, pke);
  };
  auto issue = [&](int b) {
    if (pz >= 0) {
      g.copy(p, smem + b * stageElems, smem + b * stageElems + KW * LD, LD, pk, pke);
      if (tid == 0) {
        sDesc[b][0] = pz;
        sDesc[b][1] = pk;
        sDesc[b][2] = ps;
      }
    } else if (tid == 0) {
      sDesc[b][0] = -1;
    }
    sk_copy_commit();
    if (pz >= 0) advance();
  };
  // Thread 0 publishes the outstanding grant result before the barrier that precedes its use: the
  // issue that ends the current grant reads it. Not earlier: under a full DRAM queue an atomic can
  // take longer than a tile, and waiting for it holds the whole block at the barrier.
  auto publish = [&]() {
    if (tid == 0 && pendLive && pk + KW >= pke) {
      sGrant[par] = pend;
      pendLive = false;
    }
  };

  next_range();
  if (pz >= 0) g.lookup(p, p.blockTable + (size_t)pun.seq * p.maxBlocksPerSeq, pk, pke);
  for (int b = 0; b < ST - 1; b++) {
    publish();
    __syncthreads();  // the published grant and (b > 0) the previous issue's switch are seen by all
    issue(b);
  }

  // Consumer: sequence cz (its Unit cun for this wave's KV head) as slot cs, cd tiles done.
  const float sMul = p.softcap > 0.f ? p.scale : p.scale * kLog2e;
  Unit cun;
  int cz = -1, cs = 0, cd = 0, stage = 0;
  QFrag qf[D / 16];
  int qpos[kSlots];
  float m[kSlots], l[kSlots], o[D / 16][kOElems];
  auto finish = [&]() {
    if (cs == 0 && cd == tiles_of(cun)) {
      write_unit_rows<D>(p, cun, m, l, o, 0);
      return;
    }
    cun.seg = cs;
    write_unit_rows<D>(p, cun, m, l, o, S);
    __threadfence();
    __syncthreads();
    if (tid == 0) {
      const unsigned old = atomicAdd(cnt + 2 * cz + 1, (unsigned)cd);
      sLast = (int)(old + cd) == tiles_of(cun) ? (int)(atomicOr(cnt + 2 * cz, 0u) >> 24) + 1 : 0;
    }
    __syncthreads();
    const int np = sLast;
    if (np > 0) {
      __threadfence();
      steal_merge<D>(p, cun, np);
    }
  };
  for (;;) {
    publish();
    sk_copy_wait<ST - 2>();  // this thread's copies of the stage's tile have landed
    __syncthreads();         // everyone's have; everyone is done with the previous tile's stage
    const int z = sDesc[stage][0], kt = sDesc[stage][1], slot = sDesc[stage][2];
    issue(stage == 0 ? ST - 1 : stage - 1);
    if (z < 0) break;
#if SK_PD_TRACE
    if (traced < kRowTraceTiles) SK_ROW_TRACE(4 + traced, sk_now());
    traced++;
#endif
    if (z != cz || slot != cs) {
      if (cz >= 0) finish();
      cz = z;
      cs = slot;
      cd = 0;
      rows_unit(p, z, cun);
      cun.kvh = w;
      begin_unit<D>(p, cun, qf, qpos, m, l, o);
    }
    const sk_u16* Kb = smem + stage * stageElems + w * D;
    attend_tile<T, D, KW>(qf, Kb, Kb + KW * LD, LD, kt, cun.segEnd, qpos, p, sMul, m, l, o);
    cd++;
    stage = stage == ST - 1 ? 0 : stage + 1;
  }
  if (cz >= 0) finish();
  sk_copy_wait<0>();  // no copy may still target shared memory when the block exits
#if SK_PD_TRACE
  SK_ROW_TRACE(3, traced);
  SK_ROW_TRACE(2, sk_now());
#endif
#endif
}
