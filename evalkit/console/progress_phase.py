"""A phase of a run's progress display: its counter and summary lines, and the rich columns
that draw it in a terminal (evalkit.console.progress puts phases together)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.progress import ProgressColumn, Task, TaskID
from rich.text import Text

if TYPE_CHECKING:
    from evalkit.console.progress import RunProgress


def format_duration(seconds: float) -> str:
    """`0:01:05` (h:mm:ss), as rich prints elapsed times."""
    whole = max(0, round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def format_rate(done: float, elapsed: float, unit: str) -> str:
    """`12 samples/s`, or `3.5 s/sample` below one per second; `-` before anything is done."""
    if done <= 0 or elapsed <= 0:
        return f"- {unit}/s"
    speed = done / elapsed
    if speed < 1:
        return f"{1 / speed:,.1f} s/{unit.rstrip('s')}"
    return f"{speed:,.0f} {unit}/s"


def eta_seconds(done: float, total: float | None, elapsed: float) -> float | None:
    """Remaining seconds at the phase's average rate so far; None before the first update."""
    if total is None or done <= 0 or elapsed <= 0:
        return None
    return max(0.0, elapsed / done * (total - done))


def phase_eta(phase: Phase) -> float | None:
    """The ETA at the rate since the phase's first update, once a second one came: the time
    before the first update (models loading, the first batch) says little about the rest, and
    counted in it gave hours for a 3-minute demo. Before that, the average since the start."""
    first = phase.first_update
    if first is not None and phase.busy_s is None and phase.done > first[1]:
        since = phase.owner.clock() - first[0]
        return eta_seconds(
            phase.done - first[1], None if phase.total is None else phase.total - first[1], since
        )
    return eta_seconds(phase.done, phase.total, phase.elapsed)


class Phase:
    """A phase's counter. `advance` and `detail` may be called from any thread."""

    def __init__(
        self, owner: RunProgress, name: str, total: int | None, unit: str, parent: Phase | None
    ) -> None:
        self.owner = owner
        self.parent = parent
        self.children: list[Phase] = []
        self.busy_s: float | None = None  # a scorer row: seconds spent in it, not wall time
        self.name = name
        self.total = total
        self.unit = unit
        self.done = 0
        self.started = owner.clock()
        self.ended: float | None = None
        self.detail_text = ""
        self.first_update: tuple[float, int] | None = None  # (clock, done) at the first advance
        self.task_id: TaskID | None = None

    @property
    def elapsed(self) -> float:
        if self.busy_s is not None:
            return self.busy_s
        return (self.ended if self.ended is not None else self.owner.clock()) - self.started

    def add_work(self, n: int, seconds: float) -> None:
        """A row that counts work done in pieces (a scorer): n more items in `seconds`."""
        self.busy_s = (self.busy_s or 0.0) + seconds
        self.advance(n)

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._first_seen()
        self.owner.changed(self)

    def at_least(self, n: int) -> None:
        """Move the count up to n (when another measure of the same work is ahead)."""
        if n > self.done:
            self.done = n
            self._first_seen()
            self.owner.changed(self)

    def _first_seen(self) -> None:
        if self.first_update is None:
            self.first_update = (self.owner.clock(), self.done)

    def detail(self, text: str) -> None:
        """What the phase works on now (e.g. the scorer), shown next to its name."""
        self.detail_text = text
        self.owner.changed(self)

    def summary(self) -> str:
        """`score: 640/640 samples, 14 samples/s, done in 0:00:45 (rouge 2.1 s, ...)`."""
        count = f"{self.done:,}/{self.total:,}" if self.total is not None else f"{self.done:,}"
        parts = [f"{count} {self.unit}"] if self.total or self.done else []
        if self.done:
            parts.append(format_rate(self.done, self.elapsed, self.unit))
        parts.append(f"done in {format_duration(self.elapsed)}")
        line = f"{self.name}: " + ", ".join(parts)
        if self.children:
            line += " (" + ", ".join(f"{c.name} {c.elapsed:.1f} s" for c in self.children) + ")"
        return line

    def status_line(self) -> str:
        """The plain-mode line while running: counts, percent, rate, elapsed, ETA."""
        name = f"{self.name} [{self.detail_text}]" if self.detail_text else self.name
        parts = []
        if self.total:
            parts.append(f"{self.done:,}/{self.total:,} {self.unit} ({self.done / self.total:.0%})")
        elif self.done:
            parts.append(f"{self.done:,} {self.unit}")
        if self.done:
            parts.append(format_rate(self.done, self.elapsed, self.unit))
        parts.append(f"elapsed {format_duration(self.elapsed)}")
        if self.total:
            eta = phase_eta(self)
            parts.append(f"ETA {format_duration(eta)}" if eta is not None else "ETA -")
        return f"{name}: " + ", ".join(parts)


class CountColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        phase: Phase = task.fields["phase"]
        if phase.total is None:
            return Text(f"{phase.done:,} {phase.unit}" if phase.done else "")
        return Text(f"{phase.done:,}/{phase.total:,} {phase.unit}")


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        phase: Phase = task.fields["phase"]
        if not phase.done:
            return Text("")
        return Text(format_rate(phase.done, phase.elapsed, phase.unit), style="cyan")


class TimeColumn(ProgressColumn):
    """Elapsed while running (with the ETA), or the phase's total time once it ended."""

    def render(self, task: Task) -> Text:
        phase: Phase = task.fields["phase"]
        if phase.busy_s is not None:
            return Text(f"{phase.busy_s:.1f} s", style="green" if phase.ended else "yellow")
        elapsed = format_duration(phase.elapsed)
        if phase.ended is not None:
            return Text(f"done in {elapsed}", style="green")
        eta = phase_eta(phase)
        left = f"ETA {format_duration(eta)}" if eta is not None else "ETA -"
        return Text(f"{elapsed}  {left}" if phase.total else elapsed, style="yellow")
