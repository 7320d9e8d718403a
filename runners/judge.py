"""Hydra side of `evalkit judge RUN_DIR [overrides]`: compose conf/judge.yaml, hand a plain dict on.

Thin on purpose (design.md): the library code in evalkit/judging/command.py never sees Hydra.
"""

from __future__ import annotations

from typing import Any

from .compose import compose_dict


def compose_config(overrides: list[str]) -> dict[str, Any]:
    return compose_dict("judge", overrides)
