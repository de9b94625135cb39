// Registers and spills of a compute shader as the Vulkan driver compiles it: Dawn reports neither,
// and the decode kernels' speed on the H100 turned on how many workgroups fit per SM
// (bench/webgpu/NOTES.md, "Residency probe"). Creates a compute pipeline from a SPIR-V binary (the
// one Dawn generated, dumped with its dump_shaders toggle and assembled with spirv-as; see
// bench/webgpu/dump-spirv.ts) with VK_KHR_pipeline_executable_properties and prints the driver's
// statistics for it as JSON. Descriptor bindings are read from the module itself.
//   gcc -O2 -o build/vkstats bench/webgpu/vkstats.c -lvulkan      (needs libvulkan-dev)
//   bash .device-bundle/run.sh build/vkstats kernel.spv [entry]   (entry default dawn_entry_point)
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vulkan/vulkan.h>

#define CHECK(x)                                                          \
  do {                                                                    \
    VkResult r_ = (x);                                                    \
    if (r_ != VK_SUCCESS) {                                               \
      fprintf(stderr, "vkstats: %s failed: %d\n", #x, (int)r_);           \
      exit(1);                                                            \
    }                                                                     \
  } while (0)

enum { kMaxIds = 1 << 20, kMaxBindings = 64 };
struct Binding { uint32_t set, binding; VkDescriptorType type; };

// Descriptor bindings of the module: variables decorated with DescriptorSet and Binding, typed by
// their storage class (Uniform -> uniform buffer, StorageBuffer -> storage buffer).
static int bindings_of(const uint32_t* w, size_t n, struct Binding* out) {
  static uint32_t setOf[kMaxIds], bindOf[kMaxIds];
  static uint8_t hasSet[kMaxIds], hasBind[kMaxIds];
  int count = 0;
  for (size_t i = 5; i < n;) {
    const uint32_t op = w[i] & 0xffff, len = w[i] >> 16;
    if (len == 0) break;
    if (op == 71 && len >= 4 && w[i + 1] < kMaxIds) {  // OpDecorate target decoration literal
      if (w[i + 2] == 34) { setOf[w[i + 1]] = w[i + 3]; hasSet[w[i + 1]] = 1; }
      if (w[i + 2] == 33) { bindOf[w[i + 1]] = w[i + 3]; hasBind[w[i + 1]] = 1; }
    }
    if (op == 59 && len >= 4) {  // OpVariable resultType result class
      const uint32_t id = w[i + 2], cls = w[i + 3];
      if (id < kMaxIds && hasSet[id] && hasBind[id] && count < kMaxBindings && (cls == 2 || cls == 12 || cls == 0)) {
        out[count].set = setOf[id];
        out[count].binding = bindOf[id];
        out[count].type = cls == 2 ? VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER : cls == 12 ? VK_DESCRIPTOR_TYPE_STORAGE_BUFFER : VK_DESCRIPTOR_TYPE_SAMPLED_IMAGE;
        count++;
      }
    }
    i += len;
  }
  return count;
}

static int has_ext(VkExtensionProperties* e, uint32_t n, const char* name) {
  for (uint32_t i = 0; i < n; i++) if (!strcmp(e[i].extensionName, name)) return 1;
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) { fprintf(stderr, "usage: vkstats kernel.spv [entry]\n"); return 2; }
  const char* entry = argc > 2 ? argv[2] : "dawn_entry_point";
  FILE* f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 1; }
  fseek(f, 0, SEEK_END);
  const long bytes = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint32_t* code = malloc((size_t)bytes);
  if (fread(code, 1, bytes, f) != (size_t)bytes) { fprintf(stderr, "vkstats: short read\n"); return 1; }
  fclose(f);

  VkApplicationInfo app = {VK_STRUCTURE_TYPE_APPLICATION_INFO, NULL, "vkstats", 1, NULL, 0, VK_API_VERSION_1_3};
  VkInstanceCreateInfo ici = {VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, NULL, 0, &app, 0, NULL, 0, NULL};
  VkInstance inst;
  CHECK(vkCreateInstance(&ici, NULL, &inst));
  uint32_t nd = 8;
  VkPhysicalDevice pds[8];
  CHECK(vkEnumeratePhysicalDevices(inst, &nd, pds));
  if (nd == 0) { fprintf(stderr, "vkstats: no Vulkan device\n"); return 1; }
  VkPhysicalDevice pd = pds[0];
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(pd, &props);
  uint32_t ne = 0;
  vkEnumerateDeviceExtensionProperties(pd, NULL, &ne, NULL);
  VkExtensionProperties* exts = calloc(ne, sizeof *exts);
  vkEnumerateDeviceExtensionProperties(pd, NULL, &ne, exts);
  if (!has_ext(exts, ne, VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME)) { fprintf(stderr, "vkstats: no VK_KHR_pipeline_executable_properties\n"); return 1; }
  const char* want[4];
  uint32_t nw = 0;
  want[nw++] = VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME;
  const int reconv = has_ext(exts, ne, "VK_KHR_shader_maximal_reconvergence");
  if (reconv) want[nw++] = "VK_KHR_shader_maximal_reconvergence";

  // The features Dawn's generated SPIR-V can use: f16 arithmetic and 16-bit storage, the Vulkan
  // memory model, subgroups (core 1.1), maximal reconvergence.
  // VK_KHR_shader_maximal_reconvergence's feature struct (newer than Debian 12's headers: declared here).
  struct { VkStructureType sType; void* pNext; VkBool32 shaderMaximalReconvergence; } rc = {(VkStructureType)1000434000, NULL, VK_TRUE};
  VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR pep = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR, reconv ? &rc : NULL, VK_TRUE};
  VkPhysicalDeviceVulkan12Features v12 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, &pep};
  v12.shaderFloat16 = VK_TRUE;
  v12.vulkanMemoryModel = VK_TRUE;
  v12.vulkanMemoryModelDeviceScope = VK_TRUE;
  v12.storageBuffer8BitAccess = VK_TRUE;
  VkPhysicalDeviceVulkan11Features v11 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, &v12};
  v11.storageBuffer16BitAccess = VK_TRUE;
  v11.uniformAndStorageBuffer16BitAccess = VK_TRUE;
  float prio = 1.f;
  VkDeviceQueueCreateInfo qci = {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, NULL, 0, 0, 1, &prio};
  VkDeviceCreateInfo dci = {VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, &v11, 0, 1, &qci, 0, NULL, nw, want, NULL};
  VkDevice dev;
  CHECK(vkCreateDevice(pd, &dci, NULL, &dev));

  struct Binding b[kMaxBindings];
  const int nb = bindings_of(code, (size_t)bytes / 4, b);
  uint32_t maxSet = 0;
  for (int i = 0; i < nb; i++) if (b[i].set > maxSet) maxSet = b[i].set;
  VkDescriptorSetLayout layouts[8];
  for (uint32_t s = 0; s <= maxSet && s < 8; s++) {
    VkDescriptorSetLayoutBinding lb[kMaxBindings];
    uint32_t n = 0;
    for (int i = 0; i < nb; i++)
      if (b[i].set == s) lb[n++] = (VkDescriptorSetLayoutBinding){b[i].binding, b[i].type, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL};
    VkDescriptorSetLayoutCreateInfo lci = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, NULL, 0, n, lb};
    CHECK(vkCreateDescriptorSetLayout(dev, &lci, NULL, &layouts[s]));
  }
  // A push-constant block, if the module declares one (storage class PushConstant): 256 bytes cover it.
  int push = 0;
  for (size_t i = 5; i < (size_t)bytes / 4;) {
    const uint32_t op = code[i] & 0xffff, len = code[i] >> 16;
    if (len == 0) break;
    if (op == 59 && len >= 4 && code[i + 3] == 9) push = 1;
    i += len;
  }
  VkPushConstantRange pcr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, 256};
  VkPipelineLayoutCreateInfo plci = {VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, NULL, 0, nb ? maxSet + 1 : 0, layouts, push ? 1u : 0u, &pcr};
  VkPipelineLayout pl;
  CHECK(vkCreatePipelineLayout(dev, &plci, NULL, &pl));
  VkShaderModuleCreateInfo smci = {VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, NULL, 0, (size_t)bytes, code};
  VkShaderModule sm;
  CHECK(vkCreateShaderModule(dev, &smci, NULL, &sm));
  VkComputePipelineCreateInfo cpci = {VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO, NULL, VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR,
                                      {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, NULL, 0, VK_SHADER_STAGE_COMPUTE_BIT, sm, entry, NULL}, pl, VK_NULL_HANDLE, 0};
  VkPipeline pipe;
  CHECK(vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &cpci, NULL, &pipe));

  PFN_vkGetPipelineExecutablePropertiesKHR getProps = (PFN_vkGetPipelineExecutablePropertiesKHR)vkGetDeviceProcAddr(dev, "vkGetPipelineExecutablePropertiesKHR");
  PFN_vkGetPipelineExecutableStatisticsKHR getStats = (PFN_vkGetPipelineExecutableStatisticsKHR)vkGetDeviceProcAddr(dev, "vkGetPipelineExecutableStatisticsKHR");
  VkPipelineInfoKHR pi = {VK_STRUCTURE_TYPE_PIPELINE_INFO_KHR, NULL, pipe};
  uint32_t nx = 0;
  CHECK(getProps(dev, &pi, &nx, NULL));
  VkPipelineExecutablePropertiesKHR* xp = calloc(nx, sizeof *xp);
  for (uint32_t i = 0; i < nx; i++) xp[i].sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_PROPERTIES_KHR;
  CHECK(getProps(dev, &pi, &nx, xp));
  printf("{\"device\":\"%s\",\"file\":\"%s\",\"bindings\":%d,\"executables\":[", props.deviceName, argv[1], nb);
  for (uint32_t e = 0; e < nx; e++) {
    VkPipelineExecutableInfoKHR ei = {VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR, NULL, pipe, e};
    uint32_t ns = 0;
    CHECK(getStats(dev, &ei, &ns, NULL));
    VkPipelineExecutableStatisticKHR* st = calloc(ns, sizeof *st);
    for (uint32_t i = 0; i < ns; i++) st[i].sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR;
    CHECK(getStats(dev, &ei, &ns, st));
    printf("%s{\"name\":\"%s\",\"subgroupSize\":%u,\"statistics\":{", e ? "," : "", xp[e].name, xp[e].subgroupSize);
    for (uint32_t i = 0; i < ns; i++) {
      printf("%s\"%s\":", i ? "," : "", st[i].name);
      switch (st[i].format) {
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR: printf("%s", st[i].value.b32 ? "true" : "false"); break;
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR: printf("%lld", (long long)st[i].value.i64); break;
        case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR: printf("%llu", (unsigned long long)st[i].value.u64); break;
        default: printf("%g", st[i].value.f64);
      }
    }
    printf("}}");
    free(st);
  }
  printf("]}\n");
  vkDestroyPipeline(dev, pipe, NULL);
  vkDestroyShaderModule(dev, sm, NULL);
  vkDestroyPipelineLayout(dev, pl, NULL);
  for (uint32_t s = 0; s <= maxSet && s < 8 && nb; s++) vkDestroyDescriptorSetLayout(dev, layouts[s], NULL);
  vkDestroyDevice(dev, NULL);
  vkDestroyInstance(inst, NULL);
  free(code);
  free(exts);
  free(xp);
  return 0;
}
