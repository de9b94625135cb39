# Merges sinkrt_bench's and sdpa.py's JSON lines into one result (machine, date, commit, every figure,
# ratios against the baselines measured in the same run: decode vs device copy, prefill vs SDPA flash,
# sinks on vs off), prints the table and writes the JSON.
# Usage: python3 report.py BENCH.jsonl SDPA.jsonl OUT.json COMMIT
import json
import sys
from datetime import datetime, timezone


def lines(path):
    out = []
    for ln in open(path):
        ln = ln.strip()
        if ln.startswith("{"):
            out.append(json.loads(ln))
    return out


def main():
    bench, sdpa, out_path, commit = lines(sys.argv[1]), lines(sys.argv[2]), sys.argv[3], sys.argv[4]
    device = next((x for x in bench if x["kind"] == "device"), {})
    copy = next((x for x in bench if x["kind"] == "copy"), None)
    decode_all = [x for x in bench if x["kind"] == "decode"]
    decode = [x for x in decode_all if x.get("kernel", "paged_decode_mma") == "paged_decode_mma"]
    simt = {(x["batch"], x["context"], x["sinks"]): x for x in decode_all if x.get("kernel") == "paged_decode_simt"}
    prefill_all = [x for x in bench if x["kind"] == "prefill"]
    prefill = [x for x in prefill_all if x.get("rowTiles", 0) == 0]
    two_tile = {(x["batch"], x["seqLen"]): x for x in prefill_all if x.get("rowTiles", 0) == 2}
    base = {(x["batch"], x["seqLen"]): x for x in sdpa if x["kind"] == "sdpa"}
    copy_tbps = copy["tbps"] if copy else None
    print(f"device: {device.get('name')} ({device.get('arch')}), device-to-device copy {copy_tbps:.3f} TB/s" if copy else "no copy figure")
    if not copy_tbps:
        copy_tbps = float("nan")
    print("decode (GPT-OSS-120B attention: Hq 64, Hkv 8, D 64, block 16, bf16), KV read TB/s")
    # Sink cost twice: by events (each call alone, the host's launch inside: on a 20 us call its jitter
    # alone is several %) and by GPU time (a CUDA graph of 10 calls: the kernels' own cost), the one
    # the goal is judged by where both calls have it.
    print(f"{'batch':>6} {'context':>8} {'sinks off':>10} {'sinks on':>10} {'sink cost':>10} {'(events)':>9} {'on/copy':>8} {'segments':>8} {'simt on':>8}")
    rows = []
    for x in decode:
        if not x["sinks"]:
            continue
        off = next(y for y in decode if y["batch"] == x["batch"] and y["context"] == x["context"] and not y["sinks"])
        cost = off["tbps"] / x["tbps"] - 1
        x["ratioToCopy"] = x["tbps"] / copy_tbps if copy_tbps else None
        off["ratioToCopy"] = off["tbps"] / copy_tbps if copy_tbps else None
        x["sinkCostEvents"] = cost
        gpu = x["graphMs"] / off["graphMs"] - 1 if x.get("graphMs", -1) > 0 and off.get("graphMs", -1) > 0 else None
        x["sinkCostGpu"] = gpu
        x["sinkCost"] = gpu if gpu is not None else cost
        rows.append(x)
        print(f"{x['batch']:>6} {x['context']:>8} {off['tbps']:>10.3f} {x['tbps']:>10.3f} {x['sinkCost'] * 100:>9.1f}% {cost * 100:>8.1f}% {x['ratioToCopy']:>8.3f} {x['segments']:>8} {(simt.get((x['batch'], x['context'], True)) or {}).get('tbps', float('nan')):>8.3f}")
    print("prefill (causal, same head shape, bf16), TFLOP/s; SDPA = PyTorch flash, no sinks")
    print(f"{'batch':>6} {'seqLen':>8} {'sinkrt+sinks':>13} {'sinkrt':>8} {'SDPA':>8} {'ratio':>7} {'2 tiles/wave':>12}")
    for x in prefill:
        if not x["sinks"]:
            continue
        off = next(y for y in prefill if y["batch"] == x["batch"] and y["seqLen"] == x["seqLen"] and not y["sinks"])
        b = base.get((x["batch"], x["seqLen"]))
        x["sdpa"] = b
        x["ratioToSdpa"] = x["tflops"] / b["tflops"] if b else None
        r = f"{x['ratioToSdpa']:.3f}" if b else "-"
        one = two_tile.get((x["batch"], x["seqLen"]), {}).get("tflops", float("nan"))
        print(f"{x['batch']:>6} {x['seqLen']:>8} {x['tflops']:>13.1f} {off['tflops']:>8.1f} {(b['tflops'] if b else float('nan')):>8.1f} {r:>7} {one:>12.1f}")
    # Every prefill variant (rowTiles: kernel choice, see bench/rocm/sinkrt_bench.cpp) against SDPA.
    print("prefill variants, sinks on: TFLOP/s (ratio to SDPA) by rowTiles")
    for x in prefill_all:
        b = base.get((x["batch"], x["seqLen"]))
        if b:
            x["ratioToSdpa"] = x["tflops"] / b["tflops"]
    for key in sorted({(x["batch"], x["seqLen"]) for x in prefill_all}):
        row = [x for x in prefill_all if (x["batch"], x["seqLen"]) == key and x["sinks"]]
        print(f"{key[0]:>6} {key[1]:>8} " + " ".join(f"{x['rowTiles']}: {x['tflops']:.1f} ({x.get('ratioToSdpa', float('nan')):.3f})" for x in row))
    result = {
        "part": "rocm",
        "machine": device,
        "date": datetime.now(timezone.utc).isoformat(),
        "commit": commit,
        "config": {"numQueryHeads": 64, "numKvHeads": 8, "headSize": 64, "blockSize": 16, "dtype": "bf16",
                   "decodeBytes": "K+V of every context token once", "prefillFlops": "2*B*S^2*D*Hq (causal)",
                   "timing": "device events, median (decode 30 reps, prefill 10), after warm-up; decode graphMs: a CUDA graph of 10 calls, per call, median of 6 replays",
                   "sinkCost": "decode sinks-on time / sinks-off time - 1 by GPU time (graphMs) where measured (sinkCostGpu), else by events; sinkCostEvents beside it"},
        "baselines": {"copy": copy, "sdpa": [x for x in sdpa]},
        "decode": decode_all,
        "prefill": prefill_all,
    }
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
