#!/usr/bin/env bash
# Set up, then run the offline demo suite (SummEval + WMT17, 32 recorded systems) and print the
# path of its HTML report as the last line. Extra arguments are Hydra overrides (e.g. limit=50).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
run_dir=$(.venv/bin/evalkit run "$@" | tee /dev/stderr | tail -n 1)
echo "$run_dir/report.html"
