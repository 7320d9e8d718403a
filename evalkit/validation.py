"""Turn pydantic's multi-line ValidationError into the one line a user error gets."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError


def first_error(exc: ValidationError) -> str:
    """'field.path: message' for the first problem, plus a count of the others."""
    errors = exc.errors()
    first = errors[0]
    location = ".".join(str(part) for part in first["loc"]) or "(top level)"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "value_error":
        message = message.removeprefix("Value error, ")
    more = f" (+{len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"{location}: {message}{more}"


def _at(path: Path, loc: tuple[str | int, ...]) -> str:
    from evalkit.textfiles import yaml_line

    line = yaml_line(path, loc)
    return f"{path}:{line}" if line is not None else str(path)


def first_error_in(path: Path, exc: ValidationError) -> str:
    """'FILE:LINE: field.path: message' for the first problem of the YAML file `path` (LINE:
    where the field is written; left out for a field that is missing)."""
    return f"{_at(path, tuple(exc.errors()[0]['loc']))}: {first_error(exc)}"


def all_errors_in(path: Path, exc: ValidationError) -> list[str]:
    """'FILE:LINE: field.path: message' for every problem of the YAML file `path`."""
    return [
        f"{_at(path, tuple(error['loc']))}: {line}"
        for error, line in zip(exc.errors(), all_errors(exc), strict=True)
    ]


def all_errors(exc: ValidationError) -> list[str]:
    """'field.path: message' for every problem pydantic found, in its order."""
    lines = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
        lines.append(f"{location}: {message}")
    return lines
