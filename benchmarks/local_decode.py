"""Local decoding, side by side in one process on the same random-init Llama.

Default (CPU): evalkit's `hf` backend (engine=generate and engine=static) vs a loop calling
`generate` per prompt vs unsorted fixed-size batches. 256 prompts of mixed length (4 to 160 words),
32 new tokens each, EOS disabled so every variant does the same work; greedy outputs are compared
with the per-prompt loop. The variants alternate in `--rounds` rounds (each round runs every
variant once), and each is reported as median (min-max) over the rounds, with evalkit's speed-up
over fixed batches per round: a single pass per variant let one busy spell on a shared machine
show evalkit at 0.15x of fixed batches, against 1.48x in alternating runs.

    .venv/bin/python benchmarks/local_decode.py [--prompts 256] [--new-tokens 32] [--rounds 3]

`--graph` (for a GPU): the static-cache decoder (`model.engine=static`, one CUDA-graph replay per
step) vs plain `model.generate` on a random-init 1.1B Llama in bfloat16 (hidden 2048, 22 layers,
32 heads, 4 KV heads, intermediate 5632), 128-token prompts, 128 new tokens, EOS disabled, batch
1/16/64/256: tokens/s, decode steps/s, the share of the memory-bandwidth bound (weight bytes read
once per step at `--bandwidth` bytes/s; 4.3e12 is an H200's HBM3e), and how many rows came out
token-identical; the two alternate `--repeats` times and the best of each counts.
`--size tiny` runs the same code on a small model (a CPU smoke run).

    python benchmarks/local_decode.py --graph [--device cuda] [--size 1.1b|tiny]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evalkit.backends.hf import HFBackend
from evalkit.backends.hf_loading import HFOptions
from evalkit.backends.hf_static import StaticDecoder
from evalkit.testing.tiny_models import CORPUS, build_causal
from evalkit.types import ChatMessage, GenerationParams, Request


def build_model(directory: Path) -> Path:
    sizes = {
        "hidden_size": 256,
        "intermediate_size": 688,
        "num_hidden_layers": 4,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
        "max_position_embeddings": 1024,
    }
    return build_causal(directory, chat_template=None, sizes=sizes)


def make_prompts(n: int) -> list[str]:
    rng = random.Random(0)
    words = " ".join(CORPUS[:10]).split()
    return [" ".join(rng.choice(words) for _ in range(rng.randint(4, 160))) for _ in range(n)]


def plain_generate(backend: HFBackend, prompts: list[str], new_tokens: int) -> list[list[int]]:
    encoded = backend.tokenizer(prompts, return_tensors="pt", padding=True)
    with torch.inference_mode():
        out = backend.model.generate(
            **encoded,
            max_new_tokens=new_tokens,
            do_sample=False,
            pad_token_id=backend.tokenizer.pad_token_id,
        )
    return out[:, encoded.input_ids.shape[1] :].tolist()


def cpu_comparison(args: argparse.Namespace) -> None:
    path = build_model(Path(tempfile.mkdtemp()) / "llama")
    options = {"path": str(path), "device": "cpu", "max_batch_size": 64, "batch_tokens": 8192}
    backend = HFBackend("bench", HFOptions(**options))
    backend.model.generation_config.eos_token_id = None  # same amount of work for every variant
    static = HFBackend("bench", HFOptions(**options, engine="static"))
    static.model.generation_config.eos_token_id = None
    assert static.static is not None
    static.static.eos_token_ids = []
    prompts = make_prompts(args.prompts)
    params = GenerationParams(max_new_tokens=args.new_tokens)
    requests = [
        Request(
            task="b",
            sample_id=str(i),
            messages=[ChatMessage(role="user", content=p)],
            params=params,
        )
        for i, p in enumerate(prompts)
    ]
    backend.generate(requests[:2])  # warm-up for everyone
    static.generate(requests[:2])

    fixed = args.fixed_batch
    outputs: dict[str, Any] = {}
    variants: dict[str, Callable[[], Any]] = {
        "generate per prompt (loop)": lambda: [
            plain_generate(backend, [p], args.new_tokens)[0] for p in prompts
        ],
        f"unsorted fixed batches of {fixed}": lambda: [
            plain_generate(backend, prompts[i : i + fixed], args.new_tokens)
            for i in range(0, len(prompts), fixed)
        ],
        "evalkit hf backend": lambda: backend.generate(requests),
        "evalkit hf backend, engine=static": lambda: static.generate(requests),
    }
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):  # alternating: a busy spell slows every variant, not one
        for name, run in variants.items():
            start = time.perf_counter()
            outputs[name] = run()
            seconds[name].append(time.perf_counter() - start)

    loop_texts = [
        backend.tokenizer.decode(ids, skip_special_tokens=True)
        for ids in outputs["generate per prompt (loop)"]
    ]
    ours, ours_static = outputs["evalkit hf backend"], outputs["evalkit hf backend, engine=static"]
    same = sum(g.text == t for g, t in zip(ours, loop_texts, strict=True))
    same_static = sum(g.text == t for g, t in zip(ours_static, loop_texts, strict=True))
    tokens = args.prompts * args.new_tokens
    print(
        f"{args.prompts} prompts x {args.new_tokens} new tokens, CPU, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; {args.rounds} alternating rounds, "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    print(
        f"{'variant':34} {'seconds median (min-max)':>26} {'tokens/s':>9} {'evalkit speed-up':>17}"
    )
    ours_median = statistics.median(seconds["evalkit hf backend"])
    for name, times in seconds.items():
        median = statistics.median(times)
        spread = f"{median:.2f} ({min(times):.2f}-{max(times):.2f})"
        print(f"{name:34} {spread:>26} {tokens / median:9.0f} {median / ours_median:16.2f}x")
    fixed_name = f"unsorted fixed batches of {fixed}"
    per_round = [
        f / e for f, e in zip(seconds[fixed_name], seconds["evalkit hf backend"], strict=True)
    ]
    print(
        "evalkit speed-up over fixed batches, per round: "
        + " ".join(f"{x:.2f}x" for x in per_round)
    )
    print(
        f"greedy outputs identical to the per-prompt loop: {same}/{args.prompts} "
        f"(engine=static: {same_static}/{args.prompts})"
    )


LLAMA_1B = {
    "hidden_size": 2048,
    "num_hidden_layers": 22,
    "num_attention_heads": 32,
    "num_key_value_heads": 4,
    "intermediate_size": 5632,
    "vocab_size": 32000,
    "max_position_embeddings": 2048,
}
LLAMA_TINY = LLAMA_1B | {
    "hidden_size": 256,
    "num_hidden_layers": 4,
    "num_attention_heads": 8,
    "num_key_value_heads": 4,
    "intermediate_size": 688,
}


def greedy_generate(model: Any, ids: Any, mask: Any, new_tokens: int) -> Any:
    """Plain `model.generate`, greedy: the baseline and the reference tokens."""
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=new_tokens,
            do_sample=False,
            pad_token_id=0,
        )
    return out[:, ids.shape[1] :].cpu()


def _alternating(
    fns: list[Callable[[], Any]], sync: Callable[[], None], repeats: int
) -> list[tuple[float, Any]]:
    """Each function's best time over `repeats` rounds that run them in turn, and its result."""
    best, results = [float("inf")] * len(fns), [None] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            sync()
            start = time.perf_counter()
            results[i] = fn()
            sync()
            best[i] = min(best[i], time.perf_counter() - start)
    return list(zip(best, results, strict=True))


