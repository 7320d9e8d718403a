"""Strict CSV reading shared by task data files and the AlpacaEval LC inputs: a header naming a
column twice is refused, and what the csv module refuses (`strict=True`) is one line naming the
line where the badly quoted field opens."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from evalkit.errors import UserError
from evalkit.textfiles import ENCODING


def refuse_duplicate_columns(path: Path, names: Sequence[str]) -> None:
    """UserError when the header names a column twice (the last one of that name would win)."""
    seen: set[str] = set()
    for name in names:
        if name.strip() and name in seen:
            raise UserError(f"{path}:1: the header names the column {name!r} twice")
        seen.add(name)


def csv_error(path: Path, delimiter: str, line: int, exc: csv.Error) -> UserError:
    """The one-line error for what the csv module refused on `line` (the one after the last
    line it read whole), a badly quoted field named at the line where it opens."""
    opened, closed_at = _open_quote(path, delimiter)
    if opened is not None and closed_at is None:
        return UserError(
            f"{path}:{opened}: a quoted field opens on this line and is never closed "
            "(no closing quote mark)"
        )
    if opened is not None:
        return UserError(
            f"{path}:{opened}: a quoted field opens on this line and has text after its closing "
            f'quote on line {closed_at} (a quote mark inside a quoted field is written "")'
        )
    return UserError(f"{path}:{line}: not a readable CSV row ({exc})")


def _open_quote(path: Path, delimiter: str) -> tuple[int | None, int | None]:
    """The line where the first badly quoted field opens (None if none) and the line where text
    follows its closing quote (None: the field is still open at the end of the file). A quote
    mark opens a quoted field only at a field's start, as in RFC 4180 and the csv module."""
    with path.open(encoding=ENCODING, newline="") as handle:
        text = handle.read()
    line, opened, state = 1, 0, "start"
    for i, char in enumerate(text):
        end = char == delimiter or char in "\r\n"
        if state == "start" and char == '"':
            state, opened = "quoted", line
        elif state in ("start", "unquoted"):
            state = "start" if end else "unquoted"
        elif state == "quoted" and char == '"':
            state = "quote"  # closes the field, or escapes a second quote mark
        elif state == "quote":
            if char != '"' and not end:
                return opened, line
            state = "quoted" if char == '"' else "start"
        line += char == "\n" or (char == "\r" and text[i + 1 : i + 2] != "\n")
    return (opened, None) if state == "quoted" else (None, None)
