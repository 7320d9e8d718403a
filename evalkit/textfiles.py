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


class DuplicateKeyError(Exception):
    """A mapping that names one key twice (PyYAML would keep the last value silently)."""

    def __init__(self, key: object, line: int, first_line: int) -> None:
        super().__init__(f"duplicate key '{key}' (also on line {first_line}; YAML keeps one)")
        self.line = line  # 1-based


def unique_key_loader() -> Any:
    """A `yaml.SafeLoader` subclass that refuses a key given twice in one mapping (a merge key
    `<<` may still be overridden: that is what it is for). Raises DuplicateKeyError."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):  # type: ignore[misc]
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if isinstance(node, yaml.MappingNode):
                seen: dict[object, int] = {}
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node, deep=True)
                    line = key_node.start_mark.line + 1
                    try:
                        if key in seen:
                            raise DuplicateKeyError(key, line, seen[key])
                        seen[key] = line
                    except TypeError:  # an unhashable key: SafeLoader refuses it itself
                        continue
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


def load_yaml(path: Path, loader: Any = None) -> Any:
    """The YAML document in `path` (None when empty); invalid YAML, and a mapping that names a
    key twice, is a one-line UserError `FILE:LINE[:COLUMN]: invalid YAML (problem)` or
    `FILE:LINE: duplicate key 'k' (also on line N; YAML keeps one)`. `loader`: a subclass of
    `unique_key_loader()` (default: that loader)."""
    import yaml

    text = read_text(path)
    try:
        return yaml.load(text, Loader=loader or unique_key_loader())  # a SafeLoader subclass
    except (yaml.YAMLError, DuplicateKeyError) as exc:
        raise yaml_error(path, exc) from None


def yaml_error(path: Path, exc: Exception) -> UserError:
    """The one-line UserError for a YAML parse error or a DuplicateKeyError in `path`."""
    import yaml

    if isinstance(exc, DuplicateKeyError):
        return UserError(f"{path}:{exc.line}: {exc}")
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "syntax error"
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        return UserError(f"{where}: invalid YAML ({problem})")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return UserError(f"{path}: invalid YAML ({first})")


def yaml_line(path: Path, loc: tuple[str | int, ...]) -> int | None:
    """The 1-based line of the key (or list item) that `loc` (mapping keys and list indices, as
    in a pydantic error) leads to in the YAML file `path`: the deepest part of it found; None
    when not even the first part is there (a required field left out) or the file cannot be
    read."""
    import yaml

    try:
        node = yaml.compose(read_text(path), Loader=yaml.SafeLoader)
    except (OSError, UserError, yaml.YAMLError):
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = [v for k, v in node.value if str(getattr(k, "value", None)) == str(part)]
            if not found:
                break
            keys = [k for k, _ in node.value if str(getattr(k, "value", None)) == str(part)]
            line, node = keys[-1].start_mark.line + 1, found[-1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def require_file(path: Path, missing: str, what: str = "file") -> None:
    """Raise UserError(`missing`) when nothing is at `path`, `PATH: is a directory, not a WHAT`
    when a folder is (a `data: .` or a run directory given for a file), and `PATH: is a device
    or a pipe, not a WHAT` for anything else that is not a regular file (/dev/null: it exists,
    so "not found" would mislead)."""
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not a {what}")
    if path.exists() and not path.is_file():
        raise UserError(f"{path}: is a device or a pipe, not a {what}")
    if not path.is_file():
        raise UserError(missing)
