"""What goes into the `hf` backend's signature: everything that can change an output.

The signature (run.json's provenance, and half of every cache key) names the weights (size and
mtime of the weight files), the model config, the tokenizer files, the effective generation config
and the text of the chat template actually used, each as a short SHA-256 (12 hex digits), e.g.

    hf|path:/m|revision:local|weights:model.safetensors:153304:1700000000|dtype:float32
    |device:cpu|quantization:none|template:tokenizer:3f1c0a9e2b7d|tokenizer:9a0b...|config:...
    |generation:...

so an edited `chat_template.jinja`, a `model.chat_template` override, a retrained tokenizer or a
new `generation_config.json` gives fresh generations instead of another model's cached ones.
Digests are taken once, when the model is loaded: they describe what was loaded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.bpe.model",
    "sentencepiece.model",
)
"""Files a tokenizer is read from; the tokenizer class's own `vocab_files_names` are added."""

CONFIG_FILES = ("config.json",)
"""The model's architecture config; remote code (`*.py`) is added when present."""

DIGEST_LENGTH = 12


def short_hash(data: bytes) -> str:
    """The first 12 hex digits of the SHA-256 of `data`."""
    return hashlib.sha256(data).hexdigest()[:DIGEST_LENGTH]


def files_digest(path: str, names: Iterable[str]) -> str:
    """Short hash over (name, content) of those `names` that exist in the directory `path`;
    'none' when none exists, 'hub' when `path` is not a local directory (a hub id, whose files
    the resolved commit in `revision:` names)."""
    directory = Path(path).expanduser()
    if not directory.is_dir():
        return "hub"
    digest = hashlib.sha256()
    found = False
    for name in sorted(set(names)):
        file = directory / name
        if file.is_file():
            found = True
            digest.update(name.encode("utf-8") + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:DIGEST_LENGTH] if found else "none"


def tokenizer_digest(path: str, tokenizer: Any) -> str:
    """Hash of the tokenizer files in `path` (vocabulary, merges, sentencepiece model, config,
    special tokens)."""
    own = getattr(tokenizer, "vocab_files_names", None) or {}
    return files_digest(path, [*TOKENIZER_FILES, *(str(v) for v in own.values())])


def config_digest(path: str) -> str:
    """Hash of config.json and of any remote code (`*.py`) next to it."""
    directory = Path(path).expanduser()
    code = [f.name for f in directory.glob("*.py")] if directory.is_dir() else []
    return files_digest(path, [*CONFIG_FILES, *code])


def generation_digest(model: Any) -> str:
    """Hash of the model's effective generation config (its fields that differ from
    transformers' defaults: sampling defaults, penalties, eos ids, ...), as `generate` uses it."""
    config = getattr(model, "generation_config", None)
    if config is None:
        return "none"
    fields = dict(config.to_diff_dict())
    fields.pop("transformers_version", None)
    blob = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return short_hash(blob.encode("utf-8"))


def template_in_use(tokenizer: Any, configured: str | None) -> tuple[str, str | None]:
    """(source, text) of the chat template prompts are rendered with: the tokenizer's own
    (from tokenizer_config.json or chat_template.jinja; its 'default' when it has several),
    else the configured `model.chat_template`, else none (messages joined by blank lines)."""
    if tokenizer.chat_template:
        return "tokenizer", str(tokenizer.get_chat_template())
    if configured:
        return "configured", configured
    return "none", None


def template_label(source: str, text: str | None) -> str:
    """`tokenizer:<hash>`, `configured:<hash>` or `none`."""
    return source if text is None else f"{source}:{short_hash(text.encode('utf-8'))}"
