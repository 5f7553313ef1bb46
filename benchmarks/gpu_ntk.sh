#!/usr/bin/env bash
# Issue 33's GPU check in one call of a lent machine (at most 8 minutes, each step under its own timeout): the NTK
# and `select` on CUDA.
#   python benchmarks/gpu_prepare.py        # here, once: .gpu/ (MiniLM in fp16, the CSVs)
#   run --carry .gpu: bash benchmarks/gpu_ntk.sh   # there; everything lands under $OUT
# 1. the kernel tests, the CPU-against-GPU kernel test among them (skipped on a machine without a GPU);
# 2. speed.py ntk on the GPU: the exact kernel against the plain recipe, and the sketch kernel and its spectrum for
#    1,024 and 4,096 windows (target: 1,024 in <= 30 s), then the same 1,024 on that machine's CPU, beside it;
# 3. `tsreprog select --accelerator gpu` on ETTh1 (3 candidates x 2 depths), timed, and the same on its CPU.
set -u
. "$(dirname "$0")/gpu_env.sh"
out=${OUT:-/tmp/gpu_ntk}; mkdir -p "$out"
if python3 -c "import pytest" 2>/dev/null; then
  timeout 60 python3 -m pytest -q -p no:cacheprovider tests/ntk/test_kernel.py 2>&1 | tail -3 | tee "$out/tests.txt"
fi
timeout 120 python3 benchmarks/speed.py ntk --device cuda --scaling 1024,4096 --output "$out/ntk_speed_gpu.json" \
  2>&1 | tail -3
timeout 90 python3 benchmarks/speed.py ntk --device cpu --scaling 1024 --output "$out/ntk_speed_gpu_host_cpu.json" \
  2>&1 | tail -2
for accelerator in gpu cpu; do
  started=$(date +%s%N)
  limit=$([ "$accelerator" = gpu ] && echo 90 || echo 120)
  timeout "$limit" python3 -m tsreprog select --accelerator "$accelerator" --dataset ETTh1 \
    --backbones none,minilm-l6,random:minilm-l6 --layers 1,2 --output-dir "$out/select_$accelerator" --overwrite \
    2>&1 | tail -12
  echo "select on $accelerator: $(( ($(date +%s%N) - started) / 1000000 )) ms" | tee -a "$out/select_seconds.txt"
done
ls -la "$out"
