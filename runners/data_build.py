"""Hydra side of `evalkit data build [CONFIG.yaml] [overrides]`: compose, hand a plain dict on.

conf/data_build.yaml gives the defaults; a user's YAML file is merged over them, then the
command-line overrides (Hydra's override grammar) over both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from evalkit.datafiles import read_yaml_mapping
from evalkit.errors import UserError
from evalkit.resources import builtin_dir

CONF_DIR = builtin_dir("conf")


def compose_config(config_file: Path | None, overrides: list[str]) -> dict[str, Any]:
    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            base = compose("data_build")
            OmegaConf.set_struct(base, False)
            layers = [base]
            if config_file is not None:
                layers.append(OmegaConf.create(read_yaml_mapping(config_file, "config file")))
            final = OmegaConf.merge(*layers, OmegaConf.from_dotlist(overrides))
        data = OmegaConf.to_container(final, resolve=True)
    except (HydraException, OmegaConfBaseException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"invalid data build config: {first}") from None
    if not isinstance(data, dict):
        raise UserError("invalid data build config: the top level must be a mapping")
    return {str(k): v for k, v in data.items()}
