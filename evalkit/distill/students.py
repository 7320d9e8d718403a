"""The two students: a head over a frozen sentence encoder, and a fine-tuned cross-encoder.

Both see the same examples and produce predictions on each dimension's label scale (pairwise:
P(A is better)); both save to and load from a judge directory with safetensors weights.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from evalkit.distill.config import Student as StudentConfig
from evalkit.distill.examples import Example
from evalkit.distill.features import LEXICAL, SCALARS, FeatureExtractor
from evalkit.distill.head import (
    HeadNet,
    Scale,
    masked_mse,
    pairwise_loss,
    pointwise_loss,
    set_weights,
    standardize_into,
)
from evalkit.distill.metricfeatures import METRICS
from evalkit.errors import UserError

HEAD_FILE = "head.safetensors"
METRIC_SETS = frozenset({"metrics", "metrics_encoder"})  # feature sets with the METRICS columns
ENCODER_FREE = frozenset({"lexical", "metrics"})  # feature sets that never load the encoder
ENCODER_DIR = "encoder"
DEFAULTS = {  # (epochs, learning rate, batch size) per student kind
    "encoder_head": (100, 1e-3, 64),
    "cross_encoder": (3, 3e-5, 16),
}


class Student(Protocol):
    def fit(self, examples: Sequence[Example], y: np.ndarray, m: np.ndarray) -> None: ...

    def predict(self, examples: Sequence[Example]) -> np.ndarray: ...

    def save(self, directory: Path) -> None: ...


def label_matrix(examples: Sequence[Example], dims: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(labels, mask): labels[i, j] is example i's label on dims[j]; mask says which exist."""
    y = np.zeros((len(examples), len(dims)), dtype=np.float32)
    m = np.zeros_like(y)
    for i, example in enumerate(examples):
        for j, dim in enumerate(dims):
            if dim in example.labels:
                y[i, j], m[i, j] = example.labels[dim], 1.0
    return y, m


def hyperparameters(config: StudentConfig) -> tuple[int, float, int]:
    epochs, rate, batch = DEFAULTS[config.kind]
    return (config.epochs or epochs, config.learning_rate or rate, config.batch_size or batch)


def _batches(n: int, size: int, generator: torch.Generator) -> list[torch.Tensor]:
    order = torch.randperm(n, generator=generator)
    return [order[i : i + size] for i in range(0, n, size)]


