"""Every default is said once: conf/run.yaml takes its values from RunConfig (config.py), and the
other commands' configs (judge, judge_distill, data_build, serve) agree with their models on
every default both give, so a value changed in one place cannot silently differ in the other."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from omegaconf import OmegaConf
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from evalkit.app.runner_loader import load_runner
from evalkit.resources import builtin_dir

CONF_DIR = builtin_dir("conf")


def model_defaults(model: type[BaseModel]) -> dict[str, Any]:
    """The fields of `model` that have a default, as JSON values (nested models: their own)."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if field.default is PydanticUndefined and field.default_factory is None:
            continue
        value = field.get_default(call_default_factory=True)
        out[name] = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    return out


def _disagreements(
    composed: dict[str, Any], raw: dict[str, Any], defaults: dict[str, Any], where: str
) -> list[str]:
    """Keys both give with different values. A config group's key (its option is chosen in the
    defaults list) is not a default of the model; a model default that is an interpolation
    (`${name}`, resolved by the model) is compared with the config's unresolved value."""
    out = []
    for key, default in defaults.items():
        if key not in composed or (not where and (CONF_DIR / key).is_dir()):
            continue
        value = composed[key]
        if isinstance(default, str) and "${" in default:
            value = raw[key]
        if isinstance(default, dict) and isinstance(value, dict):
            out += _disagreements(value, raw[key], default, f"{where}{key}.")
        elif value != default and not (isinstance(default, tuple) and list(default) == value):
            out.append(f"{where}{key}: config {value!r} != model {default!r}")
    return out


def _models() -> list[tuple[str, type[BaseModel]]]:
    from evalkit.databuild.config import DataBuildConfig
    from evalkit.distill.config import DistillConfig
    from evalkit.judging.command import JudgeConfig

    return [("judge", JudgeConfig), ("judge_distill", DistillConfig),
            ("data_build", DataBuildConfig)]  # fmt: skip


@pytest.mark.parametrize(("config", "model"), _models())
def test_a_command_s_config_and_model_agree_on_every_default(config, model) -> None:
    compose = load_runner("compose")
    cfg = compose.compose_config(config)
    composed, raw = compose.to_plain(cfg), OmegaConf.to_container(cfg, resolve=False)
    assert _disagreements(composed, raw, model_defaults(model), "") == []


def test_serve_config_and_settings_agree() -> None:
    from evalkit.app.serve import ServeSettings

    cfg = load_runner("compose").compose_config("serve")
    composed = OmegaConf.to_container(cfg, resolve=True)
    defaults = {
        f.name: f.default
        for f in dataclasses.fields(ServeSettings)
        if f.default is not dataclasses.MISSING
    }
    assert _disagreements(composed, composed, defaults, "") == []


def test_run_settings_are_given_once_in_the_model(monkeypatch, tmp_path) -> None:
    from evalkit.config import RunConfig

    own = OmegaConf.load(CONF_DIR / "run.yaml")
    assert set(own) == {"defaults", "hydra"}  # no setting of its own: RunConfig gives them
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(tmp_path))  # read at each composition
    composed = load_runner("compose").compose_dict("run", ["seed=7"])
    defaults = RunConfig.defaults()
    assert composed["cache"]["path"] == str(tmp_path / "responses.sqlite")
    assert composed["seed"] == 7 and defaults["seed"] == 1234
    groups = {"suite", "model", "scorers"}  # chosen in the defaults list, not settings
    assert set(composed) - groups == set(defaults) - groups
    assert _disagreements(composed, composed, {**defaults, "seed": 7}, "") == []
