"""SQLite response cache: identical requests to an identical backend are answered from disk.

The key hashes the backend signature (model id, revision/weights hash, quantisation, dtype; for
`hf` also the chat template's text and the tokenizer, model and generation config digests; for
`openai` the endpoint, logprobs and extra_body) together with the whole request (task, sample id,
messages including any system prompt, generation params including seed), so anything that can
change an output changes the key (tests/backends/test_hf_signature.py, test_cache_keys.py).
Failed generations are not stored, so a rerun retries them. WAL mode plus a busy timeout lets
parallel jobs share one cache file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

from evalkit.types import Generation, Request

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    generation TEXT NOT NULL,
    created_at REAL NOT NULL
)
"""


def cache_key(backend_signature: str, request: Request) -> str:
    payload = {"backend": backend_signature, "request": request.model_dump(mode="json")}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, path: Path) -> None:
        self.path = path.expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=60000")
        self._db.execute(_SCHEMA)

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
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(
                "INSERT OR REPLACE INTO responses (key, generation, created_at) VALUES (?, ?, ?)",
                rows,
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        self._db.close()
