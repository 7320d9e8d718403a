"""Review items from a finished run, read through the run read model
(`evalkit.analysis.rundir.open_run`).

A pointwise item is one model's output for one sample; a pairwise item is two models' outputs for
the same sample (every pair of models with a usable output, in the run's model order). Failed
generations (status error or empty) are not offered for review. An item's id is a hash of what it
is (kind, task, sample id, models), so the same run gives the same ids in every studio database.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from evalkit.analysis.rundir import open_run
from evalkit.errors import UserError
from evalkit.store.ratings_db import Item, ItemKind, RatingsDB
from evalkit.types import FAILED_STATUSES, SampleRecord


def item_id(kind: ItemKind, task: str, sample_id: str, model_a: str, model_b: str | None) -> str:
    key = "\x00".join([kind, task, sample_id, model_a, model_b or ""])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def _prompt(record: SampleRecord) -> str:
    return "\n\n".join(m.content for m in record.request.messages if m.role != "assistant")


def _usable(records: list[SampleRecord]) -> list[SampleRecord]:
    return [r for r in records if r.generation.status not in FAILED_STATUSES]


def build_items(run_dir: Path) -> Iterator[Item]:
    """Point items first (task, sample, model order of the run), then pair items."""
    records = _usable(open_run(run_dir).stored_records)
    models = list(dict.fromkeys(r.model for r in records))
    by_sample: dict[tuple[str, str], dict[str, SampleRecord]] = defaultdict(dict)
    for r in sorted(records, key=lambda r: (r.task, r.index)):
        by_sample[(r.task, r.sample_id)][r.model] = r
    run = str(run_dir.resolve())
    order = itertools.count()
    for (task, sample_id), outputs in by_sample.items():
        for model in models:
            if model in outputs:
                r = outputs[model]
                yield Item(
                    item_id("point", task, sample_id, model, None), next(order), "point", run,
                    task, sample_id, model, None, _prompt(r), "\n---\n".join(r.references),
                    r.generation.text, None,
                )  # fmt: skip
    for (task, sample_id), outputs in by_sample.items():
        present = [m for m in models if m in outputs]
        for a, b in itertools.combinations(present, 2):
            ra, rb = outputs[a], outputs[b]
            yield Item(
                item_id("pair", task, sample_id, a, b), next(order), "pair", run, task,
                sample_id, a, b, _prompt(ra), "\n---\n".join(ra.references),
                ra.generation.text, rb.generation.text,
            )  # fmt: skip


def load_run_items(db: RatingsDB, run_dir: Path) -> int:
    """Fill the database with the run's items once (again only when samples.jsonl changed);
    returns the number of items stored. Raises UserError for a missing run directory or a
    database that already belongs to another run."""
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: run directory not found")
    stored = open_run(run_dir)
    run = str(run_dir.resolve())
    known = db.get_meta("run")
    if known is not None and known != run:
        raise UserError(f"{db.path}: holds the ratings of another run ({known}); use --db")
    stat = stored.samples_path.stat() if stored.samples_path.is_file() else None
    stamp = f"{stat.st_size}:{stat.st_mtime_ns}" if stat else "none"
    count = int(db.conn.execute("SELECT count(*) FROM items").fetchone()[0])
    if db.get_meta("samples_stamp") == stamp and count:
        return count
    count = db.add_items(build_items(run_dir))
    if count == 0:
        raise UserError(f"{run_dir}: no usable output to review")
    values = {"run": run, "samples_stamp": stamp}
    if db.get_meta("side_secret") is None:
        values["side_secret"] = secrets.token_hex(16)
    db.set_meta(values)
    return count


def left_model(db: RatingsDB, annotator: str, item: Item) -> str:
    """Which model of a pair item this annotator sees on the left: a coin flip per (annotator,
    item) keyed by the studio's secret, so it is random to the annotator, the same after a
    restart, and recorded with the vote."""
    assert item.model_b is not None
    secret = db.get_meta("side_secret") or ""
    digest = hashlib.sha256(f"{secret}\x00{annotator}\x00{item.id}".encode()).digest()
    return item.model_a if digest[0] % 2 == 0 else item.model_b
