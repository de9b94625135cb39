# Cuts a log of Dawn's dump_shaders toggle (bench/webgpu/dump-spirv.ts) into one SPIR-V assembly
# file per pipeline: OUTDIR/<name>.spvasm, the name taken from the WGSL kernel's first comment line
# (e.g. "paged_decode (GQA-8 subgroup variant)" -> paged_decode-gqa-8-subgroup-variant), numbered
# when a name repeats. Prints what it wrote. Drops the MaximallyReconvergesKHR execution mode and its
# extension, which Debian 12's spirv-as (SPIRV-Tools 2023.1) cannot assemble: a guarantee about
# reconvergence, not code the driver has to keep registers for.
#   python3 bench/webgpu/split-dump.py LOG OUTDIR
import os
import re
import sys


def main():
    log, out = sys.argv[1], sys.argv[2]
    text = open(log, errors="replace").read()
    os.makedirs(out, exist_ok=True)
    parts = text.split("// Dumped WGSL:")
    seen = {}
    for part in parts[1:]:
        if "/* Dumped SPIRV disassembly */" not in part:
            continue
        wgsl, spirv = part.split("/* Dumped SPIRV disassembly */", 1)
        first = next((ln for ln in wgsl.splitlines() if ln.strip().startswith("//")), "// kernel")
        name = re.sub(r"[^a-z0-9]+", "-", first.strip("/ ").split(":")[0].lower()).strip("-")[:60] or "kernel"
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name}-{seen[name]}"
        lines = []
        for ln in spirv.splitlines():
            if ln.startswith("info:") or ln.startswith("Warning:") or ln.startswith("dump-spirv:"):
                break
            if "MaximallyReconvergesKHR" in ln or "SPV_KHR_maximal_reconvergence" in ln:
                continue
            lines.append(ln)
        path = os.path.join(out, name + ".spvasm")
        with open(path, "w") as f:
            f.write("\n".join(lines).strip() + "\n")
        print(path)


main()
