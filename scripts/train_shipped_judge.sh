#!/usr/bin/env bash
# Retrain the judge shipped in judges/summeval-minilm from the shared data (../shared/data or
# $EVALKIT_SHARED_DATA): SummEval expert ratings + GPT-4's grades of MT-Bench / Vicuna answers.
# Writes the full output (with validation.html) to reports/judges/summeval-minilm and copies the
# artifact without the HTML report (4.8 MB of plotly.js) into judges/.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
out=reports/judges/summeval-minilm
.venv/bin/evalkit judge distill distill_data=summeval_gpt4 name=summeval-minilm \
  student.dtype=bfloat16 output="$out" \
  "description='Scores a summary of a source document on coherence, consistency, fluency and \
relevance (1-5, like the SummEval expert ratings), and an answer to an instruction on overall \
quality (gpt4_grade, 1-5, like the GPT-4 rubric grades). A small head over all-MiniLM-L6-v2 \
similarities and lexical features; runs on CPU.'" "$@"
mkdir -p judges/summeval-minilm
cp "$out"/{judge.json,head.safetensors,README.md,validation.json} judges/summeval-minilm/
echo judges/summeval-minilm