def graph_comparison(args: argparse.Namespace) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    device = args.device
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    dtype = {"bf16": torch.bfloat16, "fp32": torch.float32}[args.dtype]
    config = LlamaConfig(**(LLAMA_1B if args.size == "1.1b" else LLAMA_TINY))
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM(config).to(dtype).eval()
    model.generation_config.eos_token_id = None  # every row decodes all new tokens
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    bound = args.bandwidth / weight_bytes
    decoder = StaticDecoder(model, pad_token_id=0, eos_token_ids=[], device=device, sync=sync)
    print(
        f"{sum(p.numel() for p in model.parameters()) / 1e9:.2f}B parameters, {args.dtype}, "
        f"{device}, "
        f"torch {torch.__version__}; {args.prompt_tokens}-token prompts, {args.new_tokens} new "
        f"tokens; bandwidth bound {bound:,.0f} steps/s ({weight_bytes / 1e9:.2f} GB per step)"
    )
    print(
        f"{'batch':>5} {'generate tok/s':>15} {'steps/s':>8} {'static tok/s':>13} {'steps/s':>8}"
        f" {'decode-only':>12} {'x generate':>11} {'of bound':>9} {'capture s':>10}"
        f" {'identical':>10}"
    )
    for batch in args.batches:
        ids = torch.randint(3, config.vocab_size, (batch, args.prompt_tokens), device=device)
        mask = torch.ones_like(ids)

        def plain(ids: Any = ids, mask: Any = mask) -> Any:
            return greedy_generate(model, ids, mask, args.new_tokens)

        first = decoder.decode(ids, mask, args.new_tokens)  # captures this shape's graph

        def static(ids: Any = ids, mask: Any = mask) -> Any:
            return decoder.decode(ids, mask, args.new_tokens)

        (t_plain, expected), (t_static, decoded) = _alternating([plain, static], sync, args.repeats)
        steps = args.new_tokens
        decode_only = (steps - 1) / (decoded.latency_s - decoded.first_token_s)
        identical = int((decoded.tokens == expected).all(dim=1).sum())
        print(
            f"{batch:5d} {batch * steps / t_plain:15,.0f} {steps / t_plain:8.1f} "
            f"{batch * steps / t_static:13,.0f} {steps / t_static:8.1f} {decode_only:12.1f} "
            f"{t_plain / t_static:10.1f}x {steps / t_static / bound:8.1%} "
            f"{first.capture_s:10.2f} {identical:>5}/{batch}"
        )
        del first, decoded, expected
    if args.check_batches:
        check_in_fp32(model, args, sync)


