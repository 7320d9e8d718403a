"""Hydra side of `evalkit judge distill [overrides]`: compose conf/judge_distill.yaml and hand a
plain dict on (the library in evalkit/distill never sees Hydra)."""

from __future__ import annotations

from typing import Any

from .compose import compose_dict


def compose_config(overrides: list[str]) -> dict[str, Any]:
    return compose_dict("judge_distill", overrides)
