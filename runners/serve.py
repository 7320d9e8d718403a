"""Entry point of `evalkit serve`: compose conf/serve.yaml with the model group, then serve.

Composed with Hydra's compose API rather than `hydra.main`: a server has no run directory.
"""

from __future__ import annotations

import os

from evalkit import registry
from evalkit.app.serve import ServeSettings, serve_forever
from evalkit.config import ModelConfig
from evalkit.errors import UserError

from .compose import compose_dict


def launch(overrides: list[str]) -> None:
    data = compose_dict("serve", overrides, prefix="invalid serve config", throw_on_missing=True)
    model = ModelConfig.model_validate(data.pop("model"))
    key_env = data.pop("api_key_env")
    api_key = os.environ.get(key_env) if key_env else None
    if key_env and not api_key:
        raise UserError(f"serve: environment variable {key_env} is not set")
    [backend] = registry.backend(model.backend).build(model.name, model.options, None)
    serve_forever(backend, ServeSettings(api_key=api_key, **data))
