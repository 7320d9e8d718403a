"""One live backend per model config within a run.

A run builds backends once per task (replay needs the task), but a model (a loaded checkpoint, an
HTTP client with its concurrency cap) must be shared by all tasks of the run. `LiveBackends` keeps
them by (name, validated options) until the backend's `close()` hands itself back at the end of
the run, so a multirun sweep does not keep every variant's weights in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from evalkit.errors import UserError
from evalkit.validation import first_error

B = TypeVar("B")
Opts = TypeVar("Opts", bound=BaseModel)


class LiveBackends(Generic[Opts, B]):
    def __init__(self, kind: str, options_type: type[Opts], make: Callable[[str, Opts], B]) -> None:
        self.kind = kind
        self.options_type = options_type
        self.make = make
        self._live: dict[tuple[str, str], B] = {}

    def get(self, name: str, options: dict[str, Any]) -> B:
        try:
            parsed = self.options_type.model_validate(options)
        except ValidationError as exc:
            raise UserError(f"model ({self.kind}): {first_error(exc)}") from None
        key = (name, parsed.model_dump_json())
        if key not in self._live:
            self._live[key] = self.make(name, parsed)
        return self._live[key]

    def release(self, backend: B) -> None:
        for key, live in list(self._live.items()):
            if live is backend:
                del self._live[key]
