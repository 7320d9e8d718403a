"""SQLite response cache: identical requests to an identical backend are answered from disk.

The key hashes the backend signature (model id, revision/weights hash, quantisation, dtype; for
`hf` also the chat template's text and the tokenizer, model and generation config digests; for
`openai` the endpoint, logprobs and extra_body) together with the whole request (task, sample id,
messages including any system prompt, generation params including seed), so anything that can
change an output changes the key (tests/backends/test_hf_signature.py, test_cache_keys.py).
Failed generations are not stored, so a rerun retries them. WAL mode plus a busy timeout lets
parallel jobs share one cache file.

`look_up` and `CacheLookup.merge` (or `generate_cached`, both in one call) are evalkit's one
implementation of "cached or generate": the pipeline's generation stage, multi-turn conversations
and judge models (pointwise and pairwise) all ask a backend through them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from evalkit.errors import UserError
from evalkit.store.redact import redact_generation
from evalkit.types import Generation, Request

if TYPE_CHECKING:
    from evalkit.protocols import Backend

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    generation TEXT NOT NULL,
    created_at REAL NOT NULL
)
"""


logger = logging.getLogger(__name__)
_BUSY_TIMEOUT_S = 60.0


def _retry_while_locked(statement: Callable[[], object]) -> None:
    """Run `statement`, retrying for up to the busy timeout while the file is locked. Switching
    a new file to WAL needs the exclusive lock, and SQLite answers "database is locked" at once,
    without its busy handler, when several processes open one new cache together (parallel sweep
    jobs did: a job died at start-up)."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_S
    pause = 0.005
    while True:
        try:
            statement()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def cache_key(backend_signature: str, request: Request) -> str:
    payload = {"backend": backend_signature, "request": request.model_dump(mode="json")}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """The cache file at `path` (created with its folder when missing).

    Raises UserError (one line naming the file and what to change) when the file cannot be
    opened and written: a folder or a non-SQLite file at the path, a read-only file or folder, a
    cache directory that is a file. Checked when opened, before any request is sent."""

    def __init__(self, path: Path) -> None:
        self.path = path.expanduser()
        self._warned = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
            self._db.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_S * 1000)}")
            _retry_while_locked(lambda: self._db.execute("PRAGMA journal_mode=WAL"))
            self._db.execute("PRAGMA synchronous=NORMAL")
            _retry_while_locked(lambda: self._db.execute(_SCHEMA))
            self._db.execute("BEGIN IMMEDIATE")  # can it be written? (a read-only file opens)
            try:
                self._db.execute("DELETE FROM responses WHERE key = ''")
            finally:
                self._db.execute("ROLLBACK")
        except (sqlite3.Error, OSError) as exc:
            raise UserError(
                f"response cache {self.path}: cannot open it for writing ({exc}); set "
                "EVALKIT_CACHE_DIR or cache.path to a writable place, or cache.enabled=false"
            ) from None

    def get_many(self, keys: Sequence[str]) -> dict[str, Generation]:
        found: dict[str, Generation] = {}
        for start in range(0, len(keys), 500):  # stay under SQLite's bound-variable limit
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, generation FROM responses WHERE key IN ({marks})", chunk
            )
            for key, blob in rows:
                generation = Generation.model_validate_json(blob)
                if not generation.failed:  # an old entry now known to be a failure: ask again
                    found[key] = generation
        return found

    def put_many(self, entries: Sequence[tuple[str, Generation]]) -> None:
        now = time.time()
        rows = [(k, g.model_dump_json(), now) for k, g in entries if g.error is None]
        if not rows:
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:  # locked past the busy timeout, or made read-only since
            self._not_written(exc)
            return
        try:
            self._db.executemany(
                "INSERT OR REPLACE INTO responses (key, generation, created_at) VALUES (?, ?, ?)",
                rows,
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._db.execute("ROLLBACK")
            self._not_written(exc)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _not_written(self, exc: sqlite3.Error) -> None:
        """A failed cache write loses nothing of the run (its records hold the generations):
        one warning per cache, and the run goes on."""
        if not self._warned:
            self._warned = True
            logger.warning(
                "response cache %s: answers not stored (%s); the run goes on, its records "
                "keep them",
                self.path,
                exc,
            )

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        self._db.close()


@dataclass(frozen=True)
class CacheLookup:
    """What the cache holds of a list of requests: their keys (empty when there is no cache:
    every request goes to the backend), the cached answers by key, and the positions missing."""

    keys: list[str]
    cached: dict[str, Generation]
    missing: list[int]

    def merge(self, made: Sequence[Generation], cache: ResponseCache | None) -> list[Generation]:
        """One generation per request, in request order: `made` answers the missing positions
        (its error texts redacted; successful ones stored in `cache`), the rest come from the
        cache marked `cached=True`."""
        fresh = dict(zip(self.missing, [redact_generation(g) for g in made], strict=True))
        if not self.keys:
            return [fresh[i] for i in range(len(fresh))]
        if cache is not None:
            cache.put_many([(self.keys[i], g) for i, g in fresh.items()])
        return [
            fresh[i] if i in fresh else self.cached[k].model_copy(update={"cached": True})
            for i, k in enumerate(self.keys)
        ]


def look_up(
    cache: ResponseCache | None, signature: str, requests: Sequence[Request]
) -> CacheLookup:
    """The cache's answers to `requests` asked of the backend with `signature`; without a cache
    every request is missing."""
    if cache is None:
        return CacheLookup([], {}, list(range(len(requests))))
    keys = [cache_key(signature, r) for r in requests]
    cached = cache.get_many(keys)
    return CacheLookup(keys, cached, [i for i, k in enumerate(keys) if k not in cached])


def generate_cached(
    backend: Backend, cache: ResponseCache | None, requests: Sequence[Request]
) -> list[Generation]:
    """One generation per request: from the cache where there, else from the backend (asked
    once, for the missing ones only; error texts redacted; successful answers cached)."""
    lookup = look_up(cache, backend.signature(), requests)
    made = backend.generate([requests[i] for i in lookup.missing]) if lookup.missing else []
    return lookup.merge(made, cache)
