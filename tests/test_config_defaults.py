"""Every default is said once, in the command's pydantic model: conf/<command>.yaml gives no
setting of its own (only its defaults list: the config groups), the runner stores the model's
defaults as the config node the defaults list starts with, and a composition with no overrides is
exactly what the model picks by itself next to what the config groups give."""

from __future__ import annotations

from importlib import import_module
from typing import Any

import pytest
from omegaconf import OmegaConf
from pydantic import BaseModel

from evalkit.app.runner_loader import load_runner
from evalkit.resources import builtin_dir
from tests.conftest import cli_in_process

CONF_DIR = builtin_dir("conf")

# config name -> (its model, the keys given elsewhere: by a config group, or by the YAML itself)
COMMANDS: dict[str, tuple[str, set[str]]] = {
    "run": ("evalkit.config:RunConfig", {"suite", "model", "scorers"}),
    "judge": ("evalkit.judging.command:JudgeConfig", {"judge_model"}),
    "judge_distill": ("evalkit.distill.config:DistillConfig", {"data", "scale"}),  # distill_data
    "data_build": ("evalkit.databuild.config:DataBuildConfig", {"output"}),  # datasets/${name}
    "serve": ("evalkit.app.serve:ServeConfig", {"model"}),
}
# what a YAML may still give itself: an interpolation of another setting
OWN = {"data_build": {"output"}}


def _model(path: str) -> type[BaseModel]:
    module, name = path.split(":")
    model: type[BaseModel] = getattr(import_module(module), name)
    return model


@pytest.mark.parametrize("config", sorted(COMMANDS))
def test_a_command_s_yaml_gives_no_setting_its_model_gives(config: str) -> None:
    own = OmegaConf.load(CONF_DIR / f"{config}.yaml")
    assert set(own) - {"defaults", "hydra"} == OWN.get(config, set())
    assert OmegaConf.to_container(own)["defaults"][0] == f"evalkit_{config}_defaults"  # type: ignore[index]


@pytest.mark.parametrize("config", sorted(COMMANDS))
def test_no_overrides_compose_the_model_s_own_defaults(config: str, monkeypatch, tmp_path) -> None:
    """The composed config (unresolved: a default may be an interpolation the model resolves,
    like distill's `reports/judges/${name}`) has every setting of the model and no other key,
    and validates to the same model as the keys given elsewhere alone: every other value is the
    model's default."""
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(tmp_path))  # a default read at composition
    path, elsewhere = COMMANDS[config]
    model = _model(path)
    raw: dict[str, Any] = OmegaConf.to_container(  # type: ignore[assignment]
        load_runner("compose").compose_config(config), resolve=False
    )
    assert set(raw) == set(model.model_fields)
    assert model.model_validate(raw) == model.model_validate({k: raw[k] for k in elsewhere})


def test_defaults_read_at_composition_and_overrides_apply(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(tmp_path))
    compose = load_runner("compose")
    judge = compose.compose_dict("judge", ["seed=7", "pairwise.pairs=all", "judge_model=openai"])
    assert judge["cache"]["path"] == str(tmp_path / "responses.sqlite")
    assert (judge["seed"], judge["pairwise"], judge["judge_model"]["model"]) == (
        7, {"baseline": None, "pairs": "all", "inconsistent": "tie"}, "gpt-4o-mini",
    )  # fmt: skip
    distill = compose.compose_dict("judge_distill", ["name=x", "student.head=ordinal"])
    assert distill["output"] == "reports/judges/x" and distill["student"]["head"] == "ordinal"
    assert distill["student"]["kind"] == "encoder_head" and set(distill["scale"]) == {
        "coherence", "consistency", "fluency", "relevance"}  # fmt: skip
    built = load_runner("data_build").compose_config(None, ["name=abc", "dedup.threshold=0.7"])
    assert built["output"] == "datasets/abc" and built["dedup"]["threshold"] == 0.7
    assert built["dedup"]["num_perm"] == 128 and built["inputs"] == []
    serve = compose.compose_dict("serve", ["port=9", "model.path=/x"], throw_on_missing=True)
    assert (serve["port"], serve["host"], serve["model"]["path"]) == (9, "127.0.0.1", "/x")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("judge", "RUN", "+foo=1"), "evalkit: error: judge config: foo: unknown field"),
        (("judge", "distill", "+foo=1"), "evalkit: error: invalid distill config: foo: unknown"),
        (("data", "build", "+foo=1"), "evalkit: error: data build config: +foo: unknown field"),
        (("serve", "model=replay", "+foo=1"), "evalkit: error: invalid serve config: foo: unknown"),
        (("serve", "model.path=/x", "port=-1"), "evalkit: error: invalid serve config: port: "),
    ],
)
def test_a_key_no_model_has_is_one_line_and_exit_2(args: tuple[str, ...], expected: str) -> None:
    done = cli_in_process(*args)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), lines
