"""Prompts longer than a local model's context (first-hour case 11): cut from the left with a
per-sample flag, or that sample fails alone; never a crash of the whole batch."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")

from evalkit.backends.hf import HFBackend  # noqa: E402
from evalkit.backends.hf_context import context_length, fit_prompt  # noqa: E402
from evalkit.backends.hf_loading import HFOptions  # noqa: E402
from evalkit.testing.tiny_models import PROMPTS, build_causal  # noqa: E402
from evalkit.types import ChatMessage, GenerationParams, Request  # noqa: E402

CONTEXT = 64
NEW = 8
LONG = " ".join(PROMPTS * 4)
SHARP = {"initializer_range": 0.5}  # a random model that writes text, not only blanks


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("ctx")
    return {
        "gpt2": build_causal(root / "gpt2", "gpt2", sizes={"n_positions": CONTEXT, **SHARP}),
        "llama": build_causal(root / "llama", sizes={"max_position_embeddings": CONTEXT, **SHARP}),
    }


def _requests(*prompts: str, new: int = NEW) -> list[Request]:
    params = GenerationParams(max_new_tokens=new)
    return [
        Request(task="t", sample_id=str(i), messages=[ChatMessage(role="user", content=p)],
                params=params)
        for i, p in enumerate(prompts)
    ]  # fmt: skip


def _backend(path, **options) -> HFBackend:
    return HFBackend("m", HFOptions(path=str(path), device="cpu", **options))


def _reference(b: HFBackend, prompt: str, keep: int) -> str:
    """transformers' own greedy generate on the prompt's last `keep` tokens."""
    ids = b.tokenizer(b.prompt_text([ChatMessage(role="user", content=prompt)])).input_ids
    with torch.inference_mode():
        out = b.model.generate(
            torch.tensor([ids[-keep:]]), max_new_tokens=NEW, do_sample=False, pad_token_id=0
        )
    special = {b.tokenizer.pad_token_id, b.tokenizer.eos_token_id}
    new = [t for t in out[0, keep:].tolist() if t not in special]
    return str(b.tokenizer.decode(new, skip_special_tokens=True))


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_an_overlong_prompt_keeps_its_last_tokens_and_is_flagged(models, kind):
    b = _backend(models[kind])
    prompt_tokens = len(b.tokenizer(b.prompt_text(_requests(LONG)[0].messages)).input_ids)
    assert prompt_tokens > CONTEXT  # GPT-2 raised IndexError on this before
    long, short = b.generate(_requests(LONG, PROMPTS[0]))
    keep = CONTEXT - NEW
    assert long.status != "error" and long.input_tokens == keep
    assert long.metadata["prompt_truncated"] == {"tokens": prompt_tokens, "kept": keep}
    assert long.text and long.text == _reference(b, LONG, keep)
    assert short.status != "error" and "prompt_truncated" not in short.metadata
    report = b.report()
    assert report["prompts_truncated"] == 1 and report["prompts_too_long"] == 0
    assert report["context_tokens"] == CONTEXT


def test_with_overlong_prompt_error_only_that_sample_fails(models):
    b = _backend(models["gpt2"], overlong_prompt="error")
    long, short = b.generate(_requests(LONG, PROMPTS[0]))
    assert long.status == "error" and "longer than the 56 the model's context of 64" in long.error
    assert (
        short.status != "error"
        and short.text == _backend(models["gpt2"]).generate(_requests(PROMPTS[0]))[0].text
    )
    assert b.report()["prompts_too_long"] == 1 and b.report()["prompts_truncated"] == 0
    assert "overlong:error" in b.signature()
    assert "overlong" not in _backend(models["gpt2"]).signature()


def test_max_new_tokens_past_half_the_context_is_capped_for_every_sample(models):
    b = _backend(models["gpt2"])
    generations = b.generate(_requests(PROMPTS[0], LONG, new=CONTEXT))
    assert all(g.status != "error" for g in generations)
    assert all(g.output_tokens <= CONTEXT // 2 for g in generations)
    assert generations[1].metadata["prompt_truncated"]["kept"] == CONTEXT // 2
    assert b.report()["max_new_tokens_cap"] == CONTEXT // 2


def test_the_context_comes_from_the_config_else_the_tokenizer():
    assert context_length(SimpleNamespace(n_positions=1024), None) == 1024
    tokenizer = SimpleNamespace(model_max_length=512)
    assert context_length(SimpleNamespace(), tokenizer) == 512
    assert context_length(SimpleNamespace(), SimpleNamespace(model_max_length=int(1e30))) is None
    assert fit_prompt(10, None, None, "error").error is None
    assert fit_prompt(10, 10, 20, "error").limit is None
    assert fit_prompt(11, 10, 20, "truncate_left").truncated


def test_the_cli_run_goes_on_and_counts(models, qa_task, run_cli, tmp_path):
    """The qa task's prompts fit; a 9-token context (1 new token) cuts every one of them."""
    path = build_causal(tmp_path / "tiny", "gpt2", sizes={"n_positions": 9})
    spec = qa_task / "task.yaml"
    spec.write_text(spec.read_text() + "generation: {max_new_tokens: 1}\n")
    done = run_cli(
        "run", f"tasks=[{qa_task}]", "model=hf", f"model.path={path}", "limit=3",
        f"run_dir={tmp_path / 'run'}", "report.enabled=false", "progress=false",
    )  # fmt: skip
    assert done.returncode in (0, 3), done.stderr  # 3: a random model may answer nothing
    assert "Traceback" not in done.stderr
    assert "3 cut from the left" in done.stderr
