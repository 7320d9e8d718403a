"""The `hf` backend's signature (and so the cache key) changes with everything that changes an
output: the chat template's text (file or override), the tokenizer files, the model config and the
generation config. A change gives fresh generations; an unchanged model is a cache hit."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("torch")

from evalkit.backends.hf import HFBackend
from evalkit.backends.hf_loading import HFOptions
from evalkit.backends.hf_signature import files_digest, template_in_use
from evalkit.config import RunConfig
from evalkit.stages.pipeline import run_evaluation
from evalkit.testing.tiny_models import build_causal
from evalkit.types import ChatMessage
from tests.conftest import write_jsonl

TEMPLATE_V1 = (
    "{% for m in messages %}<|user|> {{ m['content'] }} {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
TEMPLATE_V2 = "<|system|> answer briefly " + TEMPLATE_V1


@pytest.fixture(scope="module")
def base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = build_causal(tmp_path_factory.mktemp("sig") / "model", chat_template=None)
    (directory / "chat_template.jinja").write_text(TEMPLATE_V1, encoding="utf-8")
    return directory


@pytest.fixture
def model(base_model: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(base_model, tmp_path / "model"))


@pytest.fixture
def task(tmp_path: Path) -> Path:
    root = tmp_path / "task"
    rows = [{"id": f"p{i}", "prompt": p, "ref": "x"} for i, p in enumerate(PROMPTS)]
    write_jsonl(root / "data.jsonl", rows)
    (root / "task.yaml").write_text(
        "name: sig\nversion: 1\ndescription: d\ndata: data.jsonl\n"
        "fields: {id: id, input: prompt, references: ref}\nprompt: '{{ input }}'\n"
        "generation: {max_new_tokens: 6, temperature: 0.0}\nscorers: {exact_match: {}}\n",
        encoding="utf-8",
    )
    return root


PROMPTS = ["the cat sat on the mat", "what is two plus two", "Hello World"]


def run(
    task: Path, model: Path, run_dir: Path, *, cache: bool = True, **options: object
) -> tuple[str, list[dict]]:
    """(backend signature, sample records) of one run through the pipeline."""
    config = RunConfig.from_dict(
        {
            "suite": {"name": "s", "tasks": [str(task)]},
            "model": {"name": "m", "backend": "hf", "path": str(model), "device": "cpu", **options},
            "cache": {"enabled": cache, "path": str(run_dir.parent / "cache.sqlite")},
            "progress": False,
            "scoring": {"workers": 0},
        }
    )
    record = run_evaluation(config, run_dir)
    lines = (run_dir / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    return record.backends[0].signature, [json.loads(line) for line in lines]


def _edit_json(path: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


CHANGES: dict[str, tuple[str, Callable[[Path], None]]] = {
    "template file": (
        "template:",
        lambda m: (m / "chat_template.jinja").write_text(TEMPLATE_V2, encoding="utf-8"),
    ),
    "tokenizer.json": (
        "tokenizer:",
        lambda m: _edit_json(
            m / "tokenizer.json", lambda d: d.update(normalizer={"type": "Lowercase"})
        ),
    ),
    "tokenizer_config.json": (
        "tokenizer:",
        lambda m: _edit_json(m / "tokenizer_config.json", lambda d: d.update(eos_token="<pad>")),
    ),
    "generation_config.json": (
        "generation:",
        lambda m: _edit_json(
            m / "generation_config.json", lambda d: d.update(repetition_penalty=3.0)
        ),
    ),
    "config.json": (
        "config:",
        lambda m: _edit_json(m / "config.json", lambda d: d.update(rms_norm_eps=0.5)),
    ),
}


def _field(signature: str, name: str) -> str:
    return next(part for part in signature.split("|") if part.startswith(name))


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_change_gives_a_new_signature_and_fresh_generations(change, task, model, tmp_path):
    field, apply = CHANGES[change]
    before, first = run(task, model, tmp_path / "a")
    assert not any(r["generation"]["cached"] for r in first)
    apply(model)
    after, second = run(task, model, tmp_path / "b")
    assert after != before and _field(after, field) != _field(before, field)
    others = [p for p in after.split("|") if not p.startswith(field)]
    assert others == [p for p in before.split("|") if not p.startswith(field)]  # only that part
    assert not any(r["generation"]["cached"] for r in second)
    _, uncached = run(task, model, tmp_path / "c", cache=False)
    texts = [r["generation"]["text"] for r in second]
    assert texts == [r["generation"]["text"] for r in uncached]  # the new model's own outputs


def test_an_unchanged_model_is_a_cache_hit(task, model, tmp_path):
    before, first = run(task, model, tmp_path / "a")
    again, second = run(task, model, tmp_path / "b")
    assert again == before
    assert all(r["generation"]["cached"] for r in second)
    assert [r["generation"]["text"] for r in second] == [r["generation"]["text"] for r in first]


def test_template_override_text_is_in_the_signature(task, model, tmp_path):
    (model / "chat_template.jinja").unlink()
    one, _ = run(task, model, tmp_path / "a", chat_template=TEMPLATE_V1)
    two, second = run(task, model, tmp_path / "b", chat_template=TEMPLATE_V2)
    assert _field(one, "template:").startswith("template:configured:")
    assert _field(one, "template:") != _field(two, "template:")
    assert not any(r["generation"]["cached"] for r in second)
    none, _ = run(task, model, tmp_path / "c")
    assert _field(none, "template:") == "template:none"
    back, third = run(task, model, tmp_path / "d", chat_template=TEMPLATE_V1)
    assert back == one and all(r["generation"]["cached"] for r in third)


def test_template_file_and_inline_template_of_the_same_text_agree(model):
    """The hash is of the text, wherever it came from: file or tokenizer_config.json."""
    from_file = HFBackend("m", HFOptions(path=str(model), device="cpu")).signature()
    (model / "chat_template.jinja").unlink()
    _edit_json(model / "tokenizer_config.json", lambda d: d.update(chat_template=TEMPLATE_V1))
    inline = HFBackend("m", HFOptions(path=str(model), device="cpu")).signature()
    assert _field(inline, "template:") == _field(from_file, "template:")


def test_several_named_templates_use_the_default_one(model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    tokenizer.chat_template = {"default": TEMPLATE_V2, "tool_use": TEMPLATE_V1}
    assert template_in_use(tokenizer, None) == ("tokenizer", TEMPLATE_V2)
    backend = HFBackend("m", HFOptions(path=str(model), device="cpu"))
    backend.tokenizer.chat_template = tokenizer.chat_template
    backend.template_source, backend.template = template_in_use(backend.tokenizer, None)
    text = backend.prompt_text([ChatMessage(role="user", content="hi")])
    assert text == "<|system|> answer briefly <|user|> hi <|assistant|>"


def test_files_digest_names_what_it_cannot_hash(tmp_path):
    assert files_digest("org/some-hub-model", ["tokenizer.json"]) == "hub"
    assert files_digest(str(tmp_path), ["tokenizer.json"]) == "none"
    (tmp_path / "tokenizer.model").write_bytes(b"sentencepiece")
    one = files_digest(str(tmp_path), ["tokenizer.json", "tokenizer.model"])
    (tmp_path / "tokenizer.model").write_bytes(b"sentencepiece v2")
    assert files_digest(str(tmp_path), ["tokenizer.json", "tokenizer.model"]) not in (one, "none")


def test_a_new_system_prompt_is_not_served_from_the_cache(task, model, tmp_path):
    """The task's system prompt is a message of the request, and the request is in the key."""
    _, first = run(task, model, tmp_path / "a")
    spec = task / "task.yaml"
    spec.write_text(spec.read_text(encoding="utf-8") + "system_prompt: answer briefly\n")
    _, second = run(task, model, tmp_path / "b")
    assert second[0]["request"]["messages"][0] == {"role": "system", "content": "answer briefly"}
    assert not any(r["generation"]["cached"] for r in second)
    assert first[0]["request"]["messages"][0]["role"] == "user"
