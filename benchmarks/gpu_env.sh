# Sourced by the scripts a lent GPU machine runs (gpu_queue.sh, gpu_ntk.sh): the carried .gpu/ folder that
# benchmarks/gpu_prepare.py builds (a stand-in MiniLM package with fp16-rounded weights, the benchmark CSVs, and
# optionally an installed backbone under .gpu/cache), offline settings, and a record of the machine and versions.
cache="$PWD/.gpu/cache"; [ -d "$cache" ] || cache=/tmp/tsreprog-cache
export PYTHONPATH="$PWD:$PWD/.gpu/site" TSREPROG_DATA_DIR="$PWD/.gpu/data" TSREPROG_CACHE="$cache"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, transformers, peft, lightning; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, 'lightning', lightning.__version__)"
