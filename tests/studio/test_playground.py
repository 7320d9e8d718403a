"""The playground's stream relay against a local OpenAI-compatible stub server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from evalkit.errors import UserError
from evalkit.judges.rubric import load_rubric
from evalkit.store.ratings_db import RatingsDB
from evalkit.studio.app import create_app
from evalkit.studio.playground import load_models
from tests.studio.stub_openai import ANSWERS, stub_server


def _models_file(tmp_path: Path, base_url: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n"
        f"  - {{name: alpha, base_url: '{base_url}', model: alpha, api_key_env: null,\n"
        "      price: {input: 1.0, output: 2.0}}\n"
        f"  - {{name: beta, base_url: '{base_url}', model: beta, api_key_env: null}}\n"
        f"  - {{name: gone, base_url: '{base_url}', model: gone, api_key_env: null}}\n",
        encoding="utf-8",
    )
    return path


def test_answers_stream_with_timings_and_cost(tmp_path: Path) -> None:
    with stub_server() as base_url:
        models = load_models(_models_file(tmp_path, base_url))
        app = create_app(
            RatingsDB(tmp_path / "s.sqlite"), load_rubric("summ_coherence"), None, models
        )
        client = TestClient(app)
        for name, answer in ANSWERS.items():
            res = client.post("/api/playground", json={"model": name, "prompt": "Capital?"})
            events = [json.loads(line) for line in res.text.splitlines()]
            assert "".join(e.get("delta", "") for e in events) == answer
            assert len([e for e in events if "delta" in e]) > 3  # streamed in pieces
            done = events[-1]
            assert done["done"] and done["output_tokens"] == len(
                [e for e in events if "delta" in e]
            )
            assert 0 < done["ttft_s"] <= done["seconds"] and done["tokens_per_s"] > 0
        # alpha: 11 prompt tokens x $1/M + 12 completion tokens x $2/M
        assert events[-1]["cost_usd"] is None  # beta has no price
        res = client.post("/api/playground", json={"model": "alpha", "prompt": "x"})
        done = json.loads(res.text.splitlines()[-1])
        assert done["cost_usd"] == pytest.approx((11 * 1.0 + done["output_tokens"] * 2.0) / 1e6)
        res = client.post("/api/playground", json={"model": "gone", "prompt": "x"})
        assert json.loads(res.text.splitlines()[0])["error"].startswith("HTTP 404")
        res = client.post("/api/playground", json={"model": "beta", "prompt": "cut"})
        events = [json.loads(line) for line in res.text.splitlines()]
        assert "".join(e.get("delta", "") for e in events) == ANSWERS["beta"]
        assert events[-1] == {
            "error": "ValueError: the stream ended before [DONE] (the answer may be cut)"
        }
        res = client.post("/api/playground", json={"model": "nope", "prompt": "x"})
        assert res.status_code == 404 and "unknown playground model" in res.json()["error"]


def test_bad_playground_files_are_user_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  - {name: a, model: m, base_url: x, stream_please: 1}\n")
    with pytest.raises(UserError, match=r"bad\.yaml: models\[0\] \(a\)"):
        load_models(bad)
    with pytest.raises(UserError, match="playground file not found"):
        load_models(tmp_path / "none.yaml")


def test_a_local_hf_model_streams_token_by_token(tmp_path: Path) -> None:
    """Against transformers' own greedy generate on the same chat-templated prompt."""
    pytest.importorskip("transformers")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from evalkit.testing.tiny_models import build_causal

    path = build_causal(tmp_path / "llama")
    models_file = tmp_path / "models.yaml"
    models_file.write_text(
        f"models:\n  - {{name: tiny, backend: hf, path: '{path}', device: cpu, "
        "max_new_tokens: 12}\n",
        encoding="utf-8",
    )
    models = load_models(models_file)
    app = create_app(RatingsDB(tmp_path / "s.sqlite"), load_rubric("summ_coherence"), None, models)
    res = TestClient(app).post(
        "/api/playground", json={"model": "tiny", "prompt": "hello there", "system": "Be kind."}
    )
    events = [json.loads(line) for line in res.text.splitlines()]
    assert "error" not in events[-1], events[-1]
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    chat = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "hello there"}]
    prompt = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
    encoded = tokenizer(prompt, return_tensors="pt")
    with torch.inference_mode():
        out = model.generate(**encoded, max_new_tokens=12, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id)  # fmt: skip
    new = out[0, encoded.input_ids.shape[1] :]
    expected = tokenizer.decode(new, skip_special_tokens=True)
    assert "".join(e.get("delta", "") for e in events) == expected
    assert len([e for e in events if "delta" in e]) > 1  # streamed, not sent whole
    done = events[-1]
    assert done["done"] and done["output_tokens"] == len(new) and done["cost_usd"] is None
    assert 0 < done["ttft_s"] <= done["seconds"]


def test_unknown_backend_is_a_user_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  - {name: a, backend: vllm, model: m}\n")
    with pytest.raises(UserError, match=r"models\[0\]: backend 'vllm': expected openai or hf"):
        load_models(bad)


def test_an_answer_sent_in_one_chunk_has_no_token_rate(tmp_path: Path) -> None:
    # a buffering server sends the whole answer at once: a rate over ~0 s would read 100k tok/s
    with stub_server() as base_url:
        path = tmp_path / "models.yaml"
        path.write_text(
            f"models:\n  - {{name: whole, base_url: '{base_url}', model: whole, "
            "api_key_env: null}\n",
            encoding="utf-8",
        )
        app = create_app(
            RatingsDB(tmp_path / "s.sqlite"), load_rubric("summ_coherence"), None,
            load_models(path),
        )  # fmt: skip
        res = TestClient(app).post("/api/playground", json={"model": "whole", "prompt": "?"})
        events = [json.loads(line) for line in res.text.splitlines()]
    done = events[-1]
    assert len([e for e in events if "delta" in e]) == 1
    assert done["done"] and done["output_tokens"] > 1 and done["tokens_per_s"] is None
    assert done["ttft_s"] is not None


def test_token_rate_needs_two_chunks_after_the_first() -> None:
    from evalkit.studio.playground import decode_rate

    assert decode_rate(0.5, 0.5, 1, 40) is None
    assert decode_rate(0.5, 0.6, 2, 40) is None  # one chunk after the first token
    assert decode_rate(0.5, 1.5, 3, 41) == pytest.approx(40.0)  # (41 - 1) tokens over 1 s
    assert decode_rate(None, None, 0, 0) is None
