"""Read tabular task data (JSONL, CSV, Parquet) as rows, with errors that name file and line."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from evalkit.errors import UserError

Row = dict[str, Any]
FORMATS = ("jsonl", "csv", "parquet")


def infer_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    fmt = {"json": "jsonl", "ndjson": "jsonl", "tsv": "csv", "pq": "parquet"}.get(suffix, suffix)
    if fmt not in FORMATS:
        raise UserError(f"{path}: cannot tell the data format from '.{suffix}' (use {FORMATS})")
    return fmt


def read_rows(path: Path, fmt: str | None = None) -> Iterator[tuple[int, Row]]:
    """Yield (line number, row); line numbers are 1-based as an editor shows them."""
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    fmt = fmt or infer_format(path)
    if fmt == "jsonl":
        yield from _read_jsonl(path)
    elif fmt == "csv":
        yield from _read_csv(path)
    elif fmt == "parquet":
        yield from _read_parquet(path)
    else:
        raise UserError(f"{path}: unknown data format '{fmt}' (use {FORMATS})")


def _read_jsonl(path: Path) -> Iterator[tuple[int, Row]]:
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(
                    f"{path}:{line_no}: invalid JSON ({exc.msg}, column {exc.colno})"
                ) from None
            if not isinstance(row, dict):
                raise UserError(
                    f"{path}:{line_no}: expected a JSON object, got {type(row).__name__}"
                )
            yield line_no, row


def _read_csv(path: Path) -> Iterator[tuple[int, Row]]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        for row in reader:
            yield reader.line_num, dict(row)


def _read_parquet(path: Path) -> Iterator[tuple[int, Row]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise UserError(f"{path}: not a readable Parquet file ({exc})") from exc
    yield from enumerate(table.to_pylist(), start=1)


def dotted_field(row: Mapping[str, Any], dotted: str, where: str) -> Any:
    """`row["a"]["b"]` for "a.b"; a missing step is a UserError naming `where` and the field."""
    value: Any = row
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise UserError(f"{where}: field '{dotted}' missing")
        value = value[part]
    return value


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_yaml_mapping(path: Path, what: str = "file") -> dict[str, Any]:
    """A YAML file whose top level is a mapping (an empty file is an empty mapping)."""
    import yaml

    if not path.is_file():
        raise UserError(f"{what} not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: expected a mapping at the top level")
    return raw
