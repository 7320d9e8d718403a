"""Read tabular task data (JSONL, CSV, Parquet) as rows, with errors that name file and line.

Text files are UTF-8 with or without a byte-order mark, with any line ends (evalkit.textfiles);
bytes that are not UTF-8 are one UserError naming file, line, column and byte.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from evalkit.csvfiles import csv_error, refuse_duplicate_columns
from evalkit.errors import UserError
from evalkit.textfiles import BOM, ENCODING, load_yaml, require_file, utf8_error

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
    require_file(path, f"{path}: file not found", "data file")
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
    try:
        yield from _jsonl_rows(path)
    except UnicodeDecodeError:
        raise utf8_error(path) from None


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Row]]:
    with path.open(encoding=ENCODING) as handle:
        for line_no, line in enumerate(handle, start=1):
            line = line.removeprefix(BOM)  # also a BOM left inside by concatenated files
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
    """Rows under the header's names. `strict`: a quoted field never closed is an error, not a
    field that swallows the rest of the file; a header naming a column twice is refused (the
    last column of that name would win)."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        with path.open(encoding=ENCODING, newline="") as handle:
            reader = csv.DictReader(handle, delimiter=delimiter, strict=True)
            try:
                refuse_duplicate_columns(path, reader.fieldnames or [])
                for row in reader:
                    yield reader.line_num, dict(row)
            except csv.Error as exc:
                raise csv_error(path, delimiter, reader.line_num + 1, exc) from None
    except UnicodeDecodeError:
        raise utf8_error(path) from None


def _read_parquet(path: Path) -> Iterator[tuple[int, Row]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise UserError(f"{path}: not a readable Parquet file ({exc})") from exc
    # a column named from a BOM CSV read without utf-8-sig (pandas' default) carries the mark
    table = table.rename_columns([name.removeprefix(BOM) for name in table.column_names])
    try:
        rows = table.to_pylist()
    except UnicodeDecodeError:
        raise _parquet_utf8_error(path, table) from None
    yield from enumerate(rows, start=1)


def _parquet_utf8_error(path: Path, table: Any) -> UserError:
    """Which row and column of a Parquet table hold a string that is not UTF-8."""
    for name in table.column_names:
        for row_no, value in enumerate(table.column(name), start=1):
            try:
                value.as_py()
            except UnicodeDecodeError as exc:
                byte = exc.object[exc.start]
                return UserError(
                    f"{path}: row {row_no}, column '{name}': not valid UTF-8 (byte 0x{byte:02x} "
                    f"at position {exc.start + 1}); write the strings as UTF-8"
                )
    return UserError(f"{path}: a string is not valid UTF-8; write the strings as UTF-8")


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
    """A YAML file whose top level is a mapping (an empty file is an empty mapping); UTF-8 with
    or without a byte-order mark (evalkit.textfiles.load_yaml)."""
    require_file(path, f"{what} not found: {path}", what)
    raw = load_yaml(path) or {}
    if not isinstance(raw, dict):
        raise UserError(f"{path}: expected a mapping at the top level")
    return raw
