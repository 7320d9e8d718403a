"""The end of a Hydra multirun sweep: every job's run gets merged into one leaderboard.

`SweepLeaderboard` is a Hydra callback (conf/run.yaml names it under `hydra.callbacks`); Hydra only
calls its methods, so this module needs no Hydra import (the library never imports Hydra).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from evalkit.errors import UserError


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
        from evalkit.leaderboard_export import write_leaderboard

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
