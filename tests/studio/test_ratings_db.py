"""The SQLite ratings store: WAL, one transaction per judgment, replace-not-duplicate, undo, skip,
and nothing stored for a rating off the scale or a forged item id."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from evalkit.store.ratings_db import Item, RatingError, RatingsDB
from evalkit.studio.items import item_id


def _items(n: int) -> list[Item]:
    out = []
    for i in range(n):
        out.append(
            Item(item_id("point", "t", f"s{i}", "m1", None), i, "point", "run", "t", f"s{i}",
                 "m1", None, f"prompt {i}", "ref", f"out {i}", None)
        )  # fmt: skip
    for i in range(n):
        out.append(
            Item(item_id("pair", "t", f"s{i}", "m1", "m2"), n + i, "pair", "run", "t", f"s{i}",
                 "m1", "m2", f"prompt {i}", "ref", f"a {i}", f"b {i}")
        )  # fmt: skip
    return out


@pytest.fixture
def db(tmp_path: Path) -> RatingsDB:
    store = RatingsDB(tmp_path / "studio.sqlite")
    store.add_items(_items(5))
    store.add_annotator("ann")
    return store


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:  # a separate connection sees only committed rows
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_wal_mode_and_each_rating_is_committed_at_once(db: RatingsDB) -> None:
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    first = db.next_item("ann", "point")
    assert first is not None and first.sample_id == "s0"
    db.rate("ann", first.id, "overall_quality", 7, (1, 10))
    assert _count(db.path, "ratings") == 1
    nxt = db.next_item("ann", "point")
    assert nxt is not None and nxt.sample_id == "s1"


def test_resubmitting_replaces_and_never_duplicates(db: RatingsDB) -> None:
    item = db.next_item("ann", "point")
    assert item is not None
    for score in (3, 4, 9):
        db.rate("ann", item.id, "overall_quality", score, (1, 10))
    assert db.ratings() == [("ann", item.id, "overall_quality", 9)]
    pair = db.next_item("ann", "pair")
    assert pair is not None
    db.vote("ann", pair.id, "A", "m2")
    db.vote("ann", pair.id, "B", "m2")
    assert db.votes() == [("ann", pair.id, "m2", "m1", "B", "m1")]


@pytest.mark.parametrize("score", [0, 11, -1, 5.5, True, "7"])
def test_a_rating_off_the_scale_is_refused_and_nothing_is_stored(db: RatingsDB, score) -> None:
    item = db.next_item("ann", "point")
    assert item is not None
    with pytest.raises(RatingError, match=r"off the rubric 'overall_quality' scale 1\.\.10"):
        db.rate("ann", item.id, "overall_quality", score, (1, 10))
    assert _count(db.path, "ratings") == 0


def test_forged_or_wrong_kind_item_ids_are_refused(db: RatingsDB) -> None:
    with pytest.raises(RatingError, match="unknown item id") as exc:
        db.rate("ann", "0" * 20, "q", 3, (1, 5))
    assert exc.value.status == 404
    pair = db.next_item("ann", "pair")
    assert pair is not None
    with pytest.raises(RatingError, match="is a pair item"):
        db.rate("ann", pair.id, "q", 3, (1, 5))
    with pytest.raises(RatingError, match="not one of"):
        db.vote("ann", pair.id, "A", "m3")
    with pytest.raises(RatingError, match="expected A, B or tie"):
        db.vote("ann", pair.id, "C", "m1")
    with pytest.raises(RatingError, match="unknown annotator"):
        db.vote("nobody", pair.id, "A", "m1")
    assert _count(db.path, "ratings") + _count(db.path, "votes") == 0


def test_the_vote_records_sides_and_winner(db: RatingsDB) -> None:
    pair = db.next_item("ann", "pair")
    assert pair is not None
    db.vote("ann", pair.id, "tie", "m1")
    assert db.votes() == [("ann", pair.id, "m1", "m2", "tie", None)]


def test_skip_and_undo(db: RatingsDB) -> None:
    s0 = db.next_item("ann", "point")
    assert s0 is not None
    db.rate("ann", s0.id, "q", 2, (1, 5))
    s1 = db.next_item("ann", "point")
    assert s1 is not None
    db.skip("ann", s1.id, "point")
    s2 = db.next_item("ann", "point")
    assert s2 is not None and s2.sample_id == "s2"
    assert db.progress("ann", "point") == {"total": 5, "judged": 1, "skipped": 1}
    assert db.undo("ann", "point") == s1.id  # the skip, the latest
    assert db.next_item("ann", "point") == s1
    assert db.undo("ann", "point") == s0.id
    assert db.ratings() == []
    assert db.undo("ann", "point") is None
    assert db.undo("ann", "pair") is None


def test_undo_is_per_kind_and_per_annotator(db: RatingsDB) -> None:
    db.add_annotator("other")
    point, pair = db.next_item("ann", "point"), db.next_item("ann", "pair")
    assert point is not None and pair is not None
    db.rate("ann", point.id, "q", 2, (1, 5))
    db.vote("ann", pair.id, "A", "m1")
    db.rate("other", point.id, "q", 5, (1, 5))
    assert db.undo("ann", "point") == point.id
    assert db.ratings() == [("other", point.id, "q", 5)]
    assert len(db.votes()) == 1


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "studio.sqlite"
    setup = RatingsDB(path)
    setup.add_items(_items(40))
    for name in ("a", "b", "c", "d"):
        setup.add_annotator(name)

    def worker(name: str) -> None:
        db = RatingsDB(path)
        while (item := db.next_item(name, "point")) is not None:
            db.rate(name, item.id, "q", 3, (1, 5))
        db.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b", "c", "d")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _count(path, "ratings") == 160
    with sqlite3.connect(path) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM (SELECT DISTINCT annotator, item_id FROM ratings)"
            ).fetchone()[0]
            == 160
        )


def test_a_file_that_is_not_a_database_is_a_user_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.sqlite"
    bad.write_text("not sqlite at all " * 100)
    from evalkit.errors import UserError

    with pytest.raises(UserError, match="not a ratings database"):
        RatingsDB(bad)
