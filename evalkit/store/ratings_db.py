"""The ratings store: one SQLite file (WAL mode) per studio.

Tables: `annotators`; `items` (a stable id, its kind `point` or `pair`, the run, task, sample id,
model(s) and the texts shown); `ratings` (pointwise: rubric and an integer score on its scale);
`votes` (pairwise: which model was shown on the left, the choice A/B/tie and the winning model);
`skips`. Each judgment is written in its own transaction (committed before the call returns), keyed
by (annotator, item): re-submitting replaces, never duplicates. Every judgment takes the next
value of a counter, so `undo` removes an annotator's latest one.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from evalkit.errors import UserError

ItemKind = Literal["point", "pair"]
Choice = Literal["A", "B", "tie"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS annotators (
    name TEXT PRIMARY KEY, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY, ord INTEGER NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('point','pair')),
    run TEXT NOT NULL, task TEXT NOT NULL, sample_id TEXT NOT NULL,
    model_a TEXT NOT NULL, model_b TEXT, prompt TEXT NOT NULL, reference TEXT NOT NULL,
    output_a TEXT NOT NULL, output_b TEXT);
CREATE INDEX IF NOT EXISTS items_by_kind ON items (kind, ord);
CREATE TABLE IF NOT EXISTS ratings (
    annotator TEXT NOT NULL REFERENCES annotators(name), item_id TEXT NOT NULL REFERENCES items(id),
    rubric TEXT NOT NULL, score INTEGER NOT NULL, seq INTEGER NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (annotator, item_id));
CREATE TABLE IF NOT EXISTS votes (
    annotator TEXT NOT NULL REFERENCES annotators(name), item_id TEXT NOT NULL REFERENCES items(id),
    left_model TEXT NOT NULL, right_model TEXT NOT NULL,
    choice TEXT NOT NULL CHECK (choice IN ('A','B','tie')), winner TEXT,
    seq INTEGER NOT NULL, at REAL NOT NULL, PRIMARY KEY (annotator, item_id));
CREATE TABLE IF NOT EXISTS skips (
    annotator TEXT NOT NULL REFERENCES annotators(name), item_id TEXT NOT NULL REFERENCES items(id),
    seq INTEGER NOT NULL, at REAL NOT NULL, PRIMARY KEY (annotator, item_id));
CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
INSERT OR IGNORE INTO counter VALUES (1, 0);
"""


