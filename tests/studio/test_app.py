"""The studio server through FastAPI's test client: review flow, blind pages, errors that store
nothing, the token beyond localhost, restart resumes."""

from __future__ import annotations

import html
import shutil
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from evalkit.errors import UserError
from evalkit.judges.rubric import load_rubric
from evalkit.store.ratings_db import RatingsDB
from evalkit.studio.app import create_app
from evalkit.studio.commands import studio_token
from evalkit.studio.items import load_run_items
from tests.studio.conftest import TWO_MODELS


@pytest.fixture
def run_copy(studio_run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(studio_run, target)
    return target


def _client(run_dir: Path, token: str | None = None) -> tuple[TestClient, RatingsDB]:
    db = RatingsDB(run_dir / "studio.sqlite")
    load_run_items(db, run_dir)
    return TestClient(create_app(db, load_rubric("summ_coherence"), token)), db


def _count(run_dir: Path) -> int:
    with sqlite3.connect(run_dir / "studio.sqlite") as conn:
        return sum(
            conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("ratings", "votes", "skips")
        )


def _item(html: str) -> str:
    return html.split('data-item-id="', 1)[1].split('"', 1)[0]


def test_items_come_from_the_run(run_copy: Path) -> None:
    db = RatingsDB(run_copy / "studio.sqlite")
    assert load_run_items(db, run_copy) == 30  # 10 samples x 2 models + 10 pairs
    assert db.progress("x", "point")["total"] == 20
    assert db.progress("x", "pair")["total"] == 10
    assert load_run_items(db, run_copy) == 30  # idempotent


def test_review_flow_is_blind_escaped_and_resumes_after_restart(run_copy: Path) -> None:
    client, db = _client(run_copy)
    page = client.post("/annotator", data={"annotator": "ann", "kind": "point"})
    assert page.status_code == 200 and "0 of 20 rated" in page.text
    for model in TWO_MODELS:
        assert model not in page.text  # blind: no model names (escaped or not)
    assert "<script>document.body" not in page.text and "&lt;script&gt;" in page.text
    first = _item(page.text)
    page = client.post(
        "/judge", data={"annotator": "ann", "kind": "point", "item_id": first, "action": "rate:4"}
    )
    assert "1 of 20 rated" in page.text and _item(page.text) != first
    db.close()
    client2, db2 = _client(run_copy)  # a restarted server
    page = client2.get("/review", params={"annotator": "ann", "kind": "point"})
    assert "1 of 20 rated" in page.text and _item(page.text) != first
    page = client2.post(
        "/judge", data={"annotator": "ann", "kind": "point", "item_id": "", "action": "undo"}
    )
    assert _item(page.text) == first and "0 of 20 rated" in page.text
    pair = client2.get("/review", params={"annotator": "ann", "kind": "pair"})
    assert pair.text.count('class="output-text"') == 2
    res = client2.post(
        "/api/judge",
        json={"annotator": "ann", "kind": "pair", "item_id": _item(pair.text), "action": "vote:A"},
    )
    assert res.status_code == 200 and res.json()["progress"]["judged"] == 1
    (vote,) = db2.votes()
    assert vote[4] == "A" and vote[5] == vote[2]  # A was the left model, recorded


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"action": "rate:6"}, 400, "off the rubric 'summ_coherence' scale 1..5"),
        ({"action": "rate:0"}, 400, "off the rubric"),
        ({"action": "rate:x"}, 400, "not an integer"),
        ({"item_id": "f" * 20}, 404, "unknown item id"),
        ({"item_id": "' OR 1=1 --"}, 404, "unknown item id"),
        ({"annotator": "mallory"}, 404, "unknown annotator"),
        ({"action": "vote:A"}, 400, "not a pair item"),
        ({"action": "drop"}, 400, "expected rate:N"),
        ({"kind": "both"}, 400, "expected point or pair"),
    ],
)
def test_bad_judgments_are_refused_and_nothing_is_stored(
    run_copy: Path, fields: dict[str, str], status: int, message: str
) -> None:
    client, _ = _client(run_copy)
    page = client.post("/annotator", data={"annotator": "ann"})
    body = {"annotator": "ann", "kind": "point", "item_id": _item(page.text), "action": "rate:3"}
    body.update(fields)
    form = client.post("/judge", data=body)
    api = client.post("/api/judge", json=body)
    assert (form.status_code, api.status_code) == (status, status)
    assert message in html.unescape(form.text) and message in api.json()["error"]
    assert _count(run_copy) == 0


