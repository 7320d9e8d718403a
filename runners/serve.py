"""Entry point of `evalkit serve`: compose conf/serve.yaml with the model group, then serve.

Composed with Hydra's compose API rather than `hydra.main`: a server has no run directory. The
settings and their defaults are ServeConfig's (evalkit/app/serve.py).
"""

from __future__ import annotations

from evalkit import registry
from evalkit.app.serve import ServeConfig, serve_forever
from evalkit.extras import extra_needed_by

from .compose import compose_dict


def launch(overrides: list[str]) -> None:
    data = compose_dict("serve", overrides, prefix="invalid serve config", throw_on_missing=True)
    config = ServeConfig.from_dict(data)
    settings = config.settings()
    model = config.model
    with extra_needed_by(f"backend '{model.backend}'"):  # as `evalkit run` says it
        [backend] = registry.backend(model.backend).build(model.name, model.options, None)
    serve_forever(backend, settings)
