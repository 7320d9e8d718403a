#!/usr/bin/env bash
# Set up, then run the offline demo suite (SummEval + WMT17, 32 recorded systems) and print the
# path of its HTML report as the last line. Extra arguments are Hydra overrides (e.g. limit=50).
#
# LLM judging of the SummEval summaries runs only when a judge model is named, as overrides of
# `evalkit judge` in EVALKIT_DEMO_JUDGE, e.g.
#   EVALKIT_DEMO_JUDGE="judge_model=openai judge_model.model=gpt-4o-mini" bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
run_dir=$(.venv/bin/evalkit run "$@" | tee /dev/stderr | tail -n 1)
if [[ -n "${EVALKIT_DEMO_JUDGE:-}" ]]; then
  # shellcheck disable=SC2086 # the variable holds several overrides on purpose
  .venv/bin/evalkit judge "$run_dir" judge=summ_coherence tasks=[summeval] \
    $EVALKIT_DEMO_JUDGE >&2
else
  cat >&2 <<HINT
LLM judge: skipped (no judge model configured). To judge the SummEval summaries, name one:
  EVALKIT_DEMO_JUDGE="judge_model=openai judge_model.model=gpt-4o-mini" bash scripts/demo.sh
or judge this run directly (any rubric from 'evalkit list judges'; a local model via 'evalkit serve'):
  .venv/bin/evalkit judge $run_dir judge=summ_coherence tasks=[summeval] judge_model=openai \\
    judge_model.base_url=http://127.0.0.1:8000/v1 judge_model.api_key_env=null judge_model.model=hf
HINT
fi
echo "$run_dir/report.html"
