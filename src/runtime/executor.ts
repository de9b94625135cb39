// Executes one step plan on the backend, in the thread that owns the backend and the KV caches:
// synthesises q/k/v for every row of the batch and runs every layer's attention through
// backend.forward with the metadata of that layer's KV group (the sliding group's block tables for
// sliding-window layers, when the engine plans them). Buffers are sized once for the step token
// budget (grown only if a plan ever pads past it), so a steady-state step allocates no tensors.

import type { AttentionBackend, KvCache, StepInputs, StepOutputs } from '../backends/backend.js';
import type { Selection } from '../backends/select.js';
import type { StepMetadata } from '../backends/types.js';
import type { StepPlan } from './engine-api.js';
import type { NormalizedModel } from './model.js';
import type { RequestRecord } from './requests.js';
import { fillToken } from './synthetic.js';

export interface LayerRun {
  layer: number;
  group: 'full' | 'sliding';
  meta: StepMetadata;
  inputs: StepInputs;
  out: StepOutputs;
  cache: KvCache;
}

export class StepExecutor {
  private query = new Float32Array(0);
  private key = new Float32Array(0);
  private value = new Float32Array(0);
  private output = new Float32Array(0);
  private lse = new Float32Array(0);
  private rows = 0;

  constructor(
    private readonly backend: AttentionBackend,
    private readonly model: NormalizedModel,
    private readonly caches: KvCache[],
  ) {}

  /** Sizes the buffers for `numTokens` rows (reallocates only when the plan is larger than ever before). */
  private ensure(numTokens: number): void {
    if (numTokens <= this.rows) return;
    const { numQueryHeads: hq, numKvHeads: hkv, headSize: d } = this.model;
    this.rows = numTokens;
    this.query = new Float32Array(numTokens * hq * d);
    this.key = new Float32Array(numTokens * hkv * d);
    this.value = new Float32Array(numTokens * hkv * d);
    this.output = new Float32Array(numTokens * hq * d);
    this.lse = new Float32Array(numTokens * hq);
  }

  reserve(numTokens: number): void {
    this.ensure(numTokens);
  }

  /** Fills q/k/v of every real row of the plan for `layer`; padding rows are zeroed. */
  private fill(plan: StepPlan, layer: number, records: Map<number, RequestRecord>): void {
    const meta = plan.full;
    const { numQueryHeads: hq, numKvHeads: hkv, headSize: d } = this.model;
    for (let s = 0; s < meta.numSeqs; s++) {
      const rec = records.get(plan.requestIds[s]);
      if (rec === undefined) throw new Error(`plan names request ${plan.requestIds[s]}, which the runtime does not know`);
      const first = meta.queryStartLoc[s];
      const ctx = meta.contextLens[s];
      for (let j = 0; j < plan.queryLens[s]; j++) {
        fillToken(this.model, rec.chain[ctx + j], ctx + j, layer, first + j, this.query, this.key, this.value);
      }
    }
    const real = meta.queryStartLoc[meta.numSeqs];
    this.query.fill(0, real * hq * d, meta.numTokens * hq * d);
    this.key.fill(0, real * hkv * d, meta.numTokens * hkv * d);
    this.value.fill(0, real * hkv * d, meta.numTokens * hkv * d);
  }

  /**
   * Runs all layers of one plan. `onLayer` (checks, tests) sees each layer's tensors after its forward,
   * before the next layer reuses the buffers. Returns the selection of the first layer of each group.
   */
  async run(
    plan: StepPlan,
    records: Map<number, RequestRecord>,
    onLayer?: (run: LayerRun) => Promise<void>,
  ): Promise<{ full: Selection | null; sliding: Selection | null }> {
    const n = plan.full.numTokens;
    this.ensure(n);
    const { numQueryHeads: hq, numKvHeads: hkv, headSize: d } = this.model;
    const inputs: StepInputs = {
      query: this.query.subarray(0, n * hq * d),
      key: this.key.subarray(0, n * hkv * d),
      value: this.value.subarray(0, n * hkv * d),
    };
    const out: StepOutputs = { output: this.output.subarray(0, n * hq * d), lse: this.lse.subarray(0, n * hq) };
    const selections: { full: Selection | null; sliding: Selection | null } = { full: null, sliding: null };
    for (let l = 0; l < this.model.layers.length; l++) {
      this.fill(plan, l, records);
      const group = this.model.sliding[l] && plan.sliding !== null ? 'sliding' : 'full';
      const meta = group === 'sliding' ? (plan.sliding as StepMetadata) : plan.full;
      const sel = await this.backend.forward(this.caches[l], this.model.layers[l], meta, inputs, out);
      if (selections[group] === null) selections[group] = sel;
      if (onLayer) await onLayer({ layer: l, group, meta, inputs, out, cache: this.caches[l] });
    }
    return selections;
  }
}
