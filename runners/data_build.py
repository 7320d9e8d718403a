"""Hydra side of `evalkit data build [CONFIG.yaml] [overrides]`: compose, hand a plain dict on.

conf/data_build.yaml composed (DataBuildConfig's defaults, stored by compose.py, and the default
output) gives the base; a user's YAML file is merged over it, then the command-line overrides
(key=value, dotted keys) over both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from evalkit.tasks.datafiles import read_yaml_mapping

from .compose import compose_config as compose_base
from .compose import compose_errors, to_plain

PREFIX = "invalid data build config"


def compose_config(config_file: Path | None, overrides: list[str]) -> dict[str, Any]:
    base = compose_base("data_build", prefix=PREFIX)
    with compose_errors(PREFIX):
        OmegaConf.set_struct(base, False)
        layers = [base]
        if config_file is not None:
            layers.append(OmegaConf.create(read_yaml_mapping(config_file, "config file")))
        final = OmegaConf.merge(*layers, OmegaConf.from_dotlist(overrides))
    return to_plain(final, PREFIX)
