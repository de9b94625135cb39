// sinkrt native addon: a thin async Node-API shell over the C interface in kernels/sinkrt_kernels.h.
// Validation lives in TypeScript (src/backends/rocm/); this file only unpacks plain values into the
// C structs, runs the GPU work on the libuv pool (one job at a time: one stream, one context), and
// turns a non-zero status into a rejected promise whose message is sinkrt_last_error(), which the TS
// side re-throws as a SinkrtError with a JS stack. Typed arrays handed to a job are held by
// references until it completes; the caller awaits, so nothing else touches them meanwhile.
//
// Exports: abiVersion (number), builtArchs (string), deviceInfo(), createContext(), destroyContext(ctx),
//          createCache(ctx, numBlocks, blockSize, numKvHeads, headSize, dtype) -> Promise<cache>,
//          destroyCache(cache), uploadCache(ctx, cache, k, v), downloadCache(ctx, cache, k, v),
//          forward(ctx, cache, desc) -> Promise<void>.
#define NAPI_VERSION 8
#include <node_api.h>

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "../kernels/sinkrt_kernels.h"
#include "device_state.h"

#ifndef SINKRT_BUILT_ARCHS
#define SINKRT_BUILT_ARCHS ""
#endif

namespace {

std::mutex g_gpu;  // one job on the device at a time

#define NAPI_OK(call)                                                        \
  do {                                                                       \
    if ((call) != napi_ok) {                                                 \
      napi_throw_error(env, "E_NAPI", "sinkrt addon: " #call " failed");     \
      return nullptr;                                                        \
    }                                                                        \
  } while (0)

napi_value throw_type(napi_env env, const std::string& msg) {
  napi_throw_type_error(env, "E_NATIVE_ARG", ("sinkrt addon: " + msg).c_str());
  return nullptr;
}

// ---- argument unpacking (types only; ranges are the TS layer's job) ----
bool get_number(napi_env env, napi_value obj, const char* key, double* out) {
  napi_value v;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return false;
  return napi_get_value_double(env, v, out) == napi_ok;
}
bool get_int(napi_env env, napi_value obj, const char* key, int* out) {
  double d;
  if (!get_number(env, obj, key, &d)) return false;
  *out = (int)d;
  return true;
}
// A typed array of the given type (or null when allowNull); data/length out, plus a reference.
bool get_typed(napi_env env, napi_value v, napi_typedarray_type want, bool allowNull, void** data, size_t* length) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (allowNull && (t == napi_null || t == napi_undefined)) {
    *data = nullptr;
    *length = 0;
    return true;
  }
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) return false;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, length, data, &ab, &off) != napi_ok) return false;
  return type == want;
}

// ---- async jobs ----
struct Job {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  std::vector<napi_ref> refs;
  std::function<int()> run;
  std::function<napi_value(napi_env)> result;  // optional resolve value
  int status = 0;
  std::string error;
};

void job_execute(napi_env, void* data) {
  Job* job = static_cast<Job*>(data);
  std::lock_guard<std::mutex> lock(g_gpu);
  job->status = job->run();
  if (job->status != 0) job->error = sinkrt_last_error();
}

void job_complete(napi_env env, napi_status, void* data) {
  Job* job = static_cast<Job*>(data);
  for (napi_ref r : job->refs) napi_delete_reference(env, r);
  if (job->status == 0) {
    napi_value v;
    if (job->result) v = job->result(env);
    else napi_get_undefined(env, &v);
    napi_resolve_deferred(env, job->deferred, v);
  } else {
    napi_value msg, code, err;
    napi_create_string_utf8(env, job->error.c_str(), NAPI_AUTO_LENGTH, &msg);
    napi_create_string_utf8(env, "E_NATIVE", NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, msg, &err);
    napi_reject_deferred(env, job->deferred, err);
  }
  napi_delete_async_work(env, job->work);
  delete job;
}

napi_value start_job(napi_env env, Job* job, const char* name) {
  napi_value promise, resource_name;
  NAPI_OK(napi_create_promise(env, &job->deferred, &promise));
  NAPI_OK(napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name));
  NAPI_OK(napi_create_async_work(env, nullptr, resource_name, job_execute, job_complete, job, &job->work));
  NAPI_OK(napi_queue_async_work(env, job->work));
  return promise;
}

void hold(napi_env env, Job* job, napi_value v) {
  napi_ref r;
  if (napi_create_reference(env, v, 1, &r) == napi_ok) job->refs.push_back(r);
}

template <class T>
T* unwrap(napi_env env, napi_value v) {
  void* p = nullptr;
  if (napi_get_value_external(env, v, &p) != napi_ok) return nullptr;
  return static_cast<T*>(p);
}

