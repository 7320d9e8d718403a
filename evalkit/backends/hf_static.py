"""Greedy decoding over a preallocated KV cache: `model.engine=static` of the `hf` backend.

`model.generate` spends most of a small-batch decode step in Python: logits processors, stopping
criteria, cache bookkeeping and one kernel launch per operation. Here every decode step runs the
same operations on the same tensors: a transformers `StaticCache` holds keys and values for
`cache_len` positions, the attention mask is an explicit 4D additive mask whose next column is
opened in place, and the step picks the argmax, freezes finished rows on the pad token and writes
the token into an output buffer. Because nothing in the step depends on host values, on CUDA the
whole step is captured once in a CUDA graph and replayed: one launch per step instead of hundreds.
On CPU the same step runs eagerly (that is how the tests check it against `generate`).

Outputs are plain greedy decoding: a model whose generation config asks for logits processors
(repetition penalty, suppressed tokens...) is refused rather than decoded differently. Batches are
padded up to a power of two and cache lengths to a multiple of `CACHE_BLOCK`, so a run captures a
handful of graphs, kept per (batch, cache length).
"""

from __future__ import annotations

import inspect
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evalkit.errors import UserError

CACHE_BLOCK = 128
"""Cache lengths are rounded up to a multiple of this: prompts of similar length share a graph."""

MAX_SESSIONS = 4
"""Captured graphs (each with its KV cache) kept at once; the least recently used is dropped."""

WARMUP_STEPS = 2
"""Eager steps run before a capture (on the real state, so within the batch's cache)."""

EOS_CHECK_EVERY = 8
"""Decode steps between the host checks whether every row has finished (each check syncs)."""

_PROCESSOR_FIELDS = {
    "repetition_penalty": 1.0,
    "encoder_repetition_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "bad_words_ids": None,
    "suppress_tokens": None,
    "begin_suppress_tokens": None,
    "forced_bos_token_id": None,
    "forced_eos_token_id": None,
    "sequence_bias": None,
    "min_new_tokens": None,
    "renormalize_logits": False,
}


def check_supported(model: Any) -> None:
    """Refuse what this loop would decode differently from `generate`, with the reason."""
    import transformers

    if "cache_position" in inspect.signature(model.forward).parameters:
        raise UserError(
            f"model.engine=static needs transformers >= 5.4 (this is {transformers.__version__})"
        )
    config = model.config
    if config.is_encoder_decoder:
        raise UserError("model.engine=static supports causal models only (use engine=generate)")
    if getattr(config, "sliding_window", None) or "sliding_attention" in (
        getattr(config, "layer_types", None) or []
    ):
        raise UserError("model.engine=static does not support sliding-window attention")
    generation = model.generation_config
    for field, default in _PROCESSOR_FIELDS.items():
        value = getattr(generation, field, default)
        if value not in (default, None, [], 1.0, 0, False):
            raise UserError(
                f"model.engine=static decodes plain greedy, but the model's generation config "
                f"sets {field}={value!r}: use model.engine=generate"
            )
    if (getattr(generation, "min_length", 0) or 0) > 0:
        raise UserError(
            "model.engine=static decodes plain greedy, but the model's generation config sets "
            "min_length: use model.engine=generate"
        )


@dataclass
class Decoded:
    tokens: Any
    """(batch, new tokens) on the host; rows that finished early are padded with the pad token."""
    first_token_s: float
    """Seconds from the prefill's start until the first new token of every row existed."""
    latency_s: float
    """Seconds from the prefill's start until the tokens were on the host."""
    steps: int
    """Decoding steps run (the prefill counts as the first)."""
    capture_s: float
    """Seconds spent capturing a CUDA graph before this batch (0 when one was reused)."""


