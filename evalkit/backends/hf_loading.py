"""Loading a local Hugging Face model for the `hf` backend: device, dtype, quantization, draft.

Every choice that changes outputs (dtype, quantization, draft model) is named in the backend
signature, so cached generations of a quantized run never answer for the full-precision one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evalkit.backends.hf_context import OverlongPrompt
from evalkit.errors import UserError

Quantization = Literal["none", "int8", "int4"]
Engine = Literal["generate", "static"]


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
    quantization: Quantization = "none"
    draft: str | None = Field(None, description="A small draft model for assisted decoding.")
    engine: Engine = Field(
        "generate",
        description="generate: transformers' generate; static: greedy decoding over a static KV "
        "cache, each step a CUDA graph replay on GPU (sampled requests still use generate).",
    )
    batch_check: int = Field(0, ge=0, description="Re-generate N samples one by one and compare.")
    overlong_prompt: OverlongPrompt = Field(
        "truncate_left",
        description="A prompt longer than the context leaves: keep its last tokens (flagged per "
        "sample) or fail that sample (hf_context.py).",
    )


@dataclass
class Loaded:
    model: Any
    tokenizer: Any
    is_seq2seq: bool
    device: str
    dtype: Any
    draft: Any = None
    quantized_layers: int = 0


def torch_dtype(name: str, device: str) -> Any:
    import torch

    if name == "auto":
        return torch.bfloat16 if device == "cuda" else torch.float32
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[name]


def resolve_device(requested: str) -> str:
    import torch

    if requested == "cuda" and not torch.cuda.is_available():
        raise UserError("model.device=cuda was asked for, but no CUDA device is available")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def _from_pretrained(
    path: str, options: HFOptions, dtype: Any, device: str
) -> tuple[Any, Any, bool]:
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    local = Path(path).expanduser()
    if path.startswith((".", "/", "~")) and not local.is_dir():
        raise UserError(f"{local}: model directory not found")
    common = {"revision": options.revision, "trust_remote_code": options.trust_remote_code}
    try:
        config = AutoConfig.from_pretrained(path, **common)
        model_class: Any = (
            AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
        )
        model = model_class.from_pretrained(path, dtype=dtype, **common).to(device).eval()
        tokenizer = AutoTokenizer.from_pretrained(path, **common)
    except (OSError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"model path {path}: cannot load ({first_line})") from None
    return model, tokenizer, bool(config.is_encoder_decoder)


def quantize(model: Any, method: Quantization, device: str) -> tuple[Any, int]:
    """int8: dynamic int8 Linear layers on CPU (torch.ao), int8 weight-only on GPU (torchao);
    int4: int4 weight-only on GPU (torchao's tinygemm layout). Returns the model and how many
    Linear layers were quantized; none at all is refused, never passed off as a quantized run."""
    if method == "none":
        return model, 0
    if device == "cpu":
        if method == "int4":
            raise UserError("model.quantization=int4 needs a CUDA GPU (torchao int4 weight-only)")
        import warnings

        import torch
        from torch.ao.quantization import quantize_dynamic

        # torch.ao's eager dynamic quantization is deprecated in favour of torchao; it still works
        # in the supported torch and needs no extra package, so its warnings are silenced here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (DeprecationWarning, UserWarning))
            model = quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)  # type: ignore[no-untyped-call]
        from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

        count = sum(isinstance(m, DynamicLinear) for m in model.modules())
    else:
        if method == "int4" and str(model.dtype) != "torch.bfloat16":
            raise UserError("model.quantization=int4 (torchao tinygemm) needs model.dtype=bf16")
        count = torchao_weight_only(model, method)
    if count == 0:
        raise UserError(
            f"model.quantization={method}: no Linear layer of this model could be quantized"
            + (" (int4 needs input sizes divisible by 128)" if method == "int4" else "")
        )
    return model, count


def torchao_weight_only(model: Any, method: Quantization) -> int:
    """Quantize Linear weights in place with torchao; returns how many were replaced. int4 uses
    the tile-packed layout (tinygemm kernels in PyTorch itself): torchao's default int4 layout
    needs the separate `mslk` kernels package. Layers whose input size is not a multiple of the
    group size (128) are left in full precision by torchao."""
    try:
        from torchao.quantization import Int4WeightOnlyConfig, Int8WeightOnlyConfig, quantize_
    except ImportError:
        raise UserError(
            f"model.quantization={method} on GPU needs torchao (pip install 'evalkit[gpu]')"
        ) from None
    import torch

    config = (
        Int8WeightOnlyConfig()
        if method == "int8"
        else Int4WeightOnlyConfig(group_size=128, int4_packing_format="tile_packed_to_4d")
    )
    quantize_(model, config)
    plain = (torch.Tensor, torch.nn.Parameter)
    return sum(
        isinstance(m, torch.nn.Linear) and type(m.weight) not in plain for m in model.modules()
    )


def load(options: HFOptions) -> Loaded:
    device = resolve_device(options.device)
    dtype = torch_dtype(options.dtype, device)
    model, tokenizer, is_seq2seq = _from_pretrained(options.path, options, dtype, device)
    model, quantized_layers = quantize(model, options.quantization, device)
    if not is_seq2seq:
        tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    draft = None
    if options.draft:
        if options.engine == "static":
            raise UserError(
                "model.draft and model.engine=static are two different decoders: choose one"
            )
        if is_seq2seq:
            raise UserError("model.draft: assisted decoding is supported for causal models only")
        draft, _, _ = _from_pretrained(options.draft, options, dtype, device)
    return Loaded(model, tokenizer, is_seq2seq, device, dtype, draft, quantized_layers)


def weights_digest(path: str) -> str:
    """Size+mtime of a local directory's weight files (a cheap change detector), else 'hub'."""
    directory = Path(path)
    if not directory.is_dir():
        return "hub"
    files = sorted(directory.glob("*.safetensors")) + sorted(directory.glob("*.bin"))
    return (
        ",".join(f"{f.name}:{f.stat().st_size}:{int(f.stat().st_mtime)}" for f in files) or "none"
    )