// ---- exports ----
napi_value DeviceInfo(napi_env env, napi_callback_info) {
  sinkrt_device_info info;
  if (sinkrt_device_info_get(&info) != 0) {
    napi_throw_error(env, "E_NO_DEVICE", sinkrt_last_error());
    return nullptr;
  }
  napi_value o, v;
  NAPI_OK(napi_create_object(env, &o));
  auto str = [&](const char* k, const char* s) {
    napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, o, k, v);
  };
  auto num = [&](const char* k, double d) {
    napi_create_double(env, d, &v);
    napi_set_named_property(env, o, k, v);
  };
  str("name", info.name);
  str("arch", info.arch);
  str("vendor", info.vendor);
  num("computeUnits", info.computeUnits);
  num("waveSize", info.waveSize);
  num("hasMatrixUnits", info.hasMatrixUnits);
  num("totalMemory", (double)info.totalMemory);
  num("runtimeVersion", info.runtimeVersion);
  num("driverVersion", info.driverVersion);
  return o;
}

void finalize_context(napi_env, void* data, void*) { delete static_cast<sinkrt_addon::Context*>(data); }
void finalize_cache(napi_env, void* data, void*) { delete static_cast<sinkrt_addon::Cache*>(data); }

napi_value CreateContext(napi_env env, napi_callback_info) {
  auto* ctx = new sinkrt_addon::Context();
  if (ctx->init() != 0) {
    std::string msg = sinkrt_last_error();
    delete ctx;
    napi_throw_error(env, "E_NATIVE", msg.c_str());
    return nullptr;
  }
  napi_value ext;
  NAPI_OK(napi_create_external(env, ctx, finalize_context, nullptr, &ext));
  return ext;
}

napi_value DestroyContext(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  auto* ctx = unwrap<sinkrt_addon::Context>(env, argv[0]);
  if (!ctx) return throw_type(env, "destroyContext(ctx): ctx is not a context");
  std::lock_guard<std::mutex> lock(g_gpu);
  ctx->release();
  return nullptr;
}

napi_value CreateCache(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 6) return throw_type(env, "createCache needs 6 arguments");
  int v[5];
  for (int i = 0; i < 5; i++)
    if (napi_get_value_int32(env, argv[i + 1], &v[i]) != napi_ok) return throw_type(env, "createCache: numeric arguments expected");
  auto* cache = new sinkrt_addon::Cache(v[0], v[1], v[2], v[3], v[4]);
  Job* job = new Job();
  job->run = [cache] { return cache->allocate(); };
  job->result = [cache](napi_env e) {
    napi_value ext;
    napi_create_external(e, cache, finalize_cache, nullptr, &ext);
    return ext;
  };
  return start_job(env, job, "sinkrt.createCache");
}

napi_value DestroyCache(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  auto* cache = unwrap<sinkrt_addon::Cache>(env, argv[0]);
  if (!cache) return throw_type(env, "destroyCache(cache): not a cache");
  std::lock_guard<std::mutex> lock(g_gpu);
  cache->release();
  return nullptr;
}

// uploadCache / downloadCache(ctx, cache, keyF32, valueF32)
napi_value CacheCopy(napi_env env, napi_callback_info info, bool upload) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  auto* ctx = unwrap<sinkrt_addon::Context>(env, argv[0]);
  auto* cache = unwrap<sinkrt_addon::Cache>(env, argv[1]);
  if (!ctx || !cache) return throw_type(env, "cache copy: ctx and cache handles expected");
  void *k, *v;
  size_t kn, vn;
  if (!get_typed(env, argv[2], napi_float32_array, false, &k, &kn) || !get_typed(env, argv[3], napi_float32_array, false, &v, &vn))
    return throw_type(env, "cache copy: keyCache and valueCache must be Float32Array");
  if (kn != cache->elements() || vn != cache->elements()) return throw_type(env, "cache copy: array length does not match the cache");
  Job* job = new Job();
  hold(env, job, argv[1]);
  hold(env, job, argv[2]);
  hold(env, job, argv[3]);
  job->run = [=] { return upload ? ctx->upload_cache(*cache, (const float*)k, (const float*)v) : ctx->download_cache(*cache, (float*)k, (float*)v); };
  return start_job(env, job, upload ? "sinkrt.uploadCache" : "sinkrt.downloadCache");
}
napi_value UploadCache(napi_env env, napi_callback_info info) { return CacheCopy(env, info, true); }
napi_value DownloadCache(napi_env env, napi_callback_info info) { return CacheCopy(env, info, false); }

