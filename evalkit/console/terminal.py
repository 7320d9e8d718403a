"""The consoles commands print to: results on stdout, messages on stderr."""

from __future__ import annotations

import os

from rich.console import Console


def results_console() -> Console:
    """stdout; 100 columns when piped (the tables are made to fit), else the terminal's width.

    Markup is off: model, task and metric names are the user's text, and `served [v1]` or a
    CI `[nan, nan]` must print as written, never be read as a style tag. Style with
    `rich.text.Text`, never with markup."""
    console = Console(markup=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(width=100, markup=False)
    return console


def stderr_console() -> Console:
    """stderr, markup off for the same reason as `results_console`."""
    return Console(stderr=True, markup=False)
