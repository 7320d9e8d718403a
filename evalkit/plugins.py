"""Third-party components checked against the plugin contract and given its defaults, once.

A backend or scorer that inherits `BackendDefaults` / `ScorerDefaults` (every built-in; a scorer
subclassing `ReferenceScorer`) already has every optional capability of its protocol and is used
as it is. One that implements the protocol structurally (a plain class with `name`, `signature()`
and `generate` / `score` + `aggregate`) is wrapped here: the wrapper reads each optional
capability the plugin declares (`concurrent_batches`, `estimate`, `prepare`, `corpus_value`, ...)
when it is built, and the default of `evalkit.protocols` for the others. So the pipeline's stages
read capabilities directly, and this module is the only place that looks at what a plugin has.

A component that lacks a required member is refused with one UserError naming it and the member.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from evalkit.errors import UserError
from evalkit.protocols import Backend, BackendDefaults, ScoredItem, Scorer, ScorerDefaults
from evalkit.types import Aggregate, Generation, Request, Score

if TYPE_CHECKING:
    from evalkit.scorers.embedding import EmbeddingSimilarity

BACKEND_REQUIRED = ("signature", "generate")  # methods; `name` is checked on each backend
SCORER_REQUIRED = ("signature", "score", "aggregate")  # methods; `name`, `metrics` on each scorer
CONTRACT = "see 'A custom scorer (or backend, or task) as a plugin' in README.md"


def missing_methods(target: object, required: Sequence[str]) -> list[str]:
    """The required methods that `target` (a class or an instance) does not have."""
    return [m for m in required if not callable(getattr(target, m, None))]


def refuse(what: str, problem: str) -> UserError:
    return UserError(f"{what} does not follow the plugin contract: {problem} ({CONTRACT})")


class AdaptedBackend(BackendDefaults):
    """A structural plugin backend with every optional capability of `Backend` filled in."""

    def __init__(self, inner: Any, described: str | None = None) -> None:
        self.inner = inner
        self.name = str(inner.name)
        self.described = described or f"backend '{self.name}' ({_qualified(inner)})"
        self.concurrent_batches = int(getattr(inner, "concurrent_batches", 1))
        self.cacheable = _flag(inner, "cacheable", True)
        self.runs_inline = _flag(inner, "runs_inline", False)
        self.failure_guard = getattr(inner, "failure_guard", None)
        self.estimate = _optional_method(inner, "estimate")
        self.report = _optional_method(inner, "report")
        self._close = _optional_method(inner, "close")

    def signature(self) -> str:
        return str(self.inner.signature())

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        return list(self.inner.generate(requests))

    def close(self) -> None:
        if self._close is not None:
            self._close()


class AdaptedScorer(ScorerDefaults):
    """A structural plugin scorer with every optional capability of `Scorer` filled in."""

    def __init__(self, inner: Any, described: str | None = None) -> None:
        self.inner = inner
        self.name = str(inner.name)
        self.described = described or f"scorer '{self.name}' ({_qualified(inner)})"
        self.metrics = tuple(inner.metrics)
        self.cpu_heavy = _flag(inner, "cpu_heavy", True)
        self.memoize = _flag(inner, "memoize", True)
        self.higher_is_better = _flag(inner, "higher_is_better", True)
        self.counts_truncated = _flag(inner, "counts_truncated", False)
        self.scale = getattr(inner, "scale", None)
        self.prepare = _optional_method(inner, "prepare")
        self.corpus_value = _optional_method(inner, "corpus_value")
        self.corpus_formula = _optional_method(inner, "corpus_formula")
        self._embedders = _optional_method(inner, "sentence_embedders")
        self._close = _optional_method(inner, "close")

    def signature(self) -> str:
        return str(self.inner.signature())

    def score(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        return list(self.inner.score(items))

    def aggregate(
        self,
        metric: str,
        scores: Sequence[Score],
        *,
        task: str,
        model: str,
        seed: int,
        n_resamples: int = 1000,
    ) -> Aggregate:
        result: Aggregate = self.inner.aggregate(
            metric, scores, task=task, model=model, seed=seed, n_resamples=n_resamples
        )
        return result

    def sentence_embedders(self) -> list[EmbeddingSimilarity]:
        return list(self._embedders()) if self._embedders is not None else []

    def close(self) -> None:
        if self._close is not None:
            self._close()


def _qualified(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def check_scored(
    scored: object, n_items: int, metrics: Callable[[int], Sequence[str]] | None = None
) -> None:
    """Raise TypeError unless `scored` (what a plugin's `score` returned) is one list (or
    tuple) of `Score` objects per item, each list naming every metric `metrics(position)` gives
    once and no other: a missing score would leave its sample out of the metric's n without
    counting it as failed, and an unknown one would be dropped unseen."""
    if not isinstance(scored, list | tuple) or len(scored) != n_items:
        size = len(scored) if isinstance(scored, list | tuple) else type(scored).__name__
        raise TypeError(f"score() returned {size} score lists for {n_items} items")
    for position, scores in enumerate(scored):
        if not isinstance(scores, list | tuple):
            wrong: object = scores
        elif all(isinstance(s, Score) for s in scores):
            expected = sorted(metrics(position)) if metrics is not None else []
            names = sorted(s.name for s in scores)
            if metrics is None or names == expected:
                continue
            raise TypeError(
                f"score() must give each item one score per metric {expected}; item "
                f"{position + 1} has {names} (a failed one is a Score with status 'error')"
            )
        else:
            wrong = next(s for s in scores if not isinstance(s, Score))
        raise TypeError(
            f"score() must return a list of evalkit.types.Score per item; item {position + 1} "
            f"has {type(wrong).__name__} {repr(wrong)[:60]}"
        )


def check_generated(made: object, n_requests: int) -> None:
    """Raise TypeError unless `made` (what a plugin's `generate` returned) is one `Generation`
    per request."""
    if not isinstance(made, list | tuple) or len(made) != n_requests:
        size = len(made) if isinstance(made, list | tuple) else type(made).__name__
        raise TypeError(f"generate() returned {size} generations for {n_requests} requests")
    for generation in made:
        if not isinstance(generation, Generation):
            raise TypeError(
                f"generate() must return an evalkit.types.Generation per request; got "
                f"{type(generation).__name__} {repr(generation)[:60]}"
            )


def plugin_backend(backend: object) -> str | None:
    """ "backend 'NAME' (SOURCE)" when `backend` is a third-party one (an adapted plain class,
    or a class defined outside evalkit); None for evalkit's own backends."""
    if isinstance(backend, AdaptedBackend):
        return backend.described
    if type(backend).__module__.startswith("evalkit."):
        return None
    return f"backend '{getattr(backend, 'name', '?')}' ({_qualified(backend)})"


def plugin_scorer(scorer: object) -> str | None:
    """ "scorer 'NAME' (SOURCE)" when `scorer` is (or wraps, through evalkit's wrappers'
    `inner`) a third-party scorer: an adapted plain class, or a class defined outside evalkit;
    None for evalkit's own scorers."""
    seen: object = scorer
    for _ in range(8):  # wrappers nest a few deep at most
        if isinstance(seen, AdaptedScorer):
            return seen.described
        if not type(seen).__module__.startswith("evalkit."):
            return f"scorer '{getattr(seen, 'name', '?')}' ({_qualified(seen)})"
        inner = seen.__dict__.get("inner") if hasattr(seen, "__dict__") else None
        if inner is None or not callable(getattr(inner, "score", None)):
            return None
        seen = inner
    return None


BACKEND_FLAGS = ("cacheable", "runs_inline")
SCORER_FLAGS = ("cpu_heavy", "memoize", "higher_is_better", "counts_truncated")


def _flag(obj: object, name: str, default: bool) -> bool:
    """A declared yes/no capability: an attribute, a property, or (read kindly) a method that
    takes no argument. Raises TypeError for a method that cannot be called so."""
    found = getattr(obj, name, default)
    if not callable(found):
        return bool(found)
    try:
        return bool(found())
    except Exception as exc:
        raise TypeError(
            f"its `{name}` must be a yes/no attribute (calling it raised "
            f"{type(exc).__name__}: {exc})"
        ) from None


def _read_flags(obj: object, names: Sequence[str], what: str) -> None:
    """An object inheriting evalkit's defaults that declares a capability as a method gets the
    method's value as an attribute, so that the pipeline reads a yes/no (a bound method would
    read as yes)."""
    for name in names:
        if callable(getattr(obj, name, None)):
            try:
                setattr(obj, name, _flag(obj, name, False))
            except TypeError as exc:
                raise refuse(what, str(exc)) from None


def _optional_method(obj: object, name: str) -> Callable[..., Any] | None:
    found = getattr(obj, name, None)
    return found if callable(found) else None


def _check_signature(obj: object, what: str) -> None:
    """Call `obj.signature()` once, before any run uses it: raising, or returning anything but a
    non-empty string, is a UserError naming `what` (it keys the cache and run.json)."""
    try:
        signature = cast(Any, obj).signature()  # present: checked by missing_methods
    except (Exception, SystemExit) as exc:  # SystemExit: a plugin's sys.exit()
        raise refuse(what, f"its signature() raised {type(exc).__name__}: {exc}") from None
    if not isinstance(signature, str) or not signature:
        raise refuse(what, f"its signature() returned {signature!r}, not a non-empty string")


def adapt_backend(obj: object, what: str) -> Backend:
    """`obj` as a Backend: itself when it inherits the defaults, else wrapped. Raises UserError
    naming `what` (e.g. "backend 'echo' (pkg.mod:factory)") when a required member is missing."""
    missing = missing_methods(obj, BACKEND_REQUIRED)
    if missing:
        raise refuse(what, f"it made a backend without {missing[0]}()")
    if not isinstance(getattr(obj, "name", None), str):
        raise refuse(what, "it made a backend whose `name` is not a string")
    _check_signature(obj, what)
    if isinstance(obj, BackendDefaults):
        _read_flags(obj, BACKEND_FLAGS, what)
        return obj  # type: ignore[return-value]  # checked above; the rest are its defaults
    try:
        return AdaptedBackend(obj, what)
    except TypeError as exc:
        raise refuse(what, str(exc)) from None


def adapt_scorer(obj: object, what: str) -> Scorer:
    """`obj` as a Scorer: itself when it inherits the defaults, else wrapped. Raises UserError
    naming `what` when a required member is missing."""
    missing = missing_methods(obj, SCORER_REQUIRED)
    if missing:
        raise refuse(what, f"it made a scorer without {missing[0]}()")
    if not isinstance(getattr(obj, "name", None), str):
        raise refuse(what, "its `name` is not a string")
    metrics = getattr(obj, "metrics", None)
    if (
        not isinstance(metrics, Sequence)
        or isinstance(metrics, str)
        or not metrics
        or not all(isinstance(m, str) for m in metrics)
    ):
        raise refuse(what, "its `metrics` is not a non-empty tuple of names")
    _check_signature(obj, what)
    if isinstance(obj, ScorerDefaults):
        _read_flags(obj, SCORER_FLAGS, what)
        return obj  # type: ignore[return-value]  # checked above; the rest are its defaults
    try:
        return AdaptedScorer(obj, what)
    except TypeError as exc:
        raise refuse(what, str(exc)) from None
