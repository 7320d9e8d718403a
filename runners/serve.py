"""Entry point of `evalkit serve`: compose conf/serve.yaml with the model group, then serve.

Composed with Hydra's compose API rather than `hydra.main`: a server has no run directory.
"""

from __future__ import annotations

import os
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from evalkit import registry
from evalkit.config import ModelConfig
from evalkit.errors import UserError
from evalkit.protocols import BACKEND_GROUP
from evalkit.resources import builtin_dir
from evalkit.serve import ServeSettings, serve_forever


def _compose(overrides: list[str]) -> dict[str, Any]:
    try:
        with initialize_config_dir(str(builtin_dir("conf")), version_base="1.3"):
            cfg = compose("serve", overrides=overrides)
        data: dict[str, Any] = OmegaConf.to_container(  # type: ignore[assignment]
            cfg, resolve=True, throw_on_missing=True
        )
    except (HydraException, OmegaConfBaseException) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"invalid serve config: {message}") from None
    return data


def launch(overrides: list[str]) -> None:
    data = _compose(overrides)
    model = ModelConfig.model_validate(data.pop("model"))
    key_env = data.pop("api_key_env")
    api_key = os.environ.get(key_env) if key_env else None
    if key_env and not api_key:
        raise UserError(f"serve: environment variable {key_env} is not set")
    factory = registry.load(BACKEND_GROUP, model.backend)
    [backend] = factory(model.name, model.options, None)
    serve_forever(backend, ServeSettings(api_key=api_key, **data))
