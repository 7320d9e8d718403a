#!/usr/bin/env bash
# The GPU checks of the hf backend in one device call (one H200; see /work/.library/device):
# the tests marked `gpu` (CUDA-graph static engine vs generate; none/int8/int4 on CUDA) and the
# static-engine benchmark on a random-init 1.1B Llama. Logs land in $OUT (the device tool's
# output folder) or ./gpu-check. Prepare here with `bash scripts/gpu_wheels.sh`, then run
#   command: bash scripts/gpu_check.sh     carry: [".whl"]     timeout_s: 540
# BENCH_ARGS overrides the benchmark's arguments (e.g. a CPU dry run: --size tiny --device cpu).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-check}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
if compgen -G ".whl/*.whl" > /dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || true
  "$PY" -c "import torch, transformers; print('torch', torch.__version__, 'transformers',
transformers.__version__, 'cuda', torch.cuda.is_available())"
} | tee "$OUT/environment.txt"
timeout 240 "$PY" -m pytest -q -m gpu tests/backends -p no:cacheprovider 2>&1 | tee "$OUT/tests.log"
# shellcheck disable=SC2086
timeout 360 "$PY" benchmarks/local_decode.py --graph --repeats 2 ${BENCH_ARGS:-} 2>&1 \
  | grep -v -i "warn" | tee "$OUT/benchmark.log"
