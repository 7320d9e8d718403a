"""The documents of an lm-eval task's splits, from local files or through `datasets`.

lm-eval calls `datasets.load_dataset(dataset_path, dataset_name, **dataset_kwargs)`. With
`dataset_path` one of datasets' packaged file formats (`json`, `csv`, `parquet`) and
`dataset_kwargs.data_files` local files, evalkit reads them itself as that loader does: JSON
Lines or a JSON array, CSV through pandas (types inferred, as the csv builder does), Parquet
through pyarrow; a file or list of files is the split `train`, a mapping names the splits. Rows
missing a column get None, as a datasets table would give them. Paths are taken relative to the
YAML file's folder, else to the working directory (where lm-eval looks). Anything else (a hub id,
a dataset folder) goes through `datasets` when it is installed, which honours HF_HUB_OFFLINE.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from evalkit.errors import UserError
from evalkit.tasks.lmeval.spec import LmEvalTask
from evalkit.textfiles import read_text

Doc = dict[str, Any]
LOCAL_FORMATS = ("json", "csv", "parquet")


def data_files(task: LmEvalTask) -> dict[str, list[Path]]:
    """Split name -> local files, for a task whose dataset_path is a file format."""
    raw = task.dataset_kwargs.get("data_files")
    if raw is None:
        raise UserError(
            f"{task.path}: dataset_kwargs.data_files: needed with dataset_path: {task.dataset_path}"
        )
    by_split = raw if isinstance(raw, dict) else {"train": raw}
    out: dict[str, list[Path]] = {}
    for split, files in by_split.items():
        names = files if isinstance(files, list) else [files]
        out[str(split)] = [_resolve(task, str(name), str(split)) for name in names]
    return out


def _resolve(task: LmEvalTask, name: str, split: str) -> Path:
    path = Path(name).expanduser()
    for candidate in [path] if path.is_absolute() else [task.path.parent / path, path]:
        if candidate.is_file():
            return candidate.resolve()
    raise UserError(f"{task.path}: dataset_kwargs.data_files.{split}: {name} not found")


def load_split(task: LmEvalTask, split: str, key: str) -> list[Doc]:
    """The documents of `split` (named by the task key `key`, for messages), in file order."""
    if task.dataset_path in LOCAL_FORMATS:
        files = data_files(task)
        if split not in files:
            raise UserError(
                f"{task.path}: {key}: split '{split}' is not in dataset_kwargs.data_files "
                f"(splits: {', '.join(files)})"
            )
        docs = [doc for path in files[split] for doc in _read(task.dataset_path, path)]
        return _fill_missing(docs)
    return _load_with_datasets(task, split, key)


def _read(fmt: str, path: Path) -> list[Doc]:
    if fmt == "json":
        return _read_json(path)
    if fmt == "csv":
        import pandas as pd

        frame = pd.read_csv(path)
        return [{str(k): _no_nan(v) for k, v in row.items()} for row in frame.to_dict("records")]
    import pyarrow.parquet as pq

    return list(pq.read_table(path).to_pylist())


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _read_json(path: Path) -> list[Doc]:
    text = read_text(path)
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    else:
        rows = []
        for line_no, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}:{line_no}: invalid JSON ({exc.msg})") from None
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise UserError(f"{path}: row {n}: expected an object, got {type(row).__name__}")
    return list(rows)


def _fill_missing(docs: list[Doc]) -> list[Doc]:
    columns: dict[str, None] = {}
    for doc in docs:
        columns.update(dict.fromkeys(doc))
    return [{c: doc.get(c) for c in columns} for doc in docs]


def _load_with_datasets(task: LmEvalTask, split: str, key: str) -> list[Doc]:
    try:
        import datasets
    except ModuleNotFoundError:
        raise UserError(
            f"{task.path}: dataset_path: '{task.dataset_path}' is loaded through the `datasets` "
            "package (pip install datasets); or set dataset_path: json|csv|parquet with "
            "dataset_kwargs.data_files pointing at local files"
        ) from None
    kwargs = {k: v for k, v in task.dataset_kwargs.items() if k != "trust_remote_code"}
    try:
        loaded = datasets.load_dataset(task.dataset_path, task.dataset_name, **kwargs)
    except Exception as exc:  # datasets raises many types for a missing or offline dataset
        detail = " ".join(str(exc).split())[:300]
        raise UserError(f"{task.path}: dataset_path: {task.dataset_path}: {detail}") from None
    if split not in loaded:
        raise UserError(
            f"{task.path}: {key}: split '{split}' not in {task.dataset_path} "
            f"(splits: {', '.join(loaded)})"
        )
    return [dict(row) for row in loaded[split]]


def source_hashes(task: LmEvalTask) -> dict[str, str]:
    """sha256 of each local data file (for the import cache key); empty for other sources."""
    from evalkit.tasks.datafiles import file_sha256

    if task.dataset_path not in LOCAL_FORMATS:
        return {}
    return {str(p): file_sha256(p) for files in data_files(task).values() for p in files}
