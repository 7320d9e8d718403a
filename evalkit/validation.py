"""Turn pydantic's multi-line ValidationError into the one line a user error gets."""

from __future__ import annotations

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


def all_errors(exc: ValidationError) -> list[str]:
    """'field.path: message' for every problem pydantic found, in its order."""
    lines = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
        lines.append(f"{location}: {message}")
    return lines