class _Session:
    """The tensors one (batch, cache length) shape decodes with, and its captured step."""

    def __init__(
        self,
        model: Any,
        batch: int,
        cache_len: int,
        *,
        device: str,
        dtype: Any,
        pad_token_id: int,
        eos_token_ids: list[int],
    ) -> None:
        import torch
        from transformers import StaticCache

        self.model = model
        self.batch, self.cache_len = batch, cache_len
        self.cache: Any = StaticCache(config=model.config, max_cache_len=cache_len)

        def longs(*shape: int) -> Any:
            return torch.zeros(shape, dtype=torch.long, device=device)

        self.token, self.position = longs(batch, 1), longs(batch, 1)
        self.column, self.step_index = longs(1), longs(1)
        self.output = longs(batch, cache_len)
        self.finished = torch.zeros((batch,), dtype=torch.bool, device=device)
        self.mask = torch.zeros((batch, 1, 1, cache_len), dtype=dtype, device=device)
        self.eos = torch.tensor(eos_token_ids, dtype=torch.long, device=device)
        self.pad = torch.tensor(pad_token_id, dtype=torch.long, device=device)
        self.masked_value = torch.finfo(dtype).min
        self.graph: Any = None
        # transformers 5.24 renamed `past_key_values` to `cache` (the old name warns until 5.40)
        parameters = inspect.signature(model.forward).parameters
        self.cache_argument = "cache" if "cache" in parameters else "past_key_values"

    def step(self) -> None:
        """One decode step on the session's tensors only (so it can be captured and replayed)."""
        import torch

        self.mask.index_fill_(3, self.column, 0.0)
        logits = self.model(
            input_ids=self.token,
            attention_mask=self.mask,
            position_ids=self.position,
            use_cache=True,
            **{self.cache_argument: self.cache},
        ).logits
        chosen = torch.where(self.finished, self.pad, logits[:, -1].argmax(-1))
        self.finished |= torch.isin(chosen, self.eos)
        self.output.index_copy_(1, self.step_index, chosen[:, None])
        self.token.copy_(chosen[:, None])
        self.position.add_(1)
        self.column.add_(1)
        self.step_index.add_(1)

    def capture(self) -> None:
        """Warm up on a side stream, then record one step in a CUDA graph."""
        import torch

        cuda: Any = torch.cuda
        stream = cuda.Stream()
        stream.wait_stream(cuda.current_stream())
        with cuda.stream(stream):
            for _ in range(WARMUP_STEPS):
                self.step()
        cuda.current_stream().wait_stream(stream)
        graph = cuda.CUDAGraph()
        with cuda.graph(graph):
            self.step()
        self.graph = graph

    def run_step(self) -> None:
        if self.graph is not None:
            self.graph.replay()
        else:
            self.step()


