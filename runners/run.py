"""Hydra entry point of `evalkit run`: compose conf/, validate, run, report, print the run dir.

Kept thin on purpose (design.md): everything below `main` is library code that never sees Hydra.
`preflight` composes the config before anything runs, so that a bad override ends in one clear
line and exit status 2 rather than Hydra's multi-line error and status 1. A single run is then
launched with that same composition (`launch`; composing takes a few hundred milliseconds, and
Hydra's own entry point composes twice more); sweeps (-m) and Hydra's flags (--cfg, --help, ...)
go through Hydra's entry point, which composes each job's config itself.
"""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
from hydra._internal.callbacks import Callbacks
from hydra._internal.hydra import Hydra
from hydra._internal.utils import create_config_search_path, run_and_report
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import configure_log, run_job
from hydra.types import HydraContext, RunMode
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from evalkit.abort import RunFailed
from evalkit.app.session import finish_run
from evalkit.config import RunConfig, display_name
from evalkit.console.logs import block_torchao, configure_logging, needs_torchao, verbosity_from_env
from evalkit.errors import UserError
from evalkit.store.redact import redact
from evalkit.store.run_store import hold_run_dir

from .compose import (
    CONF_DIR,
    check_group_options,
    compose_config,
    compose_errors,
    store_defaults,
)
from .sweep import check_launcher, first_of_sweeps, job_dirname, name_swept_only, ship_by_value

CONFIG_NAME = "run"
__all__ = ["job_dirname", "launch", "main", "preflight"]

# `${evalkit_or:${run_dir},default}`: the value unless it is null or empty (`run_dir=` on the
# command line: not given, rather than the current directory); oc.select only covers missing.
if not OmegaConf.has_resolver("evalkit_or"):
    OmegaConf.register_new_resolver(
        "evalkit_or",
        lambda value, default: (
            default if value is None or (isinstance(value, str) and not value.strip()) else value
        ),
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


def run_job_config(cfg: DictConfig) -> None:
    """One job: `cfg` is the composed config without its `hydra` node (HydraConfig holds that)."""
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


main = hydra.main(config_path=str(CONF_DIR), config_name=CONFIG_NAME, version_base="1.3")(
    run_job_config
)


def _validated(cfg: DictConfig, run_dir: Path | None) -> RunConfig:
    data: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    data["run_dir"] = str(run_dir) if run_dir else None
    return RunConfig.from_dict(data)


@dataclass
class Preflight:
    """What `preflight` found: the run_dir it holds (None: none), and for a single run the
    composed config (with its `hydra` node) and the Hydra instance that composed it, which
    `launch` runs without composing again (None: Hydra's entry point composes)."""

    held: Path | None = None
    composed: DictConfig | None = None
    hydra: Hydra | None = None


def launch(overrides: list[str], prepared: Preflight | None = None) -> None:
    """Run the command line: a single run with the config `preflight` composed; anything else
    through Hydra's entry point (it handles -m, --cfg, --help and the launchers)."""
    if prepared is not None and prepared.composed is not None and prepared.hydra is not None:
        try:
            _run_composed(prepared.hydra, prepared.composed)
        finally:
            GlobalHydra.instance().clear()
        return
    if any(arg in ("-m", "--multirun") for arg in overrides):
        ship_by_value()  # for launchers that run jobs in other processes
        overrides = [*overrides, name_swept_only(overrides)]
    sys.argv = ["evalkit run", *overrides]
    store_defaults(CONFIG_NAME)
    main()


def _run_composed(hydra_app: Hydra, cfg: DictConfig) -> None:
    """What Hydra's entry point does for a single run (hydra._internal.hydra.Hydra.run, Hydra
    1.3), from an already composed config: log set-up, callbacks, the job (its directory,
    `.hydra/`, HydraConfig), and a failed job reported by `run_and_report` (exit status 1)."""
    configure_log(cfg.hydra.hydra_logging, cfg.hydra.verbose)

    def run() -> None:
        callbacks = Callbacks(cfg)
        callbacks.on_run_start(config=cfg, config_name=CONFIG_NAME)
        ret = run_job(
            hydra_context=HydraContext(config_loader=hydra_app.config_loader, callbacks=callbacks),
            task_function=run_job_config,
            config=cfg,
            job_dir_key="hydra.run.dir",
            job_subdir_key=None,
            configure_logging=True,
        )
        callbacks.on_run_end(config=cfg, config_name=CONFIG_NAME, job_return=ret)
        _ = ret.return_value  # raises the job's exception, if it failed

    run_and_report(run)


def compose_run_config(overrides: list[str], run_dir: Path) -> RunConfig:
    """The validated RunConfig of one (non-multirun) command line, without launching Hydra:
    for library callers such as the pytest plugin."""
    check_group_options(overrides)
    return _validated(compose_config(CONFIG_NAME, overrides), run_dir)


def preflight(overrides: list[str]) -> Preflight:
    """Compose and validate the config of (the first job of) this command line; for a single
    run into a named run_dir, take its lock now (store.hold_run_dir): before Hydra writes
    `.hydra/` and run.log there and before any task or model is loaded, so a run_dir in use is
    refused at once with nothing written. Returns the run_dir held (release_run_dir gives it
    back; None if none) and, for a single run, the composition `launch` runs."""
    if any(arg.startswith("-") and arg not in ("-m", "--multirun") for arg in overrides):
        return Preflight()  # Hydra's own flags (--help, --cfg, ...) are Hydra's business
    plain = [arg for arg in overrides if arg not in ("-m", "--multirun")]
    single = len(plain) == len(overrides) and not any(a.startswith("hydra.mode") for a in plain)
    with compose_errors():
        check_launcher(plain)
        check_group_options(plain)
        if single:
            hydra_app, full = _compose_single(plain)
            cfg = _without_hydra(full)
        else:
            cfg = compose_config(CONFIG_NAME, first_of_sweeps(plain))
    try:
        run_dir = cfg.get("run_dir")  # checked now: Hydra creates it before `main` runs
        if isinstance(run_dir, str) and not run_dir.strip():  # blank: not given (evalkit_or)
            run_dir = None
        _validated(cfg, Path(run_dir) if run_dir else None)
        if not single:  # a sweep's jobs have directories of their own
            return Preflight()
        if run_dir:
            hold_run_dir(Path(run_dir))
    except BaseException:
        if single:
            GlobalHydra.instance().clear()
        raise
    return Preflight(Path(run_dir) if run_dir else None, full, hydra_app)


def _compose_single(overrides: list[str]) -> tuple[Hydra, DictConfig]:
    """The whole config of a single run, `hydra` node included, composed as Hydra's entry point
    does (run mode, `hydra.mode=RUN` appended); GlobalHydra stays initialized for `launch`
    (cleared here on failure)."""
    GlobalHydra.instance().clear()
    store_defaults(CONFIG_NAME)
    hydra_app = Hydra.create_main_hydra2("run", create_config_search_path(str(CONF_DIR)))
    try:
        cfg = hydra_app.compose_config(
            CONFIG_NAME, [*overrides, "hydra.mode=RUN"], run_mode=RunMode.RUN, from_shell=False
        )
    except BaseException:
        GlobalHydra.instance().clear()
        raise
    return hydra_app, cfg


def _without_hydra(cfg: DictConfig) -> DictConfig:
    """The job's view of a composed config: a copy without the `hydra` node (as `run_job` and
    `compose` give it)."""
    task = copy.deepcopy(cfg)
    with read_write(task), open_dict(task):
        del task["hydra"]
    return task
