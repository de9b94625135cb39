// The WebGPU backend's browser-safe surface (no node:* imports here; Node helpers live in node.ts).
export { WebGpuBackend, createWebGpuBackend, type WebGpuBackendOptions, type WebGpuKvCache } from './backend.js';
export { compose, checkSources, loadShadersFromUrl, SHADER_NAMES, SHADER_PIECES, type ShaderSources, type ShaderName, type ShaderPiece } from './shaders.js';
export type { PreparedStep } from './step.js';
export { requestSinkrtDevice, WANTED_FEATURES } from './device.js';
