"""Synthetic tasks with recorded outputs of several model variants, for report tests and benchmarks.

Each variant answers with the reference corrupted at its own rate and replays its own latency and
cost, so a report has real runs (made by `evalkit run`) with a quality/latency/cost trade-off:
a base model, its int8 and speculative variants (faster, slightly worse or the same) and a small
model. Optional `payloads` are planted in prompts, references, outputs and model names.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

VARIANTS = {  # name -> (word error rate, median latency s, cost USD per sample)
    "base": (0.10, 0.80, 0.0020),
    "base-int8": (0.13, 0.45, 0.0011),
    "base-spec": (0.10, 0.50, 0.0020),
    "small": (0.35, 0.20, 0.0004),
}
_WORDS = [
    "the",
    "model",
    "answer",
    "report",
    "latency",
    "quality",
    "cost",
    "river",
    "stone",
    "light",
    "paper",
    "window",
    "garden",
    "music",
    "table",
    "number",
    "market",
    "bridge",
    "winter",
    "summer",
    "signal",
    "pattern",
    "engine",
    "motion",
    "silver",
    "forest",
]

XSS_PAYLOADS = [
    "<script>document.body.dataset.pwned='script'</script>",
    "<img src=x onerror=\"document.body.dataset.pwned='img';alert(1)\">",
    '<a href="javascript:alert(1)">click</a>',
    "</script><script>alert(1)</script>",
    "<svg onload=alert(1)>",
    "**bold** [link](javascript:alert(1)) <div onmouseover=alert(1)>hover</div>",
    "<!-- comment --> &lt;b&gt; \u2028 \u2029",
]


def _corrupt(words: list[str], rate: float, rng: random.Random) -> list[str]:
    return [rng.choice(_WORDS) if rng.random() < rate else w for w in words]


def write_task(
    root: Path,
    n_samples: int,
    *,
    name: str = "synth",
    seed: int = 0,
    variants: dict[str, tuple[float, float, float]] | None = None,
    payloads: list[str] | None = None,
    unanswered: tuple[str, int] | None = None,
) -> Path:
    """Write task.yaml, data.jsonl and outputs.jsonl (long format) under `root`; return root.

    `unanswered=(system, k)`: that system has no output for every k-th sample (a replay error).
    """
    rng = random.Random(seed)
    variants = variants or VARIANTS
    root.mkdir(parents=True, exist_ok=True)
    data, outputs = [], []
    for i in range(n_samples):
        reference = [rng.choice(_WORDS) for _ in range(rng.randint(8, 30))]
        prompt = f"Restate item {i}: " + " ".join(reference)
        ref_text = " ".join(reference)
        if payloads:
            prompt += " " + payloads[i % len(payloads)]
            ref_text += " " + payloads[(i + 1) % len(payloads)]
        data.append({"id": f"s{i}", "prompt": prompt, "answer": ref_text})
        for system, (error, latency, cost) in variants.items():
            if unanswered and system == unanswered[0] and i % unanswered[1] == 0:
                continue
            text = " ".join(_corrupt(reference, error, rng))
            if payloads:
                text += " " + payloads[(i + 2) % len(payloads)]
            outputs.append(
                {
                    "id": f"s{i}",
                    "system": system,
                    "output": text,
                    "latency_s": round(latency * rng.lognormvariate(0, 0.3), 4),
                    "cost_usd": cost,
                }
            )
    for filename, rows in (("data.jsonl", data), ("outputs.jsonl", outputs)):
        with (root / filename).open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    (root / "task.yaml").write_text(
        f"name: {name}\nversion: 1\ndescription: synthetic restatement\ndata: data.jsonl\n"
        "fields: {id: id, input: prompt, references: answer}\n"
        "prompt: '{{ input }}'\nscorers: {exact_match: {}, f1: {}, chrf: {}}\n"
        "outputs: outputs.jsonl\n",
        encoding="utf-8",
    )
    return root


def hostile_variants() -> dict[str, tuple[float, float, float]]:
    """Model names that are themselves attacks."""
    names = ["<img src=x onerror=alert(1)>", "</script><b>m2</b>", "javascript:alert(1)"]
    return {name: (0.1 * (k + 1), 0.3 * (k + 1), 0.001) for k, name in enumerate(names)}
