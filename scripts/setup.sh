#!/usr/bin/env bash
# Create (or update) .venv with evalkit and its test dependencies. Idempotent; works offline
# once the packages are cached. Heavy extras (torch, transformers) are not needed here.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev]"