class EncoderHeadStudent:
    """An ensemble of small heads over frozen-encoder features (features.py); trains in seconds
    on CPU. `balance_sets` gives every data file's rows the same total weight (head.set_weights).
    `feature_set: scalars` (the default) reads only the similarity, support, overlap and
    surface scalars; `all` adds the embedding vectors (held out on SummEval the head overfits them:
    summary-level Spearman 0.31 instead of 0.43); `lexical` drops the two encoder similarities and
    never loads the encoder."""

    def __init__(
        self,
        config: StudentConfig,
        scales: list[Scale],
        pairwise: bool,
        extractor: FeatureExtractor,
        seed: int,
        feature_cache: dict[tuple[str, bool], np.ndarray] | None = None,
    ) -> None:
        self.config, self.scales, self.pairwise, self.seed = config, scales, pairwise, seed
        self.extractor = extractor
        self.nets: list[HeadNet] = []
        # (example id, response B?) -> feature row; the folds of a validation share one
        self._rows = {} if feature_cache is None else feature_cache

    def features(self, examples: Sequence[Example], second: bool = False) -> np.ndarray:
        """Feature rows (of response B when `second`), computed once per example."""
        todo = [e for e in examples if (e.id, second) not in self._rows]
        if todo:
            rows = self.extractor.features(
                [e.source for e in todo],
                [(e.response_b or "") if second else e.response for e in todo],
                [e.references for e in todo],
            )
            self._rows.update({(e.id, second): row for e, row in zip(todo, rows, strict=True)})
        return np.stack([self._rows[(e.id, second)] for e in examples])

    def _select(self, x: np.ndarray) -> np.ndarray:
        feature_set = self.config.feature_set
        if feature_set == "all":
            return x
        extra = len(METRICS) if feature_set in METRIC_SETS else 0
        base, metrics = x[:, : x.shape[1] - extra], x[:, x.shape[1] - extra :]
        scalars = base[:, -len(SCALARS) :]
        if feature_set == "metrics":
            return np.concatenate([scalars[:, LEXICAL], metrics], axis=1)
        if feature_set == "metrics_encoder":
            return np.concatenate([scalars, metrics], axis=1)
        return scalars if feature_set == "scalars" else scalars[:, LEXICAL]

    def _new_net(self, n_features: int) -> HeadNet:
        return HeadNet(
            n_features,
            self.scales,
            self.config.hidden,
            self.config.dropout,
            self.config.head == "ordinal",
        )

    def fit(self, examples: Sequence[Example], y: np.ndarray, m: np.ndarray) -> None:
        xa = self._select(self.features(examples))
        xb = self._select(self.features(examples, second=True)) if self.pairwise else None
        w = set_weights([e.dataset for e in examples]) if self.config.balance_sets else None
        self.nets = [
            self._train_one(xa, xb, y, m, w, self.seed + k) for k in range(self.config.ensemble)
        ]

    def _train_one(
        self,
        xa: np.ndarray,
        xb: np.ndarray | None,
        y: np.ndarray,
        m: np.ndarray,
        w: np.ndarray | None,
        seed: int,
    ) -> HeadNet:
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        epochs, rate, batch = hyperparameters(self.config)
        net = self._new_net(xa.shape[1])
        standardize_into(net, xa if xb is None else np.concatenate([xa, xb]), y, m)
        ta, tb = torch.from_numpy(xa), None if xb is None else torch.from_numpy(xb)
        ty, tm = torch.from_numpy(y), torch.from_numpy(m)
        tw = None if w is None else torch.from_numpy(w)
        optimizer = torch.optim.AdamW(
            net.parameters(), lr=rate, weight_decay=self.config.weight_decay
        )
        net.train()
        for _ in range(epochs):
            for idx in _batches(len(ty), batch, generator):
                rows = None if tw is None else tw[idx]
                if tb is None:
                    loss = pointwise_loss(net, ta[idx], ty[idx], tm[idx], rows)
                else:
                    utilities = net.raw(ta[idx]), net.raw(tb[idx])
                    loss = pairwise_loss(*utilities, ty[idx], tm[idx], rows)
                optimizer.zero_grad()
                torch.autograd.backward(loss)
                optimizer.step()
        net.eval()
        return net

    def predict(self, examples: Sequence[Example]) -> np.ndarray:
        return self.predict_features(
            self.features(examples),
            self.features(examples, second=True) if self.pairwise else None,
        )

    def predict_features(self, xa: np.ndarray, xb: np.ndarray | None = None) -> np.ndarray:
        """The ensemble's mean prediction from full feature rows (pairwise: P(A better))."""
        if not self.nets:
            raise RuntimeError("predict before fit or load")
        a = torch.from_numpy(self._select(xa))
        b = None if xb is None else torch.from_numpy(self._select(xb))
        with torch.inference_mode():
            if b is None:
                values = torch.stack([net.predict(a) for net in self.nets]).mean(dim=0)
            else:
                diffs = torch.stack([net.raw(a) - net.raw(b) for net in self.nets])
                values = torch.sigmoid(diffs.mean(dim=0))
        return values.numpy()

    def save(self, directory: Path) -> None:
        from safetensors.torch import save_file

        if not self.nets:
            raise RuntimeError("save before fit")
        state = {
            f"{k}.{name}": tensor.contiguous()
            for k, net in enumerate(self.nets)
            for name, tensor in net.state_dict().items()
        }
        save_file(state, str(directory / HEAD_FILE), metadata={"kind": "encoder_head"})

    def load(self, directory: Path) -> None:
        from safetensors.torch import load_file

        state = load_file(str(directory / HEAD_FILE))
        n_features = {
            "scalars": len(SCALARS),
            "lexical": len(LEXICAL),
            "metrics": len(LEXICAL) + len(METRICS),
            "metrics_encoder": len(SCALARS) + len(METRICS),
        }.get(self.config.feature_set)
        self.nets = []
        for k in range(self.config.ensemble):
            prefix = f"{k}."
            own = {n[len(prefix) :]: t for n, t in state.items() if n.startswith(prefix)}
            net = self._new_net(n_features or int(own["feature_mean"].shape[0]))
            net.load_state_dict(own)
            net.eval()
            self.nets.append(net)


