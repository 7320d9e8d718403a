"""`echo`: a backend that answers each request with its last message (or a fixed `reply`).

A backend entry point is a factory `(name, options, task) -> list[Backend]`; a Backend has a
`name`, a `signature()` naming whatever changes its outputs, and `generate(requests)` that
returns one Generation per Request, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalkit.errors import UserError
from evalkit.types import Generation, Request


class EchoBackend:
    def __init__(self, name: str, reply: str | None) -> None:
        self.name = name
        self.reply = reply

    def signature(self) -> str:
        return f"echo|reply:{self.reply!r}|evalkit-plugin-example:0.1.0"

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        return [
            Generation(
                text=self.reply if self.reply is not None else r.messages[-1].content,
                finish_reason="stop",
            )
            for r in requests
        ]


def build_echo_backends(name: str, options: dict[str, Any], task: Any) -> list[EchoBackend]:
    """Options: `reply` (default: echo the prompt). Anything else is a one-line error."""
    unknown = sorted(set(options) - {"reply"})
    if unknown:
        raise UserError(f"model (echo): unknown option(s) {', '.join(unknown)}")
    return [EchoBackend(name, options.get("reply"))]
