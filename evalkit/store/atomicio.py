"""Crash-safe file writes: temp file in the same directory, fsync, rename, fsync the directory.

A reader (or a resumed run) therefore sees either the old file or the new one, never half of it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from evalkit.errors import UserError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def ensure_dir(path: Path) -> Path:
    """Make the folder `path` and its missing parents, as every evalkit output does.

    Raises UserError (one line, naming the path) when `path` or a parent is an existing file or
    the folder cannot be made (permissions, read-only file system)."""
    for folder in (path, *path.parents):
        if folder.exists() and not folder.is_dir():
            raise UserError(f"{folder}: is an existing file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{path}: cannot create the folder ({exc.strerror or exc})") from None
    return path


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` all at once (`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` all at once, making missing parent folders.

    A path that is not a regular file (a device, a pipe, /dev/stdout) is written through, not
    replaced; a symbolic link is followed and its target written (created when the link dangles),
    as the shell's `>` does, so the link stays. UserError (one line naming the path and the
    reason) when a parent is a file, `path` is a folder, or the write fails (OSError)."""
    try:
        _write_bytes(path, data)
    except OSError as exc:
        raise UserError(f"{path}: cannot write ({exc.strerror or exc})") from None


def _write_bytes(path: Path, data: bytes) -> None:
    try:
        mode = os.stat(path).st_mode  # follows links: /dev/stdout -> the terminal or a pipe
    except OSError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        with open(path, "wb") as handle:  # a device or pipe: no rename possible or wanted
            handle.write(data)
        return
    if path.is_symlink():
        path = Path(os.path.realpath(path))  # replace the target, keep the link
    ensure_dir(path.parent)
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not a file")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the file ordinary permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
