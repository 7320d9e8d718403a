"""Backend `hf`: a local Hugging Face transformers model (causal or seq2seq), by hub id or path.

Requests are sorted by prompt length and grouped into batches under a token budget, left-padded
(causal models), generated, and returned in input order: padding is masked, so a greedy output does
not depend on which other prompts share its batch. The tokenizer's chat template is applied when it
has one (or one is configured); stop sequences cut the text after generation.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalkit.errors import UserError
from evalkit.tasks import Task
from evalkit.types import ChatMessage, Generation, GenerationParams, Request
from evalkit.validation import first_error


class HFOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = Field(description="A hub id or a local directory.")
    revision: str | None = None
    dtype: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    trust_remote_code: bool = False
    chat_template: str | None = Field(None, description="Used when the tokenizer has none.")
    batch_tokens: int = Field(16384, ge=1, description="Padded prompt tokens per batch, at most.")
    max_batch_size: int = Field(64, ge=1)


def _torch_dtype(name: str, device: str) -> Any:
    import torch

    if name == "auto":
        return torch.bfloat16 if device == "cuda" else torch.float32
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[name]


def _resolve_device(requested: str) -> str:
    import torch

    if requested == "cuda" and not torch.cuda.is_available():
        raise UserError("model.device=cuda was asked for, but no CUDA device is available")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


class HFBackend:
    concurrent_batches = 1

    def __init__(self, name: str, options: HFOptions) -> None:
        self.name = name
        self.options = options
        self.device = _resolve_device(options.device)
        self.dtype = _torch_dtype(options.dtype, self.device)
        self.model, self.tokenizer, self.is_seq2seq = _load(options, self.device, self.dtype)

    def signature(self) -> str:
        o = self.options
        commit = getattr(self.model.config, "_commit_hash", None) or o.revision or "local"
        return (
            f"hf|path:{o.path}|revision:{commit}|weights:{_weights_digest(o.path)}"
            f"|dtype:{str(self.dtype).removeprefix('torch.')}|device:{self.device}"
            f"|template:{self._template_source()}"
        )

    def _template_source(self) -> str:
        if self.tokenizer.chat_template:
            return "tokenizer"
        return "configured" if self.options.chat_template else "none"

    def prompt_text(self, messages: Sequence[ChatMessage]) -> str:
        template = self.tokenizer.chat_template or self.options.chat_template
        if template:
            return str(
                self.tokenizer.apply_chat_template(
                    [m.model_dump() for m in messages],
                    chat_template=template,
                    add_generation_prompt=True,
                    tokenize=False,
                )
            )
        return "\n\n".join(m.content for m in messages)

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        prompts = [self.prompt_text(r.messages) for r in requests]
        lengths = [len(self.tokenizer(p).input_ids) for p in prompts]
        out: list[Generation | None] = [None] * len(requests)
        for batch in self._batches(lengths, [r.params for r in requests]):
            texts = [prompts[i] for i in batch]
            for i, generation in zip(
                batch, self._generate_batch(texts, requests[batch[0]].params), strict=True
            ):
                out[i] = generation
        return [g for g in out if g is not None]

    def _batches(self, lengths: list[int], params: list[GenerationParams]) -> list[list[int]]:
        """Indices grouped by identical params, sorted by length, cut by the token budget."""
        order = sorted(range(len(lengths)), key=lambda i: (params[i].model_dump_json(), lengths[i]))
        batches: list[list[int]] = []
        for i in order:
            current = batches[-1] if batches else None
            fits = (
                current is not None
                and params[current[0]] == params[i]
                and (
                    len(current) < self.options.max_batch_size
                    and lengths[i] * (len(current) + 1) <= self.options.batch_tokens
                )
            )
            if fits and current is not None:
                current.append(i)
            else:
                batches.append([i])
        return batches

    def _generate_batch(self, prompts: list[str], params: GenerationParams) -> list[Generation]:
        import torch

        encoded = self.tokenizer(prompts, return_tensors="pt", padding=True).to(self.device)
        sampling = params.temperature > 0
        kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_new_tokens,
            "do_sample": sampling,
            "num_return_sequences": params.n,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if sampling:
            kwargs.update(temperature=params.temperature, top_p=params.top_p)
            torch.manual_seed(params.seed)
        start = time.perf_counter()
        with torch.inference_mode():
            output = self.model.generate(**encoded, **kwargs)
        if self.device == "cuda":
            torch.cuda.synchronize()
        latency = time.perf_counter() - start
        new_tokens = output if self.is_seq2seq else output[:, encoded.input_ids.shape[1] :]
        return [
            self._one(
                new_tokens[k * params.n : (k + 1) * params.n],
                params,
                latency,
                int(encoded.attention_mask[k].sum()),
            )
            for k in range(len(prompts))
        ]

    def _one(
        self, sequences: Any, params: GenerationParams, latency: float, prompt_tokens: int
    ) -> Generation:
        texts, finishes, counts = [], [], []
        for sequence in sequences:
            ids = [t for t in sequence.tolist() if t != self.tokenizer.pad_token_id]
            ended = bool(ids) and ids[-1] == self.tokenizer.eos_token_id
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            cut = _cut_at_stop(text, params.stop)
            finishes.append("stop" if ended or cut != text else "length")
            texts.append(cut)
            counts.append(len(ids))
        metadata = {"choices": texts} if len(texts) > 1 else {}
        return Generation(
            text=texts[0],
            finish_reason=finishes[0],
            input_tokens=prompt_tokens,
            output_tokens=counts[0],
            latency_s=latency,
            metadata=metadata,
        )


def _cut_at_stop(text: str, stops: Sequence[str]) -> str:
    cut = min((text.find(s) for s in stops if s and s in text), default=-1)
    return text[:cut] if cut >= 0 else text


def _weights_digest(path: str) -> str:
    """Size+mtime of a local directory's weight files (a cheap change detector), else 'hub'."""
    directory = Path(path)
    if not directory.is_dir():
        return "hub"
    files = sorted(directory.glob("*.safetensors")) + sorted(directory.glob("*.bin"))
    return (
        ",".join(f"{f.name}:{f.stat().st_size}:{int(f.stat().st_mtime)}" for f in files) or "none"
    )


