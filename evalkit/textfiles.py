"""Reading the user's text files: UTF-8 with or without a byte-order mark, any line ends.

A UTF-8 byte-order mark (what Excel's "CSV UTF-8" and many Windows tools write) is an encoding
signature, not data (the Unicode standard; RFC 8259 section 8.1 lets JSON parsers ignore it), so it
is read away (Python's `utf-8-sig` codec). CRLF and CR line ends read like LF. Bytes that are not
UTF-8 are a `UserError` naming the file, line, column and byte, and the likely real cause (a
UTF-16 file, or a legacy 8-bit encoding such as Windows-1252): never a traceback, never mojibake.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalkit.errors import UserError

ENCODING = "utf-8-sig"  # UTF-8; a leading byte-order mark is dropped
BOM = "\ufeff"
_UTF16_32_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def utf8_error(path: Path, data: bytes | None = None) -> UserError:
    """The one-line error for a file that is not UTF-8: `FILE:LINE: not valid UTF-8 (byte 0xNN
    at column N); save the file as UTF-8`. Line and column are 1-based, the column counted in
    characters as an editor shows them. `data` is the file's bytes (read from `path` if None)."""
    raw = path.read_bytes() if data is None else data
    for mark, name in _UTF16_32_BOMS:
        if raw.startswith(mark):
            return UserError(
                f"{path}:1: the file is {name} (byte-order mark {_hex(mark)}), not UTF-8; "
                "save the file as UTF-8"
            )
    for line_no, line in enumerate(raw.splitlines(), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            column = len(line[: exc.start].decode("utf-8", errors="replace")) + 1
            return UserError(
                f"{path}:{line_no}: not valid UTF-8 (byte 0x{line[exc.start]:02x} at column "
                f"{column}); save the file as UTF-8 (it may be in a legacy encoding such as "
                "Windows-1252)"
            )
    return UserError(f"{path}: not valid UTF-8; save the file as UTF-8")


def _hex(mark: bytes) -> str:
    return " ".join(f"0x{b:02x}" for b in mark)


def read_text(path: Path) -> str:
    """The file's text: UTF-8, a leading byte-order mark dropped, line ends as in the file.

    Raises UserError (see `utf8_error`) when the bytes are not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode(ENCODING)
    except UnicodeDecodeError:
        raise utf8_error(path, data) from None


def load_yaml(path: Path) -> Any:
    """The YAML document in `path` (None when empty); invalid YAML is a one-line UserError
    `FILE:LINE:COLUMN: invalid YAML (problem)`."""
    import yaml

    text = read_text(path)
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "syntax error"
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise UserError(f"{where}: invalid YAML ({problem})") from None
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: invalid YAML ({first})") from None
