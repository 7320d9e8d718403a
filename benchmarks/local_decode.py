"""Local decoding on CPU: evalkit's `hf` backend vs a loop calling `generate` per prompt vs
unsorted fixed-size batches, side by side in one process, on the same random-init Llama.

256 prompts of mixed length (4 to 160 words), 32 new tokens each, EOS disabled so every variant
does the same work; greedy outputs are compared with the per-prompt loop.

    .venv/bin/python benchmarks/local_decode.py [--prompts 256] [--new-tokens 32]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evalkit.backends.hf import HFBackend
from evalkit.backends.hf_loading import HFOptions
from evalkit.types import ChatMessage, GenerationParams, Request
from tests.tiny_models import CORPUS, build_causal


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=256)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--fixed-batch", type=int, default=32)
    args = parser.parse_args()
    path = build_model(Path(tempfile.mkdtemp()) / "llama")
    backend = HFBackend(
        "bench", HFOptions(path=str(path), device="cpu", max_batch_size=64, batch_tokens=8192)
    )
    backend.model.generation_config.eos_token_id = None  # same amount of work for every variant
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

    start = time.perf_counter()
    ours = backend.generate(requests)
    t_evalkit = time.perf_counter() - start

    start = time.perf_counter()
    loop = [plain_generate(backend, [p], args.new_tokens)[0] for p in prompts]
    t_loop = time.perf_counter() - start

    start = time.perf_counter()
    for i in range(0, len(prompts), args.fixed_batch):
        plain_generate(backend, prompts[i : i + args.fixed_batch], args.new_tokens)
    t_fixed = time.perf_counter() - start

    loop_texts = [backend.tokenizer.decode(ids, skip_special_tokens=True) for ids in loop]
    same = sum(g.text == t for g, t in zip(ours, loop_texts, strict=True))
    tokens = args.prompts * args.new_tokens
    print(
        f"{args.prompts} prompts x {args.new_tokens} new tokens, CPU, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print(f"{'variant':34} {'seconds':>8} {'tokens/s':>9} {'evalkit speed-up':>17}")
    for name, seconds in [
        ("generate per prompt (loop)", t_loop),
        (f"unsorted fixed batches of {args.fixed_batch}", t_fixed),
        ("evalkit hf backend", t_evalkit),
    ]:
        print(f"{name:34} {seconds:8.2f} {tokens / seconds:9.0f} {seconds / t_evalkit:16.2f}x")
    print(f"greedy outputs identical to the per-prompt loop: {same}/{args.prompts}")


if __name__ == "__main__":
    main()