class RatingError(ValueError):
    """A judgment that cannot be stored (off the scale, unknown item, wrong kind); `status` is
    the HTTP status the server answers with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Item:
    id: str
    ord: int
    kind: ItemKind
    run: str
    task: str
    sample_id: str
    model_a: str
    model_b: str | None
    prompt: str
    reference: str
    output_a: str
    output_b: str | None


_ITEM_COLUMNS = (
    "id, ord, kind, run, task, sample_id, model_a, model_b, prompt, reference, output_a, output_b"
)


class RatingsDB:
    """One connection per instance. The server uses one from its event loop only (async
    endpoints), so calls never overlap; other processes or threads open their own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.parent.is_dir():
            raise UserError(f"{path}: its folder does not exist")
        try:
            self.conn = sqlite3.connect(
                path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise UserError(f"{path}: not a ratings database ({exc})") from None

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT: the write lock is taken up front, so two annotators'
        writes are serialised and neither sees a half-written judgment."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # --- setup -------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, values: dict[str, str]) -> None:
        with self.transaction() as c:
            c.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())

    def add_items(self, items: Iterable[Item]) -> int:
        """Insert items not yet stored (same id: kept as is); returns how many are stored now."""
        with self.transaction() as c:
            c.executemany(
                f"INSERT OR IGNORE INTO items ({_ITEM_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    (i.id, i.ord, i.kind, i.run, i.task, i.sample_id, i.model_a, i.model_b,
                     i.prompt, i.reference, i.output_a, i.output_b)
                    for i in items
                ),
            )  # fmt: skip
        return int(self.conn.execute("SELECT count(*) FROM items").fetchone()[0])

    def add_annotator(self, name: str) -> None:
        name = name.strip()
        if not name or len(name) > 64:
            raise RatingError("an annotator name needs 1 to 64 characters")
        with self.transaction() as c:
            c.execute("INSERT OR IGNORE INTO annotators VALUES (?, ?)", (name, time.time()))

    def annotators(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM annotators ORDER BY created")]

    # --- reading -----------------------------------------------------------------------------

    def item(self, item_id: str) -> Item:
        row = self.conn.execute(
            f"SELECT {_ITEM_COLUMNS} FROM items WHERE id = ?", (item_id,)
        ).fetchone()
        if row is None:
            raise RatingError(f"unknown item id '{item_id[:80]}'", status=404)
        return Item(*row)

    def next_item(self, annotator: str, kind: ItemKind) -> Item | None:
        """The first item of `kind` (in run order) this annotator has neither judged nor skipped."""
        row = self.conn.execute(
            f"SELECT {_ITEM_COLUMNS} FROM items i WHERE kind = ? "
            "AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.annotator = ? AND r.item_id = i.id) "
            "AND NOT EXISTS (SELECT 1 FROM votes v WHERE v.annotator = ? AND v.item_id = i.id) "
            "AND NOT EXISTS (SELECT 1 FROM skips s WHERE s.annotator = ? AND s.item_id = i.id) "
            "ORDER BY ord LIMIT 1",
            (kind, annotator, annotator, annotator),
        ).fetchone()
        return None if row is None else Item(*row)

    def page(self, kind: ItemKind, offset: int, limit: int) -> list[Item]:
        rows = self.conn.execute(
            f"SELECT {_ITEM_COLUMNS} FROM items WHERE kind = ? ORDER BY ord LIMIT ? OFFSET ?",
            (kind, limit, offset),
        )
        return [Item(*r) for r in rows]

    def progress(self, annotator: str, kind: ItemKind) -> dict[str, int]:
        """{"total", "judged", "skipped"} for one annotator and kind of item."""
        table = "ratings" if kind == "point" else "votes"
        total = self.conn.execute("SELECT count(*) FROM items WHERE kind = ?", (kind,)).fetchone()
        judged = self.conn.execute(
            f"SELECT count(*) FROM {table} WHERE annotator = ?", (annotator,)
        ).fetchone()
        skipped = self.conn.execute(
            "SELECT count(*) FROM skips s JOIN items i ON i.id = s.item_id "
            "WHERE s.annotator = ? AND i.kind = ?",
            (annotator, kind),
        ).fetchone()
        return {"total": int(total[0]), "judged": int(judged[0]), "skipped": int(skipped[0])}

    def ratings(self) -> list[tuple[str, str, str, int]]:
        """(annotator, item id, rubric, score) for every pointwise rating."""
        rows = self.conn.execute("SELECT annotator, item_id, rubric, score FROM ratings")
        return [(str(a), str(i), str(r), int(s)) for a, i, r, s in rows]

    def votes(self) -> list[tuple[str, str, str, str, str, str | None]]:
        """(annotator, item id, left model, right model, choice, winner or None for a tie)."""
        rows = self.conn.execute(
            "SELECT annotator, item_id, left_model, right_model, choice, winner FROM votes"
        )
        return [tuple(r) for r in rows]

    # --- writing: one transaction each -------------------------------------------------------

    def _judgeable(self, annotator: str, item_id: str, kind: ItemKind) -> Item:
        if annotator not in self.annotators():
            raise RatingError(f"unknown annotator '{annotator[:64]}'", status=404)
        item = self.item(item_id)
        if item.kind != kind:
            raise RatingError(f"item '{item_id}' is a {item.kind} item, not a {kind} item")
        return item

    def _next_seq(self, c: sqlite3.Connection) -> int:
        c.execute("UPDATE counter SET seq = seq + 1 WHERE id = 1")
        return int(c.execute("SELECT seq FROM counter WHERE id = 1").fetchone()[0])

    def rate(
        self, annotator: str, item_id: str, rubric: str, score: int, scale: tuple[int, int]
    ) -> None:
        """Store (or replace) a pointwise rating. Raises RatingError (nothing stored) for a score
        off `scale` (inclusive), an unknown item or annotator, or a pair item."""
        self._judgeable(annotator, item_id, "point")
        if (
            isinstance(score, bool)
            or not isinstance(score, int)
            or not (scale[0] <= score <= scale[1])
        ):
            raise RatingError(
                f"score {score!r} is off the rubric '{rubric}' scale {scale[0]}..{scale[1]}"
            )
        with self.transaction() as c:
            c.execute("DELETE FROM skips WHERE annotator = ? AND item_id = ?", (annotator, item_id))
            c.execute(
                "INSERT OR REPLACE INTO ratings VALUES (?, ?, ?, ?, ?, ?)",
                (annotator, item_id, rubric, score, self._next_seq(c), time.time()),
            )

    def vote(self, annotator: str, item_id: str, choice: str, left_model: str) -> None:
        """Store (or replace) a pairwise vote: `choice` is A (left), B (right) or tie, as shown;
        `left_model` is the model that was shown on the left (the server's side assignment)."""
        item = self._judgeable(annotator, item_id, "pair")
        if choice not in ("A", "B", "tie"):
            raise RatingError(f"choice {choice!r}: expected A, B or tie")
        models = (item.model_a, item.model_b)
        if left_model not in models:
            raise RatingError(f"model {left_model!r} is not one of item '{item_id}'s pair")
        right = item.model_b if left_model == item.model_a else item.model_a
        assert right is not None
        winner = {"A": left_model, "B": right, "tie": None}[choice]
        with self.transaction() as c:
            c.execute("DELETE FROM skips WHERE annotator = ? AND item_id = ?", (annotator, item_id))
            c.execute(
                "INSERT OR REPLACE INTO votes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (annotator, item_id, left_model, right, choice, winner, self._next_seq(c),
                 time.time()),
            )  # fmt: skip

    def skip(self, annotator: str, item_id: str, kind: ItemKind) -> None:
        self._judgeable(annotator, item_id, kind)
        with self.transaction() as c:
            for table in ("ratings", "votes"):
                c.execute(
                    f"DELETE FROM {table} WHERE annotator = ? AND item_id = ?", (annotator, item_id)
                )
            c.execute(
                "INSERT OR REPLACE INTO skips VALUES (?, ?, ?, ?)",
                (annotator, item_id, self._next_seq(c), time.time()),
            )

    def undo(self, annotator: str, kind: ItemKind) -> str | None:
        """Remove this annotator's latest judgment or skip on an item of `kind`; returns its item
        id (served next again), or None when there is nothing to undo."""
        with self.transaction() as c:
            latest: tuple[int, str, str] | None = None
            for table in ("ratings", "votes", "skips"):
                row = c.execute(
                    f"SELECT t.seq, t.item_id FROM {table} t JOIN items i ON i.id = t.item_id "
                    "WHERE t.annotator = ? AND i.kind = ? ORDER BY t.seq DESC LIMIT 1",
                    (annotator, kind),
                ).fetchone()
                if row is not None and (latest is None or row[0] > latest[0]):
                    latest = (int(row[0]), str(row[1]), table)
            if latest is None:
                return None
            c.execute(
                f"DELETE FROM {latest[2]} WHERE annotator = ? AND item_id = ?",
                (annotator, latest[1]),
            )
            return latest[1]


DB_NAME = "studio.sqlite"


def open_db(source: Path) -> RatingsDB:
    """A ratings database given as its file or as the run directory that holds studio.sqlite."""
    path = source / DB_NAME if source.is_dir() else source
    if not path.is_file():
        raise UserError(f"{path}: no ratings database (start one with `evalkit studio RUN_DIR`)")
    return RatingsDB(path)