napi_value Forward(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  auto* ctx = unwrap<sinkrt_addon::Context>(env, argv[0]);
  auto* cache = unwrap<sinkrt_addon::Cache>(env, argv[1]);
  if (!ctx || !cache) return throw_type(env, "forward: ctx and cache handles expected");
  napi_value d = argv[2];
  sinkrt_addon::ForwardDesc f;
  const struct { const char* key; int* dst; } ints[] = {
      {"numQueryHeads", &f.numQueryHeads}, {"numKvHeads", &f.numKvHeads}, {"headSize", &f.headSize},
      {"slidingWindow", &f.slidingWindow}, {"numSeqs", &f.numSeqs}, {"numTokens", &f.numTokens},
      {"maxBlocksPerSeq", &f.maxBlocksPerSeq}, {"numDecodes", &f.numDecodes}, {"numExtends", &f.numExtends},
      {"numPrefills", &f.numPrefills}, {"decodeMaxQueryLen", &f.decodeMaxQueryLen}, {"decodeMaxKeys", &f.decodeMaxKeys},
      {"extendMaxQueryLen", &f.extendMaxQueryLen}, {"extendMaxKeys", &f.extendMaxKeys},
      {"prefillMaxQueryLen", &f.prefillMaxQueryLen}, {"prefillMaxKeys", &f.prefillMaxKeys},
      {"prefillOnMatrixUnits", &f.prefillOnMatrixUnits}, {"decodeOnMatrixUnits", &f.decodeOnMatrixUnits}, {"prefillRowTiles", &f.prefillRowTiles}, {"forceSegments", &f.forceSegments}};
  for (const auto& it : ints)
    if (!get_int(env, d, it.key, it.dst)) return throw_type(env, std::string("forward: desc.") + it.key + " must be a number");
  double scale, softcap;
  if (!get_number(env, d, "scale", &scale) || !get_number(env, d, "softcap", &softcap)) return throw_type(env, "forward: desc.scale/softcap must be numbers");
  f.scale = (float)scale;
  f.softcap = (float)softcap;
  Job* job = new Job();
  const struct { const char* key; napi_typedarray_type type; bool nullable; void** dst; size_t* len; } arrays[] = {
      {"sinks", napi_float32_array, true, (void**)&f.sinks, &f.sinksLen},
      {"queryStartLoc", napi_int32_array, false, (void**)&f.queryStartLoc, &f.queryStartLocLen},
      {"seqLens", napi_int32_array, false, (void**)&f.seqLens, &f.seqLensLen},
      {"blockTable", napi_int32_array, false, (void**)&f.blockTable, &f.blockTableLen},
      {"slotMapping", napi_int32_array, false, (void**)&f.slotMapping, &f.slotMappingLen},
      {"query", napi_float32_array, false, (void**)&f.query, &f.queryLen},
      {"key", napi_float32_array, false, (void**)&f.key, &f.keyLen},
      {"value", napi_float32_array, false, (void**)&f.value, &f.valueLen},
      {"output", napi_float32_array, false, (void**)&f.output, &f.outputLen},
      {"lse", napi_float32_array, true, (void**)&f.lse, &f.lseLen}};
  for (const auto& a : arrays) {
    napi_value v;
    if (napi_get_named_property(env, d, a.key, &v) != napi_ok || !get_typed(env, v, a.type, a.nullable, a.dst, a.len)) {
      for (napi_ref r : job->refs) napi_delete_reference(env, r);
      delete job;
      return throw_type(env, std::string("forward: desc.") + a.key + " has the wrong type");
    }
    if (*a.dst) hold(env, job, v);
  }
  hold(env, job, argv[1]);
  std::string bad = f.check_lengths(*cache);
  if (!bad.empty()) {
    for (napi_ref r : job->refs) napi_delete_reference(env, r);
    delete job;
    return throw_type(env, "forward: " + bad);
  }
  job->run = [ctx, cache, f] { return ctx->forward(*cache, f); };
  return start_job(env, job, "sinkrt.forward");
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value v;
  napi_create_int32(env, sinkrt_abi_version(), &v);
  napi_set_named_property(env, exports, "abiVersion", v);
  // The GPU targets the kernels were built for (set by scripts/build-rocm.sh), checked at start-up.
  napi_create_string_utf8(env, SINKRT_BUILT_ARCHS, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, exports, "builtArchs", v);
  const struct { const char* name; napi_callback cb; } fns[] = {
      {"deviceInfo", DeviceInfo}, {"createContext", CreateContext}, {"destroyContext", DestroyContext},
      {"createCache", CreateCache}, {"destroyCache", DestroyCache}, {"uploadCache", UploadCache},
      {"downloadCache", DownloadCache}, {"forward", Forward}};
  for (const auto& fn : fns) {
    napi_create_function(env, fn.name, NAPI_AUTO_LENGTH, fn.cb, nullptr, &v);
    napi_set_named_property(env, exports, fn.name, v);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
