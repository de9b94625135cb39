// The CPU backend (C++ kernels compiled to WASM SIMD): see backend.ts.
export { CPU_CAPABILITIES, CpuBackend, createCpuBackend, type CpuBackendOptions } from './backend.js';
export { CpuModule, type WasmSource } from './wasm.js';
