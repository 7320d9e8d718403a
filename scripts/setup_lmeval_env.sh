#!/usr/bin/env bash
# A separate environment with lm-evaluation-harness for the side-by-side check
# (benchmarks/lmeval_side_by_side.py, tests/test_lmeval_import.py::test_side_by_side_with_lmeval).
# lm-eval is never a dependency of evalkit. Prints the interpreter path for EVALKIT_LMEVAL_PYTHON.
# transformers is pinned to the version of evalkit's .venv so both load the same tiny model alike.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TRANSFORMERS=$(.venv/bin/python -c "import transformers; print(transformers.__version__)")
if [ ! -x .lmeval-venv/bin/python ]; then
  "$PYTHON" -m venv .lmeval-venv
fi
.lmeval-venv/bin/python -m pip install -q "torch==2.13.0" >&2
.lmeval-venv/bin/python -m pip install -q "lm-eval==0.4.13" "transformers==$TRANSFORMERS" accelerate >&2
echo "$PWD/.lmeval-venv/bin/python"
