"""evalkit reproduces the summary-level ROUGE rows of G-Eval's Table 1 on SummEval.

Published: Liu et al. 2023, "G-Eval: NLG Evaluation using GPT-4 with Better Human Alignment"
(arXiv 2303.16634, EMNLP 2023), Table 1: Spearman rho / Kendall tau between each metric and the
SummEval expert ratings, per article across its 16 system summaries, averaged over articles (the
same rows appear in UniEval, Zhong et al. 2022, arXiv 2210.07197). The setting that reproduces
them: rouge-score F-measure with Porter stemming and rouge-score's tokenizer, averaged over the
11 references (`multi_ref: mean`), run on the bundled `summeval` task and correlated by
`evalkit meta-eval`; the paper's ROUGE-L is summary-level (rouge-score's rougeLsum, sentences from
evalkit's default splitter). ROUGE-2 matches every printed digit; ROUGE-1 and ROUGE-L are within
0.003 (largest gaps: ROUGE-1 relevance rho 0.3280 vs 0.326, ROUGE-L relevance rho 0.3097 vs 0.311).
rouge-score's plain rougeL is far off (coherence rho 0.202 vs 0.128).
"""

from __future__ import annotations

import json

import pytest

PUBLISHED = {  # metric -> dimension -> (spearman, kendall), G-Eval Table 1
    "rouge1": {
        "coherence": (0.167, 0.126),
        "consistency": (0.160, 0.130),
        "fluency": (0.115, 0.094),
        "relevance": (0.326, 0.252),
    },
    "rouge2": {
        "coherence": (0.184, 0.139),
        "consistency": (0.187, 0.155),
        "fluency": (0.159, 0.128),
        "relevance": (0.290, 0.219),
    },
    "rougeLsum": {  # the paper's "ROUGE-L"
        "coherence": (0.128, 0.099),
        "consistency": (0.115, 0.092),
        "fluency": (0.105, 0.084),
        "relevance": (0.311, 0.237),
    },
}
TOLERANCE = {"rouge1": 0.003, "rouge2": 0.0005, "rougeLsum": 0.003}  # rouge2: to 3 digits


@pytest.mark.slow
def test_summary_level_rouge_rows_of_geval_table_1(run_cli, tmp_path):
    run_dir = tmp_path / "run"
    scorers = (
        "+scorers={rouge: {multi_ref: mean, tokenizer: default,"
        " types: [rouge1, rouge2, rougeLsum]}}"
    )
    # `~scorers.task`: ROUGE only, without the task's embedding and distilled judge (-60 s)
    out = run_cli(
        "run", "tasks=[summeval]", "~scorers.task", scorers, f"run_dir={run_dir}", timeout=900
    )
    assert out.returncode == 0, out.stderr
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    [signature] = [s["signature"] for s in run["scorers"] if s["name"] == "rouge"]
    assert "tok:default|stem:True" in signature and "refs:mean-f" in signature
    assert "lsum-split:pysbd-" in signature

    out = run_cli("meta-eval", str(run_dir), "--json", "--resamples", "10", timeout=900)
    assert out.returncode == 0, out.stderr
    got = {
        (r["metric"], r["human"], r["method"]): r
        for r in json.loads(out.stdout)
        if r["level"] == "summary"
    }
    for metric, rows in PUBLISHED.items():
        for dimension, (rho, tau) in rows.items():
            for method, published in (("spearman", rho), ("kendall", tau)):
                row = got[(metric, dimension, method)]
                assert row["n"] >= 90  # articles where both sides vary (of 100)
                assert row["value"] == pytest.approx(published, abs=TOLERANCE[metric]), (
                    metric,
                    dimension,
                    method,
                )
