#!/usr/bin/env bash
# Wheels the device machine (Python 3.12, PyTorch and transformers preinstalled, no internet)
# lacks for the GPU checks: evalkit's pydantic and torchao. Downloads them into .whl/ (ignored by
# git), which `scripts/gpu_check.sh` installs there; name `.whl` in the device run's `carry`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
version() { "$PY" -c "import importlib.metadata as m; print(m.version('$1'))"; }
rm -rf .whl && mkdir -p .whl
for name in pydantic pydantic_core annotated-types typing-inspection torchao; do
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .whl "$name==$(version "$name")"
done
ls -l .whl
