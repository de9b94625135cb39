# Baseline for the prefill figures: PyTorch's scaled_dot_product_attention on the flash backend (no
# sinks: it has none), causal, GPT-OSS-120B head shape (64 query heads, 8 KV heads, head size 64), bf16,
# on the (batch, seqLen) list sinkrt_bench's prefill runs. GQA through enable_gqa=True where the flash
# backend takes it; else K/V are expanded to 64 heads before timing (the expansion is not timed) and
# the line says so. Timing: CUDA events, 2 warm-ups, median of 10. Prints JSON lines.
import json
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

HQ, HKV, D = 64, 8, 64
SHAPES = [(1, 1024), (1, 8192), (1, 32768), (8, 1024), (8, 8192), (64, 1024), (256, 1024)]


def median_ms(fn, warm=2, reps=10):
    for _ in range(warm):
        fn()
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    ts = []
    for _ in range(reps):
        a.record()
        fn()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b))
    ts.sort()
    return ts[len(ts) // 2]


def main():
    torch.manual_seed(0)
    print(json.dumps({"kind": "sdpa_env", "torch": torch.__version__, "device": torch.cuda.get_device_name()}), flush=True)
    for batch, s in SHAPES:
        q = torch.rand(batch, HQ, s, D, device="cuda", dtype=torch.bfloat16) * 2 - 1
        k = torch.rand(batch, HKV, s, D, device="cuda", dtype=torch.bfloat16) * 2 - 1
        v = torch.rand(batch, HKV, s, D, device="cuda", dtype=torch.bfloat16) * 2 - 1
        mode = "enable_gqa"
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            try:
                F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
                fn = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
            except RuntimeError:
                mode = "expanded_kv"
                ke = k.repeat_interleave(HQ // HKV, dim=1).contiguous()
                ve = v.repeat_interleave(HQ // HKV, dim=1).contiguous()
                fn = lambda: F.scaled_dot_product_attention(q, ke, ve, is_causal=True)
            ms = median_ms(fn)
        flops = 2.0 * batch * s * s * D * HQ
        print(json.dumps({"kind": "sdpa", "batch": batch, "seqLen": s, "gqa": mode, "ms": ms, "tflops": flops / (ms * 1e-3) / 1e12}), flush=True)
        del q, k, v
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
