"""Task data from Hugging Face `datasets`: a hub id, a `save_to_disk` directory or a data file.

`task.yaml` names the source under `dataset:` instead of `data:`; rows come out as plain dicts
(list columns as lists), numbered from 1 as `row N` in error messages. `datasets` is an optional
extra (`pip install "evalkit[datasets]"`), imported only when a task uses it.

The data hash recorded in run.json (`task_data_hashes`) is, for local data, the sha256 of every
file under the directory (or of the file), so it changes with the content and nothing else; for
a hub dataset it is the sha256 of the source (path, name, split, revision) and the fingerprint
`datasets` gives the prepared split (a hash of its cache directory, which names the config and
the resolved data files: `datasets.builder.DatasetBuilder._get_dataset_fingerprint`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from evalkit.errors import UserError
from evalkit.tasks.datafiles import Row, file_sha256

INSTALL = 'pip install "evalkit[datasets]"'
# a single data file read through one of datasets' packaged builders
_BUILDER_OF_SUFFIX = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "json",
    ".json": "json",
    ".csv": "csv",
    ".arrow": "arrow",
}
# what save_to_disk writes (datasets.config.DATASET_STATE_JSON_FILENAME, DATASETDICT_JSON_FILENAME)
_SAVED_DATASET = "state.json"
_SAVED_DATASET_DICT = "dataset_dict.json"


class DatasetSource(BaseModel):
    """`dataset:` in task.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = Field(
        description="A hub id (openai/gsm8k), or relative to task.yaml: a directory written by "
        "save_to_disk, a folder of data files, or one Parquet/JSONL/CSV file."
    )
    name: str | None = Field(None, description="The dataset's config name (e.g. 'main').")
    split: str | None = Field(
        None, description="e.g. test, or test[:100]; needed when the dataset has several."
    )
    revision: str | None = Field(None, description="A hub branch, tag or commit.")


class LoadedDataset:
    """A source resolved against the task folder, loaded once."""

    def __init__(self, source: DatasetSource, root: Path, spec_path: Path) -> None:
        self.source = source
        self.spec_path = spec_path
        candidate = (root / source.path).expanduser()
        self.local = candidate if candidate.exists() else None
        if self.local is None and source.path.startswith((".", "/", "~")):
            raise UserError(f"{spec_path}: dataset.path: {candidate} not found")
        self._dataset: Any = None

    @property
    def label(self) -> str:
        """How error messages name the data: the local path, or hub id[/config][:split]."""
        if self.local is not None:
            return str(self.local)
        text = self.source.path + (f"/{self.source.name}" if self.source.name else "")
        return text + (f":{self.source.split}" if self.source.split else "")

    def rows(self) -> Iterator[tuple[int, Row]]:
        """(row number from 1, row) in dataset order."""
        for index, row in enumerate(self.dataset):
            yield index + 1, dict(row)

    def __len__(self) -> int:
        return len(self.dataset)

    @property
    def dataset(self) -> Any:
        if self._dataset is None:
            self._dataset = self._pick_split(self._load())
        return self._dataset

    def _load(self) -> Any:
        try:
            import datasets
        except ModuleNotFoundError:
            raise UserError(
                f"{self.spec_path}: a `dataset:` source needs the datasets package: {INSTALL}"
            ) from None
        src = self.source
        datasets.disable_progress_bars()  # the run's progress display is evalkit's own
        try:
            if self.local is not None and _is_saved(self.local):
                return datasets.load_from_disk(str(self.local))
            if self.local is not None and self.local.is_file():
                builder = _BUILDER_OF_SUFFIX.get(self.local.suffix.lower())
                if builder is None:
                    raise UserError(
                        f"{self.spec_path}: dataset.path: cannot tell the format of "
                        f"{self.local.name} (use {sorted(set(_BUILDER_OF_SUFFIX.values()))})"
                    )
                return datasets.load_dataset(
                    builder, data_files=str(self.local), split=src.split or "train"
                )
            path = str(self.local) if self.local is not None else src.path
            return datasets.load_dataset(
                path, name=src.name, split=src.split, revision=src.revision
            )
        except (OSError, ValueError, KeyError, datasets.exceptions.DatasetsError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(f"{self.spec_path}: dataset {self.label}: {first}") from None

    def _pick_split(self, loaded: Any) -> Any:
        """A DatasetDict (a saved dict, or no split given) narrowed to the one split."""
        if not hasattr(loaded, "keys"):  # a Dataset
            return loaded
        splits = sorted(loaded.keys())
        split = self.source.split
        if split is None and len(splits) == 1:
            split = splits[0]
        if split is None:
            raise UserError(
                f"{self.spec_path}: dataset.split: {self.label} has splits {splits}; name one"
            )
        if split not in loaded:
            raise UserError(f"{self.spec_path}: dataset.split: no split '{split}' in {splits}")
        return loaded[split]

    def data_hash(self) -> str:
        """sha256 of the local files, or of the hub source and datasets' fingerprint."""
        if self.local is not None:
            return local_hash(self.local)
        blob = {**self.source.model_dump(), "fingerprint": self.fingerprint}
        return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()

    @property
    def fingerprint(self) -> str | None:
        return getattr(self.dataset, "_fingerprint", None)

    def describe(self) -> dict[str, Any]:
        """What run.json records of the source (provenance)."""
        return {
            "kind": "datasets",
            **self.source.model_dump(),
            "local": self.local is not None,
            "fingerprint": self.fingerprint,
            "rows": len(self),
        }


def _is_saved(path: Path) -> bool:
    return path.is_dir() and any(
        (path / name).is_file() for name in (_SAVED_DATASET, _SAVED_DATASET_DICT)
    )


def local_hash(path: Path) -> str:
    """sha256 of one file, or over (relative path, sha256) of every file under a directory."""
    if path.is_file():
        return file_sha256(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path).as_posix()}\0{file_sha256(file)}\n".encode())
    return digest.hexdigest()
