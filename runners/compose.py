"""The one place a runner composes a config from conf/ and translates Hydra's errors.

Hydra and OmegaConf report a bad override in several lines, often with the useful one in the
exception's cause; every command turns that into one line, `evalkit: error: <prefix>: <line>`,
and exit status 2 (evalkit.errors.UserError).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import import_module
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from evalkit.errors import UserError, did_you_mean
from evalkit.resources import builtin_dir

CONF_DIR = builtin_dir("conf")
COMPOSE_ERRORS = (HydraException, OmegaConfBaseException)
# The pydantic model of each command's settings (module, class): it gives their defaults.
COMMAND_MODELS = {
    "run": ("evalkit.config", "RunConfig"),
    "judge": ("evalkit.judging.command", "JudgeConfig"),
    "judge_distill": ("evalkit.distill.config", "DistillConfig"),
    "data_build": ("evalkit.databuild.config", "DataBuildConfig"),
    "serve": ("evalkit.app.serve", "ServeConfig"),
}


def defaults_node(config_name: str) -> str:
    """The name of the config node holding a command's defaults (`evalkit_judge_defaults`), the
    first entry of conf/<config_name>.yaml's defaults list."""
    return f"evalkit_{config_name}_defaults"


def group_keys(config_name: str) -> set[str]:
    """The config groups conf/<config_name>.yaml's defaults list chooses an option of (`model`,
    `judge_model`; not Hydra's own `override hydra/...`): keys the groups give, not the model."""
    listed = OmegaConf.to_container(OmegaConf.load(CONF_DIR / f"{config_name}.yaml"))
    entries = listed.get("defaults", []) if isinstance(listed, dict) else []
    return {
        str(key).split("@")[0]
        for entry in entries
        if isinstance(entry, dict)
        for key in entry
        if not str(key).startswith("override ")
    }


def store_defaults(config_name: str) -> None:
    """The settings of a command and their defaults, from its pydantic model (COMMAND_MODELS:
    the one place they are given) as the config node its defaults list starts with; the keys
    that are config groups come from their groups. Stored anew before each composition: a
    default may read the environment ($EVALKIT_CACHE_DIR)."""
    from hydra.core.config_store import ConfigStore

    from evalkit.config import settings_defaults

    module, name = COMMAND_MODELS[config_name]
    defaults = settings_defaults(getattr(import_module(module), name))
    groups = group_keys(config_name)
    node = {k: v for k, v in defaults.items() if k not in groups}
    ConfigStore.instance().store(name=defaults_node(config_name), node=node)


def first_line(exc: BaseException) -> str:
    """The message of `exc` or of the first cause that has one, in one line (with Hydra's 'To
    append to your config use +key=value' hint when it follows)."""
    current: BaseException | None = exc
    while current is not None:
        lines = [line.strip() for line in str(current).strip().splitlines() if line.strip()]
        if lines:
            hint = [line for line in lines[1:2] if line.startswith("To append")]
            return " ".join(lines[:1] + hint)
        current = current.__cause__
    return "could not compose the configuration"


@contextmanager
def compose_errors(prefix: str = "invalid override") -> Iterator[None]:
    """Hydra's and OmegaConf's errors inside become `UserError('<prefix>: <first line>')`."""
    try:
        yield
    except COMPOSE_ERRORS as exc:
        raise UserError(f"{prefix}: {first_line(exc)}") from None


def check_group_options(overrides: Sequence[str]) -> None:
    """`model=hff`: a UserError naming the config group's options (with a close match), which
    Hydra would report in many lines."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    for override in OverridesParser.create().parse_overrides(list(overrides)):
        group_dir = CONF_DIR / override.key_or_group
        if not group_dir.is_dir() or override.is_delete():
            continue
        known = sorted(p.stem for p in group_dir.glob("*.yaml"))
        values = (
            override.sweep_string_iterator() if override.is_sweep_override() else [override.value()]
        )
        for value in values:
            if isinstance(value, str) and value not in known:
                raise UserError(
                    f"override '{override.input_line}': no option '{value}' in config group "
                    f"'{override.key_or_group}'{did_you_mean(value, known)}"
                )


def compose_config(
    config_name: str, overrides: Sequence[str] = (), prefix: str = "invalid override"
) -> DictConfig:
    """conf/<config_name>.yaml with `overrides` (Hydra's grammar) applied, unresolved."""
    if config_name in COMMAND_MODELS:
        store_defaults(config_name)
    with compose_errors(prefix), initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose(config_name, overrides=list(overrides))


def to_plain(
    cfg: Any, prefix: str = "invalid override", *, throw_on_missing: bool = False
) -> dict[str, Any]:
    """A composed config as a plain dict, interpolations resolved; a failed interpolation or a
    missing value (`throw_on_missing`) or a top level that is not a mapping is a UserError."""
    with compose_errors(prefix):
        data = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=throw_on_missing)
    if not isinstance(data, dict):
        raise UserError(f"{prefix}: the top level must be a mapping")
    return {str(k): v for k, v in data.items()}


def compose_dict(
    config_name: str,
    overrides: Sequence[str] = (),
    *,
    prefix: str = "invalid override",
    throw_on_missing: bool = False,
) -> dict[str, Any]:
    """`compose_config`, then `to_plain`: what a command's pydantic model validates."""
    cfg = compose_config(config_name, overrides, prefix)
    return to_plain(cfg, prefix, throw_on_missing=throw_on_missing)
