"""Hydra entry point of `evalkit run`: compose conf/, validate, run, report, print the run dir.

Kept thin on purpose (design.md): everything below `main` is library code that never sees Hydra.
`preflight` composes the config once before Hydra takes over, so that a bad override ends in one
clear line and exit status 2 rather than Hydra's multi-line error and status 1.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from evalkit.abort import RunFailed
from evalkit.config import RunConfig, display_name
from evalkit.errors import UserError, did_you_mean
from evalkit.logs import block_torchao, configure_logging, needs_torchao, verbosity_from_env
from evalkit.redact import redact
from evalkit.resources import builtin_dir
from evalkit.session import finish_run
from evalkit.store import hold_run_dir

CONF_DIR = builtin_dir("conf")
CONFIG_NAME = "run"

# `${evalkit_or:${run_dir},default}`: the value unless it is null (oc.select only covers missing).
if not OmegaConf.has_resolver("evalkit_or"):
    OmegaConf.register_new_resolver(
        "evalkit_or", lambda value, default: default if value is None else value
    )

# `${evalkit_model_name:${model.name},${model.backend},...}`: the model's display name for the
# run directory, the same as RunConfig derives when model.name is null.
if not OmegaConf.has_resolver("evalkit_model_name"):
    OmegaConf.register_new_resolver(
        "evalkit_model_name",
        lambda name, backend, path, model: (
            name if name is not None else display_name(backend, {"path": path, "model": model})
        ),
    )

# Launchers that are Hydra plugins from the `sweeps` extra, and the module each needs.
_LAUNCHER_PLUGINS = {
    "joblib": "hydra_plugins.hydra_joblib_launcher",
    "slurm": "hydra_plugins.hydra_submitit_launcher",
    "submitit_local": "hydra_plugins.hydra_submitit_launcher",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.=,+@-]+")


def job_dirname(num: object, swept: object, model: object) -> str:
    """A sweep job's subdirectory: `<num>_<swept key=value,...>` (e.g. `1_limit=20`), or
    `<num>_<model>` when nothing varies; characters a path should not hold become `_`."""
    label = _UNSAFE.sub("_", str(swept or "")).strip("_")[:120] or str(model)
    return f"{num}_{label}"


if not OmegaConf.has_resolver("evalkit_jobdir"):
    OmegaConf.register_new_resolver("evalkit_jobdir", job_dirname)


@hydra.main(config_path=str(CONF_DIR), config_name=CONFIG_NAME, version_base="1.3")
def main(cfg: DictConfig) -> None:
    try:
        run_dir = Path(HydraConfig.get().runtime.output_dir)
        configure_logging(verbosity_from_env(), run_dir / "run.log")
        config = _validated(cfg, run_dir)
        if not needs_torchao([config.model.options, config.scorers]):
            block_torchao()
        if verbosity_from_env() < 0:
            config = config.model_copy(update={"progress": False})
        finish_run(config, run_dir)
    except UserError as exc:
        print(f"evalkit: error: {redact(str(exc))}", file=sys.stderr)
        sys.exit(2)
    except RunFailed as exc:  # some samples failed (fail_on_errors), or the run was aborted
        print(f"evalkit: error: {redact(str(exc))}", file=sys.stderr)
        sys.exit(exc.exit_status)


def _validated(cfg: DictConfig, run_dir: Path | None) -> RunConfig:
    data: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    data["run_dir"] = str(run_dir) if run_dir else None
    return RunConfig.from_dict(data)


def launch(overrides: list[str]) -> None:
    """Hand the command line to Hydra (it handles -m, --cfg, --help and the launchers)."""
    if any(arg in ("-m", "--multirun") for arg in overrides):
        overrides = [*overrides, _name_swept_only(overrides)]
    sys.argv = ["evalkit run", *overrides]
    main()


def _name_swept_only(overrides: list[str]) -> str:
    """Job directories name the swept values only: the other overrides (the same in every job)
    are left out of `hydra.job.override_dirname`."""
    plain = [a for a in overrides if not a.startswith("-")]
    fixed = sorted(
        {
            o.get_key_element()
            for o in OverridesParser.create().parse_overrides(plain)
            if not o.is_sweep_override()
        }
    )
    return f"hydra.job.config.override_dirname.exclude_keys=[{','.join(fixed)}]"


def _check_launcher(overrides: list[str]) -> None:
    """`launcher=joblib` without the sweeps extra: one line with the install command."""
    for override in OverridesParser.create().parse_overrides(overrides):
        if override.key_or_group != "launcher" or override.is_delete():
            continue
        values = (
            override.sweep_string_iterator() if override.is_sweep_override() else [override.value()]
        )
        for value in values:
            module = _LAUNCHER_PLUGINS.get(str(value))
            if module is not None and importlib.util.find_spec(module) is None:
                raise UserError(
                    f'launcher={value} needs the sweeps extra: pip install "evalkit[sweeps]"'
                )


def _first_of_sweeps(overrides: list[str]) -> list[str]:
    """For a multirun, the overrides of its first job (enough to catch unknown keys/options)."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    first = []
    for override in parsed:
        if override.is_sweep_override():
            value = next(iter(override.sweep_string_iterator()))
            first.append(f"{override.get_key_element()}={value}")
        else:
            first.append(override.input_line or "")
    return first


def _check_group_options(overrides: list[str]) -> None:
    for override in OverridesParser.create().parse_overrides(overrides):
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


def _first_line(exc: BaseException) -> str:
    """Hydra often wraps the useful message in the exception's cause."""
    while exc is not None:
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        if lines:
            hint = [line for line in lines[1:2] if line.startswith("To append")]
            return " ".join(lines[:1] + hint)
        exc = exc.__cause__  # type: ignore[assignment]
    return "could not compose the configuration"


def compose_run_config(overrides: list[str], run_dir: Path) -> RunConfig:
    """The validated RunConfig of one (non-multirun) command line, without launching Hydra:
    for library callers such as the pytest plugin."""
    _check_group_options(overrides)
    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            cfg = compose(CONFIG_NAME, overrides=overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        raise UserError(f"invalid override: {_first_line(exc)}") from None
    return _validated(cfg, run_dir)


def preflight(overrides: list[str]) -> Path | None:
    """Compose and validate the config of (the first job of) this command line; for a single
    run into a named run_dir, take its lock now (store.hold_run_dir): before Hydra writes
    `.hydra/` and run.log there and before any task or model is loaded, so a run_dir in use is
    refused at once with nothing written. Returns the run_dir held (release_run_dir gives it
    back), else None."""
    if any(arg.startswith("-") and arg not in ("-m", "--multirun") for arg in overrides):
        return None  # Hydra's own flags (--help, --cfg, ...) are Hydra's business
    plain = [arg for arg in overrides if arg not in ("-m", "--multirun")]
    try:
        _check_launcher(plain)
        _check_group_options(plain)
        with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
            cfg = compose(CONFIG_NAME, overrides=_first_of_sweeps(plain))
    except (HydraException, OmegaConfBaseException) as exc:
        raise UserError(f"invalid override: {_first_line(exc)}") from None
    run_dir = cfg.get("run_dir")  # checked now: Hydra creates it before `main` runs
    _validated(cfg, Path(run_dir) if run_dir else None)
    if not run_dir or len(plain) != len(overrides):  # a sweep's jobs have directories of their own
        return None
    hold_run_dir(Path(run_dir))
    return Path(run_dir)
