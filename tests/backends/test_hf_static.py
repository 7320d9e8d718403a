"""The static-cache decoder against transformers' `generate`, token for token, on tiny models."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from evalkit.backends.hf_static import StaticDecoder  # noqa: E402
from evalkit.testing.tiny_models import PROMPTS, build_causal  # noqa: E402


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    # a wide initialisation makes attention sharp, so a wrong position or mask changes tokens
    directory = tmp_path_factory.mktemp("static") / "llama"
    return build_causal(directory, sizes={"initializer_range": 0.5})


def load(path, **kwargs):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(path, **kwargs).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    return model, tokenizer


def reference(model, encoded, max_new_tokens, **kwargs):
    with torch.no_grad():
        out = model.generate(
            **encoded, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=0, **kwargs
        )
    return out[:, encoded.input_ids.shape[1] :]


def ids_mask(ids):
    from transformers import BatchEncoding

    return BatchEncoding({"input_ids": ids, "attention_mask": torch.ones_like(ids)})


def decoder(model, eos):
    return StaticDecoder(model, pad_token_id=0, eos_token_ids=eos, device="cpu", sync=lambda: None)


def test_rows_that_end_early_are_frozen_on_padding_like_generate(llama):
    model, tokenizer = load(llama)
    encoded = tokenizer(PROMPTS, return_tensors="pt", padding=True)
    free = reference(model, encoded, 24, eos_token_id=None)
    eos = int(free[0, 3])  # a token row 0 emits at step 4: it (and maybe others) ends there
    expected = reference(model, encoded, 24, eos_token_id=eos)
    decoded = decoder(model, [eos]).decode(encoded.input_ids, encoded.attention_mask, 24)
    width = expected.shape[1]
    assert torch.equal(decoded.tokens[:, :width], expected)
    assert (decoded.tokens[:, width:] == 0).all()  # steps run past generate's stop are padding
    ended = (expected == eos).any(dim=1)
    assert ended[0] and (expected[0, 4:] == 0).all()
    assert decoded.steps <= 24


def test_all_rows_ending_stops_the_loop_early(llama):
    model, tokenizer = load(llama)
    encoded = tokenizer(PROMPTS[:1], return_tensors="pt", padding=True)
    free = reference(model, encoded, 4, eos_token_id=None)
    decoded = decoder(model, [int(free[0, 1])]).decode(
        encoded.input_ids, encoded.attention_mask, 100
    )
    assert decoded.steps < 100 and decoded.tokens.shape[1] == decoded.steps
    assert torch.equal(decoded.tokens[0, :2], free[0, :2])


def test_eager_attention_reads_the_same_additive_mask(llama):
    model, tokenizer = load(llama, attn_implementation="eager")
    encoded = tokenizer(PROMPTS, return_tensors="pt", padding=True)
    expected = reference(model, encoded, 16, eos_token_id=None)
    decoded = decoder(model, []).decode(encoded.input_ids, encoded.attention_mask, 16)
    assert torch.equal(decoded.tokens, expected)


def test_sessions_are_reused_and_bounded(llama):
    from evalkit.backends import hf_static

    model, tokenizer = load(llama)
    static = decoder(model, [])
    for n in range(1, hf_static.MAX_SESSIONS + 3):
        encoded = tokenizer(PROMPTS[:1] * n, return_tensors="pt", padding=True)
        first = static.decode(encoded.input_ids, encoded.attention_mask, 5).tokens
        again = static.decode(encoded.input_ids, encoded.attention_mask, 5).tokens
        assert torch.equal(first, again)  # a reused session starts from a clean cache
    assert len(static._sessions) == hf_static.MAX_SESSIONS


def test_the_capture_path_on_cpu_with_an_eager_stand_in_for_the_graph(llama, monkeypatch):
    """Everything around a CUDA graph, short of capturing one: batches padded to a power of two,
    warm-up steps run on the real state and undone by a second prefill, one capture per shape,
    replays that reuse the session's tensors."""
    from evalkit.backends import hf_static

    class EagerReplay:
        def __init__(self, session):
            self.session = session

        def replay(self):
            self.session.step()

    def capture(session):
        for _ in range(hf_static.WARMUP_STEPS):
            session.step()
        session.graph = EagerReplay(session)

    monkeypatch.setattr(hf_static._Session, "capture", capture)
    model, tokenizer = load(llama)
    static = decoder(model, [])
    static.use_graphs = True
    encoded = tokenizer(PROMPTS[:5], return_tensors="pt", padding=True)  # padded to 8 rows
    expected = reference(model, encoded, 20, eos_token_id=None)
    first = static.decode(encoded.input_ids, encoded.attention_mask, 20)
    again = static.decode(encoded.input_ids, encoded.attention_mask, 20)
    assert torch.equal(first.tokens, expected) and torch.equal(again.tokens, expected)
    assert first.capture_s > 0 and again.capture_s == 0 and static.captures == 1
    assert list(static._sessions) == [(8, 128)]
    # prompts that fill the cache to its last slot: warm-up steps must stay inside it
    for new_tokens in (1, 2, 3):
        ids = encoded.input_ids[:1, -2:].repeat(1, 64)[:, : 128 - new_tokens]
        tail = static.decode(ids, torch.ones_like(ids), new_tokens)
        assert tail.tokens.shape == (1, new_tokens)
        assert torch.equal(
            tail.tokens, reference(model, ids_mask(ids), new_tokens, eos_token_id=None)
        )
    assert static.captures == 2  # one or two new tokens are not worth a capture


def test_out_of_memory_frees_every_kept_session_and_propagates(llama, monkeypatch):
    from evalkit.backends import hf_static

    model, tokenizer = load(llama)
    static = decoder(model, [])
    encoded = tokenizer(PROMPTS[:2], return_tensors="pt", padding=True)
    static.decode(encoded.input_ids, encoded.attention_mask, 4)
    static.decode(encoded.input_ids[:1], encoded.attention_mask[:1], 4)
    assert len(static._sessions) == 2

    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("simulated")

    monkeypatch.setattr(hf_static.StaticDecoder, "_decode", out_of_memory)
    with pytest.raises(torch.OutOfMemoryError):
        static.decode(encoded.input_ids, encoded.attention_mask, 300)
    assert not static._sessions  # the backend halves the batch and retries with the memory back


def test_a_failed_capture_is_reported_and_decoding_goes_on_eagerly(llama, monkeypatch):
    from evalkit.backends import hf_static

    def capture(session):
        session.step()  # a warm-up step ran on the real state before the capture broke
        raise RuntimeError("operation not permitted when stream is capturing\nmore detail")

    monkeypatch.setattr(hf_static._Session, "capture", capture)
    model, tokenizer = load(llama)
    static = decoder(model, [])
    static.use_graphs = True
    encoded = tokenizer(PROMPTS[:3], return_tensors="pt", padding=True)
    expected = reference(model, encoded, 12, eos_token_id=None)
    decoded = static.decode(encoded.input_ids, encoded.attention_mask, 12)
    assert torch.equal(decoded.tokens, expected)
    assert static.graph_error == "operation not permitted when stream is capturing"
    assert static.use_graphs is False and static.captures == 0
    again = static.decode(encoded.input_ids, encoded.attention_mask, 12)
    assert torch.equal(again.tokens, expected)
