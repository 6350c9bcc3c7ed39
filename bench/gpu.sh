#!/usr/bin/env bash
# The GPU measurements of issue 17 in one command, on a machine with an NVIDIA GPU:
#   throughput of 50-field documents through `fieldmill run` and raw vLLM (and n-gram speculation),
#   then the time `make default-model` (the shipped fine-tuning) takes there.
# Needs the GPU extra's wheels (vllm==0.32.0) reachable by pip, or already in the environment.
# A GPU machine without a package index (the vllm wheel alone is 326 MiB) can still time the
# fine-tuning: bench/gpu_finetune.py prepares the recipe's token sequences here and trains on them there.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3.11}
VENV=${VENV:-.venv-gpu}
test -x "$VENV/bin/python" || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install --quiet -e '.[gpu,test]'
nvidia-smi --query-gpu=name,memory.total --format=csv
"$VENV/bin/python" bench/throughput.py --count "${COUNT:-1024}" --schema invoice --ngram --work out/bench-throughput-gpu
time make default-model BIN="$VENV/bin" INSTALLED= DEFAULT_MODEL_DIR=.cache/default-model-gpu