class StaticDecoder:
    """Greedy decoding with a static KV cache; each decode step a CUDA graph replay on CUDA."""

    def __init__(
        self,
        model: Any,
        *,
        pad_token_id: int,
        eos_token_ids: list[int],
        device: str,
        sync: Callable[[], None],
    ) -> None:
        check_supported(model)
        self.model = model
        self.pad_token_id = pad_token_id
        self.eos_token_ids = eos_token_ids
        self.device = device
        self.sync = sync
        self.use_graphs = device == "cuda"
        self.dtype = next(model.parameters()).dtype
        if not self.dtype.is_floating_point:  # quantized weights: masks follow the activations
            import torch

            self.dtype = torch.float32
        self._sessions: OrderedDict[tuple[int, int], _Session] = OrderedDict()
        self.captures = 0
        self.graph_error: str | None = None
        """Why capturing failed, if it did: decoding then goes on eagerly, with the same tokens."""

    def _session(self, batch: int, cache_len: int) -> _Session:
        key = (batch, cache_len)
        session = self._sessions.pop(key, None)
        if session is None:
            while len(self._sessions) >= MAX_SESSIONS:
                self._sessions.popitem(last=False)
            session = _Session(
                self.model,
                batch,
                cache_len,
                device=self.device,
                dtype=self.dtype,
                pad_token_id=self.pad_token_id,
                eos_token_ids=self.eos_token_ids,
            )
        self._sessions[key] = session
        return session

    def decode(self, input_ids: Any, attention_mask: Any, max_new_tokens: int) -> Decoded:
        """Greedy tokens for a left-padded batch, exactly as `generate(do_sample=False)` picks them.

        The first call for a new (batch, cache length) on CUDA captures its graph; that warm-up is
        timed apart (`capture_s`) and not counted in the latencies."""
        import torch

        rows, prompt_len = input_ids.shape
        batch = _next_power_of_two(rows) if self.use_graphs else rows
        needed = prompt_len + max_new_tokens
        if batch > rows:  # padding rows repeat the first prompt; their outputs are dropped
            filler = batch - rows
            input_ids = torch.cat([input_ids, input_ids[:1].expand(filler, -1)])
            attention_mask = torch.cat([attention_mask, attention_mask[:1].expand(filler, -1)])
        key = (batch, -(-needed // CACHE_BLOCK) * CACHE_BLOCK)
        try:
            session = self._session(*key)
            return self._decode(session, input_ids, attention_mask, max_new_tokens, rows)
        except torch.OutOfMemoryError:
            # every kept cache and graph pool goes, so the caller's smaller retry has the memory
            self._sessions.clear()
            raise

    def _decode(
        self, session: _Session, input_ids: Any, attention_mask: Any, max_new_tokens: int, rows: int
    ) -> Decoded:
        import torch

        with torch.no_grad():
            capture_s = 0.0
            if self.use_graphs and session.graph is None and max_new_tokens > WARMUP_STEPS:
                self.sync()
                capture_start = time.perf_counter()
                self._prefill(session, input_ids, attention_mask)  # the warm-up needs real state
                self._capture(session)
                self.sync()
                capture_s = time.perf_counter() - capture_start
            self.sync()
            start = time.perf_counter()
            self._prefill(session, input_ids, attention_mask)
            self.sync()
            first_token_s = time.perf_counter() - start
            steps = 1
            while steps < max_new_tokens:
                session.run_step()
                steps += 1
                if steps % EOS_CHECK_EVERY == 0 and bool(session.finished.all()):
                    break
            tokens = session.output[:rows, :steps].cpu()
        latency_s = time.perf_counter() - start
        return Decoded(tokens, first_token_s, latency_s, steps, capture_s)

    def _capture(self, session: _Session) -> None:
        """A model whose forward cannot be captured (a host sync in custom code, say) still
        decodes: the failure is kept for the run's report and every later step runs eagerly."""
        import torch

        try:
            session.capture()
            self.captures += 1
        except torch.OutOfMemoryError:
            raise
        except RuntimeError as exc:
            self.graph_error = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            self.use_graphs = False
            session.graph = None

    def _prefill(self, session: _Session, input_ids: Any, attention_mask: Any) -> None:
        """Reset the session, run the prompt through the model, leave the first token in place."""
        import torch

        prompt_len = input_ids.shape[1]
        session.cache.reset()
        visible = attention_mask.bool()
        positions = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        causal = torch.ones(prompt_len, prompt_len, dtype=torch.bool, device=self.device).tril()
        allowed = causal[None, None] & visible[:, None, None, :]
        prefill_mask = torch.full(
            (session.batch, 1, prompt_len, session.cache_len),
            session.masked_value,
            dtype=self.dtype,
            device=self.device,
        )
        prefill_mask[..., :prompt_len].masked_fill_(allowed, 0.0)
        logits = self.model(
            input_ids=input_ids,
            attention_mask=prefill_mask,
            position_ids=positions,
            use_cache=True,
            **{session.cache_argument: session.cache},
            logits_to_keep=1,
        ).logits
        first = logits[:, -1].argmax(-1)
        session.finished.copy_(torch.isin(first, session.eos))
        session.output.zero_()
        session.output[:, 0] = first
        session.token.copy_(first[:, None])
        session.position.copy_(positions[:, -1:] + 1)
        session.column.fill_(prompt_len)
        session.step_index.fill_(1)
        session.mask.fill_(session.masked_value)
        session.mask[:, 0, 0, :prompt_len].masked_fill_(visible, 0.0)


def _next_power_of_two(n: int) -> int:
    return 1 << (n - 1).bit_length()
