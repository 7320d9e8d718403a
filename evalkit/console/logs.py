"""CLI logging: evalkit's own lines on stderr, third-party noise in run.log only.

evalkit modules log through `logging.getLogger(__name__)` (the `evalkit` hierarchy). The CLI calls
`configure_logging` once per process (and each run again, with its run directory):

- stderr shows evalkit's records at the chosen verbosity (`-q`: errors, default: warnings, `-v`:
  info, `-vv`: debug) and other libraries' records only from ERROR up (everything with `-vv`);
- `RUN_DIR/run.log` holds evalkit's records from INFO up (DEBUG with `-vv`) and other libraries'
  warnings (sacrebleu's "forgot to detokenize", Python `warnings`), so nothing is lost.

Third-party progress bars (tqdm: sentence-transformers' "Batches", transformers' "Loading
weights", huggingface_hub downloads) are switched off through the variables those libraries read
when they are imported; a variable the user set is left alone.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

VERBOSITY_ENV = "EVALKIT_VERBOSITY"
"""-2..2; set by the CLI so that sweep jobs in other processes log like their parent."""
RUN_LOG_ENV = "EVALKIT_RUN_LOG"
"""The run.log of the run in progress, for the scoring worker processes it spawns."""

_CONSOLE_LEVELS = {-2: logging.CRITICAL, -1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}
_QUIET_ENV = {
    "TQDM_DISABLE": "1",  # tqdm's default for `disable` (bars that pass disable= explicitly aside)
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # huggingface_hub and transformers ("Loading weights")
    "TRANSFORMERS_VERBOSITY": "error",  # transformers logs through its own stderr handler
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}
# Libraries that decide on a progress bar or chatter from their logger's level.
_QUIET_LOGGERS = ("sentence_transformers", "transformers", "huggingface_hub", "torchao", "urllib3")
_HANDLER_MARK = "_evalkit_handler"


def clamp_verbosity(verbose: int, quiet: int) -> int:
    """`-v` counts up, `-q` counts down; the result is in -2..2."""
    return max(-2, min(2, verbose - quiet))


def verbosity_from_env() -> int:
    try:
        return clamp_verbosity(int(os.environ.get(VERBOSITY_ENV, "0")), 0)
    except ValueError:
        return 0


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time (a live progress display redirects it)."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


class _ConsoleFormatter(logging.Formatter):
    """`evalkit: warning: ...` for evalkit's warnings and errors, the bare message for its info;
    other libraries' records are prefixed with their logger's name."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and record.levelno >= logging.ERROR:
            message += "\n" + self.formatException(record.exc_info)
        ours = record.name == "evalkit" or record.name.startswith("evalkit.")
        if ours and record.levelno < logging.WARNING:
            return message
        who = "evalkit" if ours else record.name
        return f"{who}: {record.levelname.lower()}: {message}"


class _ConsoleFilter(logging.Filter):
    """evalkit's records at the console level; other libraries' only from ERROR up."""

    def __init__(self, verbosity: int) -> None:
        super().__init__()
        self.level = _CONSOLE_LEVELS.get(verbosity, logging.DEBUG)
        self.everything = verbosity >= 2

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "evalkit" or record.name.startswith("evalkit."):
            return record.levelno >= self.level
        return self.everything or record.levelno >= max(self.level, logging.ERROR)


class _FileFilter(logging.Filter):
    """evalkit's INFO lines (DEBUG at -vv) and other libraries' warnings."""

    def __init__(self, verbosity: int) -> None:
        super().__init__()
        self.evalkit_level = logging.DEBUG if verbosity >= 2 else logging.INFO

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "evalkit" or record.name.startswith("evalkit."):
            return record.levelno >= self.evalkit_level
        return record.levelno >= logging.WARNING


def quiet_third_party() -> None:
    """Switch off third-party progress bars and advisory chatter (before those libraries load)."""
    for name, value in _QUIET_ENV.items():
        os.environ.setdefault(name, value)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def block_torchao() -> None:
    """Keep transformers from importing torchao (it does so at import time whenever torchao is
    installed, printing "Failed to load ..._C_..." and torch pytree warnings). Only local models
    quantized on a GPU need torchao; call this for any other run."""
    if "torchao" not in sys.modules:
        sys.modules["torchao"] = None  # type: ignore[assignment]  # find_spec -> None


