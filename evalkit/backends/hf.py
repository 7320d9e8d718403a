"""Backend `hf`: a local Hugging Face transformers model (causal or seq2seq), by hub id or path.

Requests are sorted by prompt length and grouped into batches under a token budget, left-padded
(causal models), generated, and returned in input order: padding is masked, so a greedy output does
not depend on which other prompts share its batch (`batch_check=N` re-generates N samples alone and
reports how many came out identical). Out of memory halves the batch and retries. Latency is
measured per batch after a warm-up: time to first token (the first decoding step) and total, with
GPU work synchronised before the clock is read.
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Sequence
from typing import Any

from evalkit.backends.hf_context import PromptFit, context_length, fit_prompt, token_plan
from evalkit.backends.hf_loading import HFOptions, load, weights_digest
from evalkit.backends.hf_signature import (
    config_digest,
    generation_digest,
    template_in_use,
    template_label,
    tokenizer_digest,
)
from evalkit.backends.hf_static import StaticDecoder
from evalkit.backends.shared import LiveBackends
from evalkit.protocols import BackendDefaults
from evalkit.tasks.task import Task
from evalkit.types import ChatMessage, Generation, GenerationParams, Request

logger = logging.getLogger(__name__)


class _FirstStepClock:
    """A stopping criterion that never stops: it notes when the first new token exists."""

    def __init__(self, start: float, sync: Any) -> None:
        self.start = start
        self.sync = sync
        self.first_token_s: float | None = None

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        if self.first_token_s is None:
            self.sync()
            self.first_token_s = time.perf_counter() - self.start
        import torch

        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


class HFBackend(BackendDefaults):
    concurrent_batches = 1

    def __init__(self, name: str, options: HFOptions) -> None:
        self.name = name
        self.options = options
        loaded = load(options)
        self.model, self.tokenizer, self.is_seq2seq = (
            loaded.model,
            loaded.tokenizer,
            loaded.is_seq2seq,
        )
        self.device, self.dtype, self.draft = loaded.device, loaded.dtype, loaded.draft
        self.quantized_layers = loaded.quantized_layers
        self.template_source, self.template = template_in_use(self.tokenizer, options.chat_template)
        self.context = context_length(self.model.config, self.tokenizer)
        self.tokenizer.truncation_side = "left"  # an overlong prompt keeps its end (hf_context)
        self._signature = self._describe()
        self._warm = False
        self.static = (
            StaticDecoder(
                self.model,
                pad_token_id=self.tokenizer.pad_token_id,
                eos_token_ids=_eos_token_ids(self.model.generation_config),
                device=self.device,
                sync=self._sync,
            )
            if options.engine == "static"
            else None
        )
        self.stats: dict[str, Any] = {
            "static_batches": 0,
            "capture_s": 0.0,
            "oom_backoffs": 0,
            "batches": 0,
            "output_tokens": 0,
            "generate_s": 0.0,
            "checked": 0,
            "identical": 0,
            "prompts_truncated": 0,
            "prompts_too_long": 0,
        }

    def signature(self) -> str:
        """Everything that changes an output (evalkit.backends.hf_signature), fixed at load."""
        return self._signature

    def _describe(self) -> str:
        o = self.options
        commit = getattr(self.model.config, "_commit_hash", None) or o.revision or "local"
        draft = f"|draft:{o.draft}@{weights_digest(o.draft)}" if o.draft else ""
        # the default engine is left out: signatures (and caches) from before engines stay valid
        engine = f"|engine:{o.engine}" if o.engine != "generate" else ""
        if o.overlong_prompt != "truncate_left":  # the default adds nothing: caches stay valid
            engine += f"|overlong:{o.overlong_prompt}"
        return (
            f"hf|path:{o.path}|revision:{commit}|weights:{weights_digest(o.path)}"
            f"|dtype:{str(self.dtype).removeprefix('torch.')}|device:{self.device}"
            f"|quantization:{o.quantization}{draft}{engine}"
            f"|template:{template_label(self.template_source, self.template)}"
            f"|tokenizer:{tokenizer_digest(o.path, self.tokenizer)}"
            f"|config:{config_digest(o.path)}|generation:{generation_digest(self.model)}"
        )

    def prompt_text(self, messages: Sequence[ChatMessage]) -> str:
        if self.template is not None:
            return str(
                self.tokenizer.apply_chat_template(
                    [m.model_dump() for m in messages],
                    chat_template=self.template,
                    add_generation_prompt=True,
                    tokenize=False,
                )
            )
        return "\n\n".join(m.content for m in messages)

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        """Generations in request order; a prompt past the context is cut or fails alone."""
        prompts = [self.prompt_text(r.messages) for r in requests]
        fits = self._fit(prompts, requests)
        out = [Generation(error=f.error) if f.error else None for f in fits]
        todo = [i for i, f in enumerate(fits) if f.error is None]
        if todo and not self._warm:
            self._generate_batch([prompts[todo[0]]], GenerationParams(max_new_tokens=2))
            self._warm = True
        lengths = [fits[i].limit or fits[i].tokens for i in todo]
        for batch in self.batches(lengths, [requests[i].params for i in todo]):
            indices = [todo[k] for k in batch]
            texts = [prompts[i] for i in indices]
            results = self._with_oom_backoff(texts, requests[indices[0]].params)
            for i, generation in zip(indices, results, strict=True):
                flag = fits[i].metadata()
                out[i] = generation.model_copy(update={"metadata": {**generation.metadata, **flag}})
        done = [g for g in out if g is not None]
        self._check_batch_sensitivity(
            [prompts[i] for i in todo], [requests[i] for i in todo], [done[i] for i in todo]
        )
        return done

    def _fit(self, prompts: list[str], requests: Sequence[Request]) -> list[PromptFit]:
        """Each prompt's length against the context (hf_context), counted and logged."""
        fits = []
        for prompt, request in zip(prompts, requests, strict=True):
            budget, _ = token_plan(self.context, request.params.max_new_tokens, self.is_seq2seq)
            tokens = len(self.tokenizer(prompt).input_ids)
            fits.append(fit_prompt(tokens, budget, self.context, self.options.overlong_prompt))
        cut = sum(f.truncated for f in fits)
        failed = sum(f.error is not None for f in fits)
        self.stats["prompts_truncated"] += cut
        self.stats["prompts_too_long"] += failed
        if cut or failed:
            logger.warning(
                "%s: %d prompt(s) longer than the model's context of %s tokens allows: %d cut "
                "from the left, %d failed (model.overlong_prompt=%s)",
                self.name, cut + failed, self.context, cut, failed, self.options.overlong_prompt,
            )  # fmt: skip
        return fits

    def batches(self, lengths: list[int], params: list[GenerationParams]) -> list[list[int]]:
        """Indices grouped by identical params, sorted by length, cut by the token budget.
        Assisted decoding (a draft model) takes one prompt at a time."""
        limit = 1 if self.draft is not None else self.options.max_batch_size
        order = sorted(range(len(lengths)), key=lambda i: (params[i].model_dump_json(), lengths[i]))
        batches: list[list[int]] = []
        for i in order:
            current = batches[-1] if batches else None
            if (
                current is not None
                and params[current[0]] == params[i]
                and len(current) < limit
                and lengths[i] * (len(current) + 1) <= self.options.batch_tokens
            ):
                current.append(i)
            else:
                batches.append([i])
        return batches

    def _with_oom_backoff(self, prompts: list[str], params: GenerationParams) -> list[Generation]:
        import torch

        try:
            return self._generate_batch(prompts, params)
        except torch.OutOfMemoryError:
            if len(prompts) == 1:
                return [Generation(error="out of memory for a single prompt")]
            if self.device == "cuda":
                torch.cuda.empty_cache()
            self.stats["oom_backoffs"] += 1
            half = len(prompts) // 2
            return self._with_oom_backoff(prompts[:half], params) + self._with_oom_backoff(
                prompts[half:], params
            )

    def _note_cap(self, asked: int, cap: int) -> None:
        if self._warm and self.stats.get("max_new_tokens_cap") != cap:
            logger.warning(
                "%s: max_new_tokens %d capped at %d, half the model's context of %s tokens",
                self.name, asked, cap, self.context,
            )  # fmt: skip
            self.stats["max_new_tokens_cap"] = cap

    def _sync(self) -> None:
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()

    def _generate_batch(self, prompts: list[str], params: GenerationParams) -> list[Generation]:
        import torch
        from transformers import StoppingCriteriaList

        budget, new_tokens = token_plan(self.context, params.max_new_tokens, self.is_seq2seq)
        if new_tokens < params.max_new_tokens:
            self._note_cap(params.max_new_tokens, new_tokens)
            params = params.model_copy(update={"max_new_tokens": new_tokens})
        cut = {"truncation": True, "max_length": budget} if budget else {}
        encoded = self.tokenizer(prompts, return_tensors="pt", padding=True, **cut)
        encoded = encoded.to(self.device)
        sampling = params.temperature > 0
        if self.static is not None and not sampling and params.n == 1:
            return self._static_batch(self.static, encoded, params)
        kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_new_tokens,
            "do_sample": sampling,
            "num_return_sequences": params.n,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if sampling:
            kwargs.update(temperature=params.temperature, top_p=params.top_p)
            torch.manual_seed(params.seed)
        if self.draft is not None:
            kwargs["assistant_model"] = self.draft
        self._sync()
        start = time.perf_counter()
        clock = _FirstStepClock(start, self._sync)
        with torch.inference_mode():
            output = self.model.generate(
                **encoded, **kwargs, stopping_criteria=StoppingCriteriaList([clock])
            )
        self._sync()
        latency = time.perf_counter() - start
        new_tokens = output if self.is_seq2seq else output[:, encoded.input_ids.shape[1] :]
        results = [
            self._decode(
                new_tokens[k * params.n : (k + 1) * params.n],
                params,
                int(encoded.attention_mask[k].sum()),
            )
            for k in range(len(prompts))
        ]
        if self._warm:
            self.stats["batches"] += 1
            self.stats["generate_s"] += latency
            self.stats["output_tokens"] += sum(g.output_tokens or 0 for g in results)
        timing = {"latency_s": latency, "time_to_first_token_s": clock.first_token_s}
        return [g.model_copy(update=timing) for g in results]

    def _static_batch(
        self, static: StaticDecoder, encoded: Any, params: GenerationParams
    ) -> list[Generation]:
        decoded = static.decode(encoded.input_ids, encoded.attention_mask, params.max_new_tokens)
        results = [
            self._decode(decoded.tokens[k : k + 1], params, int(encoded.attention_mask[k].sum()))
            for k in range(decoded.tokens.shape[0])
        ]
        self.stats["capture_s"] += decoded.capture_s
        if self._warm:
            self.stats["static_batches"] += 1
            self.stats["batches"] += 1
            self.stats["generate_s"] += decoded.latency_s
            self.stats["output_tokens"] += sum(g.output_tokens or 0 for g in results)
        timing = {"latency_s": decoded.latency_s, "time_to_first_token_s": decoded.first_token_s}
        return [g.model_copy(update=timing) for g in results]

    def _decode(self, sequences: Any, params: GenerationParams, prompt_tokens: int) -> Generation:
        texts, finishes, counts = [], [], []
        special = {self.tokenizer.pad_token_id, self.tokenizer.eos_token_id}
        for sequence in sequences:
            ids = sequence.tolist()
            ended = self.tokenizer.eos_token_id in ids
            kept = [t for t in ids if t not in special]
            text = self.tokenizer.decode(kept, skip_special_tokens=True)
            cut = _cut_at_stop(text, params.stop)
            finishes.append("stop" if ended or cut != text else "length")
            texts.append(cut)
            counts.append(len(kept) + int(ended))
        metadata = {"choices": texts} if len(texts) > 1 else {}
        return Generation(
            text=texts[0],
            finish_reason=finishes[0],
            input_tokens=prompt_tokens,
            output_tokens=counts[0],
            metadata=metadata,
        )

    def _check_batch_sensitivity(
        self, prompts: list[str], requests: list[Request], batched: list[Generation]
    ) -> None:
        """Re-generate up to `batch_check` greedy samples alone; count identical texts."""
        for prompt, request, generation in zip(prompts, requests, batched, strict=True):
            if self.stats["checked"] >= self.options.batch_check:
                return
            if request.params.temperature > 0:
                continue
            [alone] = self._generate_batch([prompt], request.params)
            self.stats["checked"] += 1
            self.stats["identical"] += alone.text == generation.text

    def close(self) -> None:
        """Hand the model back at the end of a run and free its memory."""
        _LIVE.release(self)
        self.model = self.draft = self.static = None
        import gc

        import torch

        gc.collect()
        if self.device == "cuda":
            torch.cuda.empty_cache()

    def report(self) -> dict[str, Any]:
        """Run-level measurements for run.json (warm-up excluded)."""
        import torch

        s = self.stats
        report: dict[str, Any] = {
            "batches": s["batches"],
            "oom_backoffs": s["oom_backoffs"],
            "output_tokens": s["output_tokens"],
            "generate_s": round(s["generate_s"], 4),
            "tokens_per_s": s["output_tokens"] / s["generate_s"] if s["generate_s"] else None,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "context_tokens": self.context,
            "prompts_truncated": s["prompts_truncated"],
            "prompts_too_long": s["prompts_too_long"],
        }
        if "max_new_tokens_cap" in s:
            report["max_new_tokens_cap"] = s["max_new_tokens_cap"]
        if self.options.quantization != "none":
            report["quantized_layers"] = self.quantized_layers
        if self.device == "cuda":
            report["peak_gpu_allocated_mb"] = torch.cuda.max_memory_allocated() / 2**20
        if self.static is not None:
            report["engine"] = {
                "static_batches": s["static_batches"],
                "cuda_graphs": self.static.use_graphs,
                "graph_captures": self.static.captures,
                "capture_s": round(s["capture_s"], 4),
            }
            if self.static.graph_error:
                report["engine"]["graph_error"] = self.static.graph_error
        if self.options.batch_check:
            report["batch_sensitivity"] = {"checked": s["checked"], "identical": s["identical"]}
        return report


def _eos_token_ids(generation_config: Any) -> list[int]:
    eos = generation_config.eos_token_id
    if eos is None:
        return []
    return [int(t) for t in eos] if isinstance(eos, list | tuple) else [int(eos)]


def _cut_at_stop(text: str, stops: Sequence[str]) -> str:
    cut = min((text.find(s) for s in stops if s and s in text), default=-1)
    return text[:cut] if cut >= 0 else text


_LIVE: LiveBackends[HFOptions, HFBackend] = LiveBackends("hf", HFOptions, HFBackend)


def build_hf_backends(name: str, options: dict[str, Any], task: Task | None) -> list[HFBackend]:
    """One loaded model per model config, shared by every task of the run."""
    return [_LIVE.get(name, options)]