def _load(options: HFOptions, device: str, dtype: Any) -> tuple[Any, Any, bool]:
    from transformers import (
        AutoConfig,
        AutoModelForCausalLM,
        AutoModelForSeq2SeqLM,
        AutoTokenizer,
    )

    local = Path(options.path).expanduser()
    if options.path.startswith((".", "/", "~")) and not local.is_dir():
        raise UserError(f"{local}: model directory not found")
    common = {"revision": options.revision, "trust_remote_code": options.trust_remote_code}
    try:
        config = AutoConfig.from_pretrained(options.path, **common)
        model_class: Any = (
            AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
        )
        model = model_class.from_pretrained(options.path, dtype=dtype, **common).to(device).eval()
        tokenizer = AutoTokenizer.from_pretrained(options.path, **common)
    except OSError as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise UserError(f"model.path={options.path}: cannot load ({first_line})") from None
    if not config.is_encoder_decoder:
        tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer, bool(config.is_encoder_decoder)


_LOADED: dict[tuple[str, str], HFBackend] = {}


def build_hf_backends(name: str, options: dict[str, Any], task: Task | None) -> list[HFBackend]:
    """One loaded model per model config, shared by every task of the run."""
    try:
        parsed = HFOptions.model_validate(options)
    except ValidationError as exc:
        raise UserError(f"model (hf): {first_error(exc)}") from None
    key = (name, parsed.model_dump_json())
    if key not in _LOADED:
        _LOADED[key] = HFBackend(name, parsed)
    return [_LOADED[key]]
