"""One progress display for a run's phases, on stderr so stdout stays clean for results.

A run goes through phases (generate, score, aggregate, analyse, report); each shows its count,
rate, elapsed time and an ETA from its first update (elapsed / done x remaining, so one batch is
enough). Scorers get a row each under `score`, with the items they scored and their seconds.

- In a terminal: a live rich display; finished phases stay on screen.
- Elsewhere (CI logs, a pipe): plain lines, one every `interval_s` seconds while a phase runs
  (from a ticker thread, so a phase blocked in one long batch still reports) or at each 10% of
  its total (at most one per 2 s), and one when it ends. No redrawn bar, no control characters.

Every finished phase is also logged to the `evalkit.console.progress` logger at INFO (so run.log
has it).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

from evalkit.console.progress_phase import (
    CountColumn,
    Phase,
    RateColumn,
    TimeColumn,
    eta_seconds,
    format_duration,
    format_rate,
)

__all__ = [
    "Phase",
    "ProgressReporter",
    "RunProgress",
    "eta_seconds",
    "format_duration",
    "format_rate",
]

logger = logging.getLogger("evalkit.console.progress")

Clock = Callable[[], float]
_MIN_GAP_S = 2.0  # plain mode: a 10% step prints only this long after the previous line


class RunProgress:
    """The progress display of one run (a context manager); `phase(...)` opens each phase.

    `interactive=None` decides from whether the console is a terminal. `clock` and
    `interval_s` are for plain mode's rhythm (tests pass a fake clock and `ticker=False`).
    """

    def __init__(
        self,
        *,
        enabled: bool = True,
        interactive: bool | None = None,
        stream: TextIO | None = None,
        interval_s: float = 10.0,
        clock: Clock = time.monotonic,
        ticker: bool = True,
        width: int | None = None,
    ) -> None:
        self.enabled = enabled
        self.clock = clock
        self.interval_s = interval_s
        self._console = Console(file=stream or sys.stderr, width=width, stderr=stream is None)
        self.interactive = self._console.is_terminal if interactive is None else interactive
        self._stream = stream
        self._lock = threading.Lock()
        self._phases: list[Phase] = []
        self._last_line: dict[int, tuple[float, int]] = {}  # id(phase) -> (time, tenth)
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._use_ticker = ticker
        self._live: Progress | None = None
        if enabled and self.interactive:
            self._live = Progress(
                SpinnerColumn(finished_text="[green]✓"),
                TextColumn("{task.description}", markup=False),
                BarColumn(bar_width=24),
                CountColumn(),
                RateColumn(),
                TimeColumn(),
                console=self._console,
            )

    def __enter__(self) -> RunProgress:
        if self._live is not None:
            self._live.start()
        elif self.enabled and self._use_ticker:
            self._ticker = threading.Thread(target=self._tick, daemon=True, name="evalkit-progress")
            self._ticker.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=1)
        if self._live is not None:
            self._live.stop()

    @contextmanager
    def phase(self, name: str, total: int | None = None, unit: str = "samples") -> Iterator[Phase]:
        """A phase from `with` to its end; `total=None` for a step without a count."""
        current = self.start_phase(name, total, unit)
        try:
            yield current
        except BaseException:
            self.end_phase(current, failed=True)
            raise
        self.end_phase(current)

    def start_phase(
        self,
        name: str,
        total: int | None = None,
        unit: str = "samples",
        *,
        parent: Phase | None = None,
    ) -> Phase:
        """Open a phase (or, with `parent`, a row under it that ends with it)."""
        current = Phase(self, name, total, unit, parent)
        with self._lock:
            if parent is not None:
                parent.children.append(current)
            else:
                self._phases.append(current)
            self._last_line[id(current)] = (current.started, 0)
        if self._live is not None:
            label = f"  {name}" if parent is not None else name
            current.task_id = self._live.add_task(label, total=total, phase=current)
        return current

    def scorer_rows(
        self, parent: Phase, scorers_by_task: Mapping[str, Sequence[str]]
    ) -> Callable[[str, int, float], None]:
        """A row per scorer under `parent` (items scored, seconds spent), and the callback that
        feeds them: `(scorer, items, seconds)` after each scorer's part of a batch. The parent
        moves on by each scorer's share of a sample (1 / the task's scorers), so its rate and
        ETA show before the first whole batch is scored."""
        rows: dict[str, Phase] = {}
        share: dict[str, float] = {}
        for names in scorers_by_task.values():
            for name in names:
                if name not in rows:
                    rows[name] = self.start_phase(name, None, "items", parent=parent)
                share[name] = min(share.get(name, 1.0), 1 / len(names))
        scored = [0.0]

        def on_scored(name: str, items: int, seconds: float) -> None:
            rows[name].add_work(items, seconds)
            scored[0] += items * share[name]
            cap = parent.total if parent.total is not None else int(scored[0])
            parent.at_least(min(int(scored[0]), cap))

        return on_scored

    def end_phase(self, current: Phase, *, failed: bool = False) -> None:
        """End a phase (and its rows); ending it again does nothing. A failed phase (an
        exception is on its way to the user) is closed without a summary line."""
        if current.ended is not None:
            return
        for child in current.children:
            self.end_phase(child, failed=failed)
        current.ended = self.clock()
        if failed:
            with self._lock:
                if current in self._phases:
                    self._phases.remove(current)
            if self._live is not None and current.task_id is not None:
                self._live.remove_task(current.task_id)
            return
        if current.total is not None and current.done > current.total:
            current.total = current.done
        if current.parent is None:
            logger.info(current.summary())
        if self._live is not None and current.task_id is not None:
            total = current.total if current.total is not None else max(current.done, 1)
            self._live.update(current.task_id, total=total, completed=total)
        elif self.enabled and current.parent is None:
            self._write(current.summary())
        with self._lock:
            if current in self._phases:
                self._phases.remove(current)

    def changed(self, current: Phase) -> None:
        if self._live is not None and current.task_id is not None:
            self._live.update(current.task_id, completed=current.done)
            return
        if not self.enabled or current.parent is not None:
            return
        now = self.clock()
        last_time, last_tenth = self._last_line.get(id(current), (current.started, 0))
        tenth = int(10 * current.done / current.total) if current.total else 0
        steady = now - last_time >= self.interval_s
        if steady or (tenth > last_tenth and now - last_time >= _MIN_GAP_S):
            self._last_line[id(current)] = (now, tenth)
            self._write(current.status_line())

    def _tick(self) -> None:
        while not self._stop.wait(min(1.0, self.interval_s)):
            now = self.clock()
            with self._lock:
                running = [p for p in self._phases if p.ended is None]
            for current in running:
                last_time, tenth = self._last_line.get(id(current), (current.started, 0))
                if now - last_time >= self.interval_s:
                    self._last_line[id(current)] = (now, tenth)
                    self._write(current.status_line())

    def _write(self, line: str) -> None:
        stream = self._stream or sys.stderr
        stream.write(line + "\n")
        stream.flush()


class ProgressReporter:
    """A single-phase display (judging, data building, distillation folds)."""

    def __init__(
        self,
        total: int | None,
        *,
        enabled: bool = True,
        label: str = "evaluating",
        unit: str = "samples",
    ) -> None:
        """`total=None`: a stream of unknown length (counts and rate, no bar end)."""
        self._progress = RunProgress(enabled=enabled and total != 0)
        self._label = label
        self._total = total
        self._unit = unit
        self._phase: Phase | None = None

    def __enter__(self) -> ProgressReporter:
        self._progress.__enter__()
        self._phase = self._progress.start_phase(self._label, self._total, self._unit)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._phase is not None:
            self._progress.end_phase(self._phase, failed=exc_type is not None)
        self._progress.__exit__(exc_type, exc, tb)

    def advance(self, n: int) -> None:
        if self._phase is not None:
            self._phase.advance(n)
