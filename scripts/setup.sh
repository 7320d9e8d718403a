#!/usr/bin/env bash
# Create (or update) .venv with evalkit, the local-model extra and the test dependencies.
# Idempotent. torch is pinned first: that pin is a CPU build; an unpinned torch pulled in by
# transformers would be a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[dev,local,embeddings,data,datasets]"