def adopt_torch_logging() -> None:
    """torch writes its loggers' records through stderr handlers of its own that do not
    propagate (`W1202 ... torch/utils/_pytree.py:630] ...` when torchao registers its enums): once
    torch is imported, hand them to evalkit's handlers instead (console from ERROR, run.log from
    WARNING). Left alone when the user asked torch for its logs (TORCH_LOGS)."""
    if "torch" not in sys.modules or os.environ.get("TORCH_LOGS"):
        return
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if not isinstance(logger, logging.Logger) or name.split(".")[0] != "torch":
            continue
        own = [h for h in logger.handlers if type(h) is logging.StreamHandler]
        for handler in own:
            logger.removeHandler(handler)
        if own:
            logger.propagate = True


def needs_torchao(options: Iterable[Any]) -> bool:
    """Whether any of these option trees (model, scorers) asks for a quantized local model."""
    for value in options:
        if isinstance(value, dict):
            if value.get("quantization") in ("int8", "int4"):
                return True
            if needs_torchao(value.values()):
                return True
        elif isinstance(value, list | tuple) and needs_torchao(value):
            return True
    return False


_FLAG_LEVELS = {"-v": 1, "-vv": 2, "--verbose": 1, "-q": -1, "-qq": -2, "--quiet": -1}


def split_verbosity_flags(args: Iterable[str]) -> tuple[list[str], int]:
    """`evalkit run -v limit=5`: take -v/-vv/--verbose/-q/--quiet out of the Hydra overrides."""
    rest, level = [], 0
    for arg in args:
        if arg in _FLAG_LEVELS:
            level += _FLAG_LEVELS[arg]
        else:
            rest.append(arg)
    return rest, level


def configure_logging(verbosity: int, run_log: Path | None = None) -> None:
    """Replace the root logger's handlers (Hydra's included) with evalkit's console and file ones.

    `verbosity`: -2..2 (see the module docstring). `run_log`: the file to append to, or None.
    """
    quiet_third_party()
    # `warnings.warn` -> the "py.warnings" logger -> run.log. Off first: captureWarnings(True)
    # does nothing while an earlier hook is recorded, even one a `warnings.catch_warnings` block
    # has since replaced (an in-process run inside pytest's per-test warning capture).
    logging.captureWarnings(False)
    logging.captureWarnings(True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler).__module__.startswith("_pytest"):
            continue  # pytest's log capture stays
        root.removeHandler(handler)
        if getattr(handler, _HANDLER_MARK, False) or isinstance(handler, logging.FileHandler):
            handler.close()
    root.setLevel(logging.DEBUG if verbosity >= 2 else logging.INFO)
    logging.getLogger("evalkit").setLevel(logging.DEBUG if verbosity >= 2 else logging.INFO)
    console = _StderrHandler()
    console.setFormatter(_ConsoleFormatter())
    console.addFilter(_ConsoleFilter(verbosity))
    setattr(console, _HANDLER_MARK, True)
    root.addHandler(console)
    if run_log is None:
        os.environ.pop(RUN_LOG_ENV, None)
    else:
        os.environ[RUN_LOG_ENV] = str(run_log)
        run_log.parent.mkdir(parents=True, exist_ok=True)
        file = logging.FileHandler(run_log, encoding="utf-8")
        file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        file.addFilter(_FileFilter(verbosity))
        setattr(file, _HANDLER_MARK, True)
        root.addHandler(file)


def configure_worker_logging() -> None:
    """In a scoring worker process of a CLI run: log like the parent (console filter, run.log),
    so a library's warning in a worker (sacrebleu's) reaches run.log, not the console. Outside a
    CLI run (no run.log announced) the worker's logging is left alone."""
    run_log = os.environ.get(RUN_LOG_ENV)
    if run_log:
        configure_logging(verbosity_from_env(), Path(run_log))