def check_in_fp32(model: Any, args: argparse.Namespace, sync: Callable[[], None]) -> None:
    """Token identity in float32. A random-init model's logits are nearly uniform, so in bfloat16
    the rounding differences between two correct decoders (another attention kernel, a masked
    cache) flip near-tied argmaxes and the two continuations part; float32 shows whether the
    decoders compute the same thing."""
    model = model.float()
    decoder = StaticDecoder(model, pad_token_id=0, eos_token_ids=[], device=args.device, sync=sync)
    for batch in args.check_batches:
        ids = torch.randint(3, model.config.vocab_size, (batch, args.prompt_tokens))
        ids, mask = ids.to(args.device), torch.ones_like(ids, device=args.device)
        expected = greedy_generate(model, ids, mask, args.new_tokens)
        decoded = decoder.decode(ids, mask, args.new_tokens).tokens
        identical = int((decoded == expected).all(dim=1).sum())
        print(f"float32, batch {batch}: {identical}/{batch} rows token-identical to generate")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=256)
    parser.add_argument("--new-tokens", type=int, default=None)
    parser.add_argument("--fixed-batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="CPU: alternating rounds")
    parser.add_argument("--graph", action="store_true", help="static engine vs generate (GPU)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--size", choices=["1.1b", "tiny"], default="1.1b")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64, 256])
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--bandwidth", type=float, default=4.3e12, help="bytes/s")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", choices=["bf16", "fp32"], default="bf16")
    parser.add_argument("--check-batches", type=int, nargs="*", default=[1, 16])
    args = parser.parse_args()
    if args.graph:
        args.new_tokens = args.new_tokens or 128
        graph_comparison(args)
    else:
        args.new_tokens = args.new_tokens or 32
        cpu_comparison(args)


if __name__ == "__main__":
    main()
