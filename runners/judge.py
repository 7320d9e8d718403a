"""Hydra side of `evalkit judge RUN_DIR [overrides]`: compose conf/judge.yaml, hand a plain dict on.

Thin on purpose (design.md): the library code in evalkit/judging.py never sees Hydra.
"""

from __future__ import annotations

from typing import Any

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from evalkit.errors import UserError
from evalkit.resources import builtin_dir

CONF_DIR = builtin_dir("conf")


def compose_config(overrides: list[str]) -> dict[str, Any]:
    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            cfg = compose("judge", overrides=overrides)
        data: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    except (HydraException, OmegaConfBaseException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"invalid override: {first}") from None
    return data
