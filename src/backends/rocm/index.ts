// The native (HIP) backend: kernels in native-rocm/, loaded as a Node-API addon. See backend.ts.
export { createRocmBackend, RocmBackend, rocmCapabilities, rocmSkipReason, type RocmBackendOptions } from './backend.js';
export { findAddon, loadAddon, probeDevice, ROCM_ABI_VERSION, type NativeDeviceInfo } from './addon.js';
