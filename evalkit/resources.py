"""Where the built-in conf/, tasks/, judges/ and runners/ live.

In a checkout (and an editable install) they sit at the repository root, next to the package.
A wheel carries them inside the package as `evalkit/_builtin/<name>` (see pyproject.toml), so
both `pip install -e .` and `pip install .` find them through this one function.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def builtin_dir(name: str) -> Path:
    """The directory of built-in `conf`, `tasks`, `judges` or `runners`."""
    packaged = _PACKAGE_DIR / "_builtin" / name
    if packaged.is_dir():
        return packaged
    checkout = _PACKAGE_DIR.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"evalkit's built-in '{name}' directory is missing from this install")
