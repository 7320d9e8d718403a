#!/usr/bin/env bash
# Retrain the judges shipped in judges/ from the shared data (../shared/data or
# $EVALKIT_SHARED_DATA): SummEval expert ratings + GPT-4's grades of MT-Bench / Vicuna answers.
#   summeval-minilm   a head over all-MiniLM-L6-v2 similarities and lexical features (the demo's)
#   summeval-lexical  the same head over the lexical features only: no encoder, ~8x faster
# Writes each full output (with validation.html) to reports/judges/<name> and copies the artifact
# without the HTML report (1.2 MB of plotly.js) into judges/<name>. Usage: [NAME...] (default both).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
summary="Scores a summary of a source document on coherence, consistency, fluency and \
relevance (1-5, like the SummEval expert ratings), and an answer to an instruction on overall \
quality (gpt4_grade, 1-5, like the GPT-4 rubric grades)."
declare -A variant=(
  [summeval-minilm]="student.dtype=float32|A small head over all-MiniLM-L6-v2 similarities and lexical features; runs on CPU."
  [summeval-lexical]="student.feature_set=lexical|A small head over lexical features only (no encoder): for CI runs where speed matters most."
)
for name in "${@:-summeval-minilm summeval-lexical}"; do
  for one in $name; do
    IFS="|" read -r override about <<<"${variant[$one]}"
    out=reports/judges/$one
    .venv/bin/evalkit judge distill distill_data=summeval_gpt4 name="$one" "$override" \
      output="$out" "description='$summary $about'"
    mkdir -p "judges/$one"
    cp "$out"/{judge.json,head.safetensors,README.md,validation.json} "judges/$one/"
    echo "judges/$one"
  done
done