def test_a_token_is_checked_on_every_request(run_copy: Path) -> None:
    client, _ = _client(run_copy, token="s3cret")
    for method, path in (("get", "/"), ("post", "/annotator"), ("post", "/api/judge"),
                         ("get", "/static/review.js"), ("get", "/agreement")):  # fmt: skip
        assert client.request(method, path).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert client.request(method, path, headers=wrong).status_code == 401
    res = client.post(
        "/annotator", data={"annotator": "eve"}, headers={"Authorization": "Bearer x"}
    )
    assert res.status_code == 401 and _count(run_copy) == 0
    assert client.get("/", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/?token=s3cret").status_code == 200  # sets the cookie
    assert client.get("/items").status_code == 200


def test_posts_from_another_site_are_refused(run_copy: Path) -> None:
    client, _ = _client(run_copy)
    page = client.post("/annotator", data={"annotator": "ann"})
    body = {"annotator": "ann", "kind": "point", "item_id": _item(page.text), "action": "rate:3"}
    for origin in ("http://evil.example", "null", "http://127.0.0.1:9999"):
        assert client.post("/judge", data=body, headers={"Origin": origin}).status_code == 403
        api = client.post("/api/judge", json=body, headers={"Origin": origin})
        assert api.status_code == 403
    assert _count(run_copy) == 0
    same = client.post("/judge", data=body, headers={"Origin": "http://testserver"})
    assert same.status_code == 200 and _count(run_copy) == 1


def test_binding_beyond_localhost_needs_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STUDIO_T", raising=False)
    assert studio_token("127.0.0.1", "STUDIO_T") is None
    with pytest.raises(UserError, match=r"listening on 0\.0\.0\.0 needs a token: set STUDIO_T"):
        studio_token("0.0.0.0", "STUDIO_T")
    monkeypatch.setenv("STUDIO_T", "abc")
    assert studio_token("0.0.0.0", "STUDIO_T") == "abc"


def test_items_page_is_paged_on_the_server(run_copy: Path) -> None:
    client, _ = _client(run_copy)
    page = client.get("/items", params={"kind": "point", "page": 0})
    assert page.text.count("<code>") == 20 and "next-page" not in page.text


def test_ratings_flow_into_meta_eval(run_copy: Path) -> None:
    import json
    import subprocess
    import sys

    from scipy.stats import pearsonr

    from evalkit.store.run_store import RunStore

    client, db = _client(run_copy)
    for name, shift in (("ann", 0), ("bob", 1)):
        client.post("/annotator", data={"annotator": name})
        for _ in range(20):
            item = db.next_item(name, "point")
            assert item is not None
            score = 1 + (sum(map(ord, item.output_a)) + shift) % 5
            res = client.post(
                "/api/judge",
                json={"annotator": name, "kind": "point", "item_id": item.id,
                      "action": f"rate:{score}"},
            )  # fmt: skip
            assert res.status_code == 200
    shown = client.get("/agreement").text
    assert "krippendorff_alpha (interval)" in shown and "cohen_kappa ann | bob" in shown
    db.close()
    out = subprocess.run(
        [sys.executable, "-m", "evalkit", "meta-eval", str(run_copy), "--ratings",
         str(run_copy), "--json", "--resamples", "20"],
        text=True, capture_output=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    # the reference: mean rating per output (recomputed here) against f1, with scipy
    means = {}
    for r in RunStore(run_copy).latest_records():
        scores = [1 + (sum(map(ord, r.generation.text)) + k) % 5 for k in (0, 1)]
        f1 = next(s.value for s in r.scores if s.name == "f1")
        means[(r.sample_id, r.model)] = (f1, sum(scores) / 2)
    f1s, humans = zip(*means.values(), strict=True)
    expected = pearsonr(f1s, humans).statistic
    wanted = ("f1", "summ_coherence", "sample", "pearson")
    (row,) = [r for r in rows if (r["metric"], r["human"], r["level"], r["method"]) == wanted]
    assert row["n"] == 20 and row["value"] == pytest.approx(expected, abs=1e-9)
