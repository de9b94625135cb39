// Checks one layer of a real step against the float64 reference (src/backends/reference): the blocks
// the check needs (those holding the new tokens' slots and those of the sampled sequences) are read
// back after the forward, every new token's K/V must sit at its slot (exactly, after
// rounding to the cache dtype), and a sample of query rows (the last row of up to `maxSeqs`
// sequences, every head) must match attendRow over the paged cache within the dtype's tolerance.
// Sampling keeps a check affordable on GPT-OSS shapes, where the plain float64 oracle would take
// minutes for a whole step.

import type { AttentionBackend } from '../backends/backend.js';
import { attendRow, firstVisible, pagedSource, roundToDtype, TOLERANCES } from '../backends/reference/index.js';
import type { Dtype, LayerConfig } from '../backends/types.js';
import type { LayerRun } from './executor.js';

export interface LayerCheck {
  layer: number;
  group: 'full' | 'sliding';
  rowsChecked: number;
  slotsChecked: number;
  outMaxAbsErr: number;
  lseMaxAbsErr: number;
  problems: string[];
}

export async function checkLayer(backend: AttentionBackend, layer: LayerConfig, run: LayerRun, maxSeqs = 4): Promise<LayerCheck> {
  const { meta, inputs, out, cache } = run;
  const dtype = cache.spec.dtype;
  const tol = TOLERANCES[dtype]; // the conformance table's bounds
  const bs = cache.spec.blockSize;
  const stride = Math.max(1, Math.floor(meta.numSeqs / maxSeqs));
  // Cache block id -> its index in the packed read-back.
  const packed = new Map<number, number>();
  const need = (block: number) => {
    if (!packed.has(block)) packed.set(block, packed.size);
  };
  for (let t = 0; t < meta.numTokens; t++) if (meta.slotMapping[t] >= 0) need(Math.floor(meta.slotMapping[t] / bs));
  const tables: Int32Array[] = [];
  for (let s = 0; s < meta.numSeqs; s += stride) {
    const used = Math.ceil(meta.seqLens[s] / bs);
    const row = s * meta.maxBlocksPerSeq;
    const first = Math.max(0, Math.floor(firstVisible(layer, meta.seqLens[s] - 1) / bs));
    const table = new Int32Array(used).fill(-1);
    for (let j = first; j < used; j++) {
      need(meta.blockTable[row + j]);
      table[j] = packed.get(meta.blockTable[row + j])!;
    }
    tables.push(table);
  }
  const { keyCache, valueCache } = await backend.downloadBlocks(cache, Int32Array.from(packed.keys()));
  const problems: string[] = [];
  const row = layer.numKvHeads * layer.headSize;
  let slotsChecked = 0;
  for (let t = 0; t < meta.numTokens; t++) {
    const cacheSlot = meta.slotMapping[t];
    if (cacheSlot < 0) continue;
    const slot = packed.get(Math.floor(cacheSlot / bs))! * bs + (cacheSlot % bs);
    slotsChecked++;
    for (let i = 0; i < row; i++) {
      const k = roundToDtype(inputs.key[t * row + i], dtype);
      const v = roundToDtype(inputs.value[t * row + i], dtype);
      if (keyCache[slot * row + i] !== k || valueCache[slot * row + i] !== v) {
        problems.push(`layer ${run.layer}: token ${t} K/V not found at slot ${cacheSlot} (element ${i})`);
        break;
      }
    }
    if (problems.length > 0) break;
  }
  const hq = layer.numQueryHeads;
  const d = layer.headSize;
  const ref = new Float64Array(d);
  // Queries rounded like the stored values, so the tolerance covers kernel arithmetic only.
  const q = new Float64Array(d);
  let outMax = 0;
  let lseMax = 0;
  let rowsChecked = 0;
  for (let s = 0, n = 0; s < meta.numSeqs && problems.length < 5; s += stride, n++) {
    const t = meta.queryStartLoc[s + 1] - 1;
    const pos = meta.seqLens[s] - 1;
    const src = pagedSource(layer, keyCache, valueCache, bs, tables[n], 0);
    rowsChecked++;
    for (let h = 0; h < hq; h++) {
      const off = (t * hq + h) * d;
      for (let i = 0; i < d; i++) q[i] = roundToDtype(inputs.query[off + i], dtype);
      const lse = attendRow(layer, q, 0, h, src, firstVisible(layer, pos), pos, ref, 0);
      for (let i = 0; i < d; i++) {
        const err = Math.abs(out.output[off + i] - ref[i]);
        if (!(err <= outMax)) outMax = err;
        if (!(err <= tol.outAtol + tol.outRtol * Math.abs(ref[i]))) {
          problems.push(`layer ${run.layer} seq ${s} row ${t} head ${h} dim ${i}: output ${out.output[off + i]} vs reference ${ref[i]}`);
          break;
        }
      }
      if (out.lse) {
        const got = out.lse[t * hq + h];
        const err = lse === -Infinity && got === -Infinity ? 0 : Math.abs(got - lse);
        if (!(err <= lseMax)) lseMax = err;
        if (!(err <= tol.lseAtol)) problems.push(`layer ${run.layer} seq ${s} row ${t} head ${h}: lse ${got} vs reference ${lse}`);
      }
      if (problems.length >= 5) break;
    }
  }
  return { layer: run.layer, group: run.group, rowsChecked, slotsChecked, outMaxAbsErr: outMax, lseMaxAbsErr: lseMax, problems };
}
