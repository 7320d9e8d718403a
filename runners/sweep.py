"""Multirun sweeps (`evalkit run -m`): job directories, launcher checks, shipping jobs to other
processes, and the callback that merges every job's run into one leaderboard.

`SweepLeaderboard` is the Hydra callback conf/run.yaml names under `hydra.callbacks`.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from evalkit.errors import UserError

# Launchers that are Hydra plugins from the `sweeps` extra, and the module each needs.
LAUNCHER_PLUGINS = {
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


def ship_by_value() -> None:
    """Parallel launchers (joblib's loky, submitit) pickle the job function and the callbacks
    and unpickle them in another process, where this package, loaded by path, cannot be
    imported by name: cloudpickle ships it by value (every module of it) instead."""
    package = sys.modules[__name__.rpartition(".")[0]]
    for name in ("joblib.externals.cloudpickle", "cloudpickle"):
        try:
            pickler = importlib.import_module(name)
        except ImportError:
            continue
        register = getattr(pickler, "register_pickle_by_value", None)  # cloudpickle >= 2
        if callable(register):
            register(package)


def name_swept_only(overrides: list[str]) -> str:
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


def check_launcher(overrides: list[str]) -> None:
    """`launcher=joblib` without the sweeps extra: one line with the install command."""
    for override in OverridesParser.create().parse_overrides(overrides):
        if override.key_or_group != "launcher" or override.is_delete():
            continue
        values = (
            override.sweep_string_iterator() if override.is_sweep_override() else [override.value()]
        )
        for value in values:
            module = LAUNCHER_PLUGINS.get(str(value))
            if module is not None and importlib.util.find_spec(module) is None:
                raise UserError(
                    f'launcher={value} needs the sweeps extra: pip install "evalkit[sweeps]"'
                )


def first_of_sweeps(overrides: list[str]) -> list[str]:
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


class SweepLeaderboard:
    """Hydra calls every hook of a callback; only the end of a multirun does something here."""

    def on_run_start(self, config: Any, **kwargs: Any) -> None:
        return None

    def on_run_end(self, config: Any, **kwargs: Any) -> None:
        return None

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        return None

    def on_job_start(self, config: Any, **kwargs: Any) -> None:
        return None

    def on_job_end(self, config: Any, job_return: Any, **kwargs: Any) -> None:
        return None

    def on_compose_config(self, config: Any, **kwargs: Any) -> None:
        return None

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        from evalkit.report.leaderboard_export import write_leaderboard

        sweep_dir = Path(str(config.hydra.sweep.dir))
        runs = sorted(p.parent for p in sweep_dir.glob("*/run.json"))
        if not runs:
            return
        try:
            paths = write_leaderboard(runs, sweep_dir / "leaderboard")
        except UserError as exc:  # e.g. every job failed: the jobs already said why
            print(f"evalkit: sweep leaderboard skipped: {exc}", file=sys.stderr)
            return
        print(f"sweep leaderboard: {paths[0]}", file=sys.stderr)
