"""Compiled Jinja templates kept on disk between commands.

Compiling report.html.j2 took about 70 ms of every `evalkit run` (of a 1-second goal, issue 24).
Jinja's bucket checks its own version, Python's bytecode magic and the template's source
checksum, so a changed template or upgrade is recompiled, never served stale.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import jinja2
from jinja2.bccache import Bucket


def cache_dir() -> Path:
    """$EVALKIT_CACHE_DIR/templates (default ~/.cache/evalkit/templates), read at each use."""
    return Path(os.environ.get("EVALKIT_CACHE_DIR", "~/.cache/evalkit")).expanduser() / "templates"


class TemplateCache(jinja2.BytecodeCache):
    """A `jinja2.BytecodeCache` in `cache_dir()`: one file per template, written atomically
    (a temporary file renamed into place, so parallel sweep jobs never read half a file). A
    cache that cannot be read or written is skipped: the template is compiled as without one."""

    def _path(self, bucket: Bucket) -> Path:
        key = hashlib.sha256(bucket.key.encode("utf-8")).hexdigest()[:32]
        return cache_dir() / f"jinja-{key}.bin"

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            with self._path(bucket).open("rb") as handle:
                bucket.load_bytecode(handle)
        except Exception:  # unreadable or corrupt: compile afresh (a cache never fails a report)
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        path = self._path(bucket)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as handle:
                bucket.write_bytecode(handle)
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
