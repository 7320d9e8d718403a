"""An example evalkit plugin: the `word_recall` scorer, the `echo` backend, the `plugin_qa` task."""

from __future__ import annotations

from pathlib import Path


def plugin_qa_task() -> Path:
    """The folder of the `plugin_qa` task (entry point group `evalkit.tasks.task`)."""
    return Path(__file__).parent / "tasks" / "plugin_qa"
