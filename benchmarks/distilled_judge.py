"""The shipped distilled judge's scoring speed on CPU, and the ratio against an LLM judge served by
`evalkit serve` on the same samples.

SummEval summaries (16 systems x N articles) are scored through evalkit's scoring path
(`score_items`) by the `distilled_judge` scorer, the way a run scores them:
- "shared sources": all 16 systems' summaries of each article, as in a comparison of models (each
  article and its references are encoded once for 16 summaries);
- "one per source": one summary per article (every sample pays for its source and references).
Every timed call uses a fresh judge (empty embedding cache); models are loaded before timing.

The LLM judge: `evalkit serve` hosting a random-init Llama (hidden 256, 4 layers, ~4M parameters:
far smaller and faster than any real judge, so the ratio is a lower bound), asked the
summ_coherence rubric through the `openai` backend by the `judge` scorer, max_new_tokens 64, 16
concurrent requests, the response cache off.

    python benchmarks/distilled_judge.py [--articles 100] [--llm-samples 64] [--repeat 3]
        [--judge NAME|DIR] [--skip-llm] [--ted 2600]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("EVALKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))
SUMMEVAL = SHARED / "summeval/summeval.jsonl"
TED = SHARED / "wmt_mqm_ted_ende/ted_ende_mqm.jsonl"


def items(articles: int, per_article: int):
    from evalkit.stages.scoring import ScoringItem

    rows = [json.loads(line) for line in SUMMEVAL.read_text(encoding="utf-8").splitlines()]
    seen: dict[str, int] = {}
    out = []
    for row in rows:
        count = seen.get(row["doc_id"], 0)
        if (row["doc_id"] in seen or len(seen) < articles) and count < per_article:
            seen[row["doc_id"]] = count + 1
            out.append(ScoringItem(row["summary"], tuple(row["references"]), None, row["source"]))
    return out


def ted_items(n: int):
    """The first `n` system translations of TED en-de MQM, each with the human translation of
    its segment as the one reference and the English original as the source."""
    from evalkit.stages.scoring import ScoringItem

    rows = [json.loads(line) for line in TED.read_text(encoding="utf-8").splitlines()]
    references = {r["seg_id"]: r["target"] for r in rows if r["system"] == "ref"}
    systems = [r for r in rows if r["system"] != "ref"][:n]
    return [
        ScoringItem(r["target"], (references[r["seg_id"]],), None, r["source"]) for r in systems
    ]


def distilled_rate(batch, repeat: int, judge: str) -> float:
    from evalkit.distill.scorer import DistilledJudgeScorer
    from evalkit.stages.scoring import score_items

    best = float("inf")
    scorer = DistilledJudgeScorer(judge=judge)
    extractor = scorer.judge.student.extractor
    extractor.load()  # the model load is not timed
    for _ in range(repeat):
        extractor.clear_cache()  # cold: every source, reference and summary is encoded
        start = time.perf_counter()
        scores = score_items([scorer], batch)
        best = min(best, time.perf_counter() - start)
        assert all(s.status == "ok" for row in scores for s in row)
    return len(batch) / best


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_llm(directory: Path):
    from evalkit.testing.tiny_models import build_causal

    build_causal(
        directory,
        sizes={
            "hidden_size": 256,
            "intermediate_size": 688,
            "num_hidden_layers": 4,
            "num_attention_heads": 8,
            "num_key_value_heads": 4,
            "max_position_embeddings": 4096,
        },
    )
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "evalkit", "serve", "model=hf", f"model.path={directory}",
         f"port={port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2):
                return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("evalkit serve did not start") from None
            time.sleep(0.5)


def llm_rate(batch, url: str) -> float:
    from evalkit.scorers.judge import JudgeScorer
    from evalkit.stages.scoring import score_items

    scorer = JudgeScorer(
        rubric="summ_coherence",
        model={"name": "hf", "backend": "openai", "base_url": url, "model": "hf",
               "api_key_env": None, "max_concurrency": 16},
        reask=0, max_new_tokens=64, cache=False,
    )  # fmt: skip
    try:
        score_items([scorer], batch[:2])  # warm-up
        start = time.perf_counter()
        score_items([scorer], batch)
        return len(batch) / (time.perf_counter() - start)
    finally:
        scorer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--llm-samples", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--judge", default="summeval-minilm", help="a judge name or directory")
    parser.add_argument("--skip-llm", action="store_true")
    parser.add_argument("--ted", type=int, default=0, help="also time N TED translations")
    args = parser.parse_args()
    import torch

    print(f"torch threads: {torch.get_num_threads()}, cpu cores: {os.cpu_count()}")
    shared = items(args.articles, 16)
    single = items(args.articles, 1)
    rate_shared = distilled_rate(shared, args.repeat, args.judge)
    rate_single = distilled_rate(single, args.repeat, args.judge)
    print(f"{args.judge}, shared sources: {len(shared)} samples, {rate_shared:,.0f} samples/s")
    print(f"{args.judge}, one per source: {len(single)} samples, {rate_single:,.0f} samples/s")
    if args.ted:
        ted = ted_items(args.ted)
        rate_ted = distilled_rate(ted, args.repeat, args.judge)
        print(f"{args.judge}, TED en-de: {len(ted)} translations, {rate_ted:,.0f} samples/s")
    if args.skip_llm:
        return
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = serve_llm(Path(tmp) / "llama")
        try:
            llm_batch = shared[: args.llm_samples]
            rate_llm = llm_rate(llm_batch, url)
            rate_same = distilled_rate(llm_batch, args.repeat, args.judge)
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"LLM judge via evalkit serve (random Llama, 4 layers): {len(llm_batch)} samples, "
          f"{rate_llm:,.1f} samples/s")  # fmt: skip
    print(f"distilled judge on the same samples: {rate_same:,.0f} samples/s "
          f"= {rate_same / rate_llm:,.0f}x the LLM judge")  # fmt: skip


if __name__ == "__main__":
    main()