class CrossEncoderStudent:
    """Any HF encoder fine-tuned on (source + first reference, response) pairs with a
    regression head per dimension (pairwise: a Bradley-Terry utility per response)."""

    def __init__(
        self, config: StudentConfig, scales: list[Scale], pairwise: bool, seed: int
    ) -> None:
        self.config, self.scales, self.pairwise, self.seed = config, scales, pairwise, seed
        self.model: Any = None
        self.tokenizer: Any = None
        self.target_mean = np.zeros(len(scales), dtype=np.float32)
        self.target_std = np.ones(len(scales), dtype=np.float32)

    def _load(self, path: str, num_labels: int | None) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            extra = {} if num_labels is None else {"num_labels": num_labels}
            self.model = AutoModelForSequenceClassification.from_pretrained(path, **extra)
        except OSError as exc:
            reason = str(exc).splitlines()[0]
            raise UserError(f"cross-encoder: cannot load {path} ({reason})") from None
        self.model.to(self.config.device)

    def _encode(self, examples: Sequence[Example], second: bool) -> dict[str, torch.Tensor]:
        firsts = [
            e.source + (f"\n\nReference: {e.references[0]}" if e.references else "")
            for e in examples
        ]
        seconds = [(e.response_b or "") if second else e.response for e in examples]
        batch = self.tokenizer(
            firsts,
            seconds,
            truncation="longest_first",
            max_length=self.config.max_length,
            padding=True,
            return_tensors="pt",
        )
        return {k: v.to(self.config.device) for k, v in batch.items()}

    def _scores(self, examples: Sequence[Example], second: bool = False) -> torch.Tensor:
        logits: torch.Tensor = self.model(**self._encode(examples, second)).logits
        return logits.float().cpu()

    def fit(self, examples: Sequence[Example], y: np.ndarray, m: np.ndarray) -> None:
        from evalkit.scorers.embedding import default_model

        torch.manual_seed(self.seed)
        generator = torch.Generator().manual_seed(self.seed)
        self._load(self.config.encoder or default_model(), len(self.scales))
        for j in range(y.shape[1]):
            labeled = y[m[:, j] > 0, j]
            if labeled.size > 1 and not self.pairwise:
                self.target_mean[j], self.target_std[j] = labeled.mean(), max(labeled.std(), 1e-6)
        epochs, rate, batch = hyperparameters(self.config)
        optimizer = torch.optim.AdamW(self.model.parameters(), lr=rate, weight_decay=0.01)
        ty, tm = torch.from_numpy(y), torch.from_numpy(m)
        z = (ty - torch.from_numpy(self.target_mean)) / torch.from_numpy(self.target_std)
        self.model.train()
        for _ in range(epochs):
            for idx in _batches(len(examples), batch, generator):
                chosen = [examples[i] for i in idx.tolist()]
                if self.pairwise:
                    loss = pairwise_loss(
                        self._scores(chosen), self._scores(chosen, True), ty[idx], tm[idx]
                    )
                else:
                    loss = masked_mse(self._scores(chosen), z[idx], tm[idx])
                optimizer.zero_grad()
                torch.autograd.backward(loss)
                optimizer.step()
        self.model.eval()

    def predict(self, examples: Sequence[Example]) -> np.ndarray:
        _, _, batch = hyperparameters(self.config)
        out = []
        with torch.inference_mode():
            for i in range(0, len(examples), batch):
                chunk = examples[i : i + batch]
                if self.pairwise:
                    out.append(torch.sigmoid(self._scores(chunk) - self._scores(chunk, True)))
                else:
                    value = self._scores(chunk) * torch.from_numpy(self.target_std)
                    value = value + torch.from_numpy(self.target_mean)
                    low = torch.tensor([s.low for s in self.scales])
                    high = torch.tensor([s.high for s in self.scales])
                    out.append(torch.clamp(value, low, high))
        return torch.cat(out).numpy()

    def save(self, directory: Path) -> None:
        self.model.save_pretrained(directory / ENCODER_DIR, safe_serialization=True)
        self.tokenizer.save_pretrained(directory / ENCODER_DIR)
        (directory / ENCODER_DIR / "targets.json").write_text(
            json.dumps({"mean": self.target_mean.tolist(), "std": self.target_std.tolist()})
        )

    def load(self, directory: Path) -> None:
        self._load(str(directory / ENCODER_DIR), None)
        targets = json.loads((directory / ENCODER_DIR / "targets.json").read_text())
        self.target_mean = np.asarray(targets["mean"], dtype=np.float32)
        self.target_std = np.asarray(targets["std"], dtype=np.float32)
        self.model.eval()
