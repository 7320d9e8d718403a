"""Hydra side of `evalkit judge distill [overrides]`: compose conf/judge_distill.yaml and hand a
plain dict on (the library in evalkit/distill never sees Hydra)."""

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
            cfg = compose("judge_distill", overrides=overrides)
        data = OmegaConf.to_container(cfg, resolve=True)
    except (HydraException, OmegaConfBaseException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"invalid override: {first}") from None
    if not isinstance(data, dict):
        raise UserError("invalid distill config: the top level must be a mapping")
    return {str(k): v for k, v in data.items()}
