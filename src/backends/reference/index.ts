// The float64 oracle of the sink contract: see attention.ts for the formulas, merge.ts for LSE merging.
export {
  attendRow,
  contiguousSource,
  firstVisible,
  pagedAttentionReference,
  pagedSource,
  prefillReference,
  writeKvReference,
  type KeySource,
  type ReferenceResult,
} from './attention.js';
export { mergeByLse, type Partial } from './merge.js';
export { roundToDtype, roundArray } from './dtype.js';
export { TOLERANCES, type Tolerance } from './tolerance.js';
