"""Errors a user can cause. The CLI prints their message as one line and exits with status 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """Bad config, missing file, malformed data: something the user can fix, never a bug."""


class NotARunDirectory(UserError):
    """A folder given as a run directory holds no run.json (evalkit.analysis.rundir.open_run)."""

    def __init__(self, path: object) -> None:
        super().__init__(f"{path}: not a run directory (no run.json)")


class MissingExtra(UserError):
    """A component needs an optional dependency that is not installed; the message names the
    `pip install "evalkit[EXTRA]"` that brings it (evalkit.extras.needs_extra)."""


class ScorerRaised(UserError):
    """A plugin scorer's `score` raised: "scorer 'NAME' (SOURCE) raised TypeError: ...". The
    run stops, marked aborted with this reason (samples already written are kept); exit 2."""


class BackendRaised(UserError):
    """A plugin backend's `generate` raised instead of recording an error per sample:
    "backend 'NAME' (SOURCE) raised RuntimeError: ...". The run stops, marked aborted with this
    reason (the batches already scored are written); exit 2."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A ' (did you mean ...?)' suffix when a close match exists, else a list of valid names."""
    options = sorted(set(choices))
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (known: {', '.join(options)})" if options else ""
