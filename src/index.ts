// The public surface of sinkrt. Hosts use createRuntime (Node, Electron main, browsers, Electron
// renderers); backends and the reference are exported for hosts that drive attention themselves.

export { createRuntime, Runtime, type RuntimeStats, type StepResult, type FinishKind } from './runtime/runtime.js';
export type { RuntimeOptions, SchedulerOptions, AddRequestInput } from './runtime/options.js';
export type { ModelOptions, CacheOptions } from './runtime/model.js';
export { RuntimeErrorCode } from './runtime/errors.js';
export { AUTO_ORDER, probeBackend, startBackend, type ProbeResult, type BackendHostOptions } from './runtime/probe.js';
export { makeTrace, type TraceOptions, type TraceRequest } from './runtime/trace.js';
export type { LayerCheck } from './runtime/check.js';
export type { EngineStats, GroupStats } from './runtime/engine-api.js';
export { SinkrtError } from './backends/types.js';
export type { Dtype, LayerConfig, CacheConfig, StepMetadata, AttentionPath } from './backends/types.js';
export type { AttentionBackend, BackendName, KvCache, KvCacheSpec, StepInputs, StepOutputs } from './backends/backend.js';
export { selectKernels, explainSelection, declareKernel, type Selection, type BackendCapabilities, type KernelCapabilities } from './backends/select.js';
export { pagedAttentionReference, prefillReference, writeKvReference, mergeByLse } from './backends/reference/index.js';
