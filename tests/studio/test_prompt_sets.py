"""The playground's sample picker, saved prompt sets and their runs, through the HTTP API."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import sacrebleu
import yaml
from fastapi.testclient import TestClient

from evalkit.judges.rubric import load_rubric
from evalkit.store.ratings_db import RatingsDB
from evalkit.studio.app import create_app
from evalkit.studio.commands import run_task_refs
from evalkit.studio.prompts import TaskPicker
from evalkit.tasks.task import load_task


@pytest.fixture
def client(studio_run: Path, tmp_path: Path) -> TestClient:
    picker = TaskPicker(run_task_refs(studio_run))
    db = RatingsDB(tmp_path / "s.sqlite")
    app = create_app(db, load_rubric("summ_coherence"), None, (), picker, tmp_path / "sets")
    return TestClient(app)


def test_pick_a_sample_and_render_it_with_an_edited_template(
    client: TestClient, studio_run: Path
) -> None:
    assert client.get("/api/tasks").json()["tasks"][0] == "synth"
    task = client.get("/api/tasks/synth?limit=3").json()
    assert task["template"] == "{{ input }}" and task["n"] == 10
    assert [s["id"] for s in task["samples"]] == ["s0", "s1", "s2"]
    body = {"task": "synth", "sample_id": "s1", "template": "Q: {{ input }} ({{ id }})",
            "system_template": "Be brief."}  # fmt: skip
    rendered = client.post("/api/render", json=body).json()
    assert rendered["messages"][0] == {"role": "system", "content": "Be brief."}
    assert rendered["messages"][1]["content"].startswith("Q: Restate item 1: ")
    assert rendered["messages"][1]["content"].endswith("(s1)")
    task_samples = load_task(run_task_refs(studio_run)[0]).samples()
    assert rendered["references"] == next(s.references for s in task_samples if s.id == "s1")
    for template, reason in (
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "template: access to attribute"),
        ("{{ nope }}", "template: 'nope' is undefined"),
        ("{% if %}", "template: "),
    ):
        res = client.post("/api/render", json={**body, "template": template})
        assert res.status_code == 400 and res.json()["error"].startswith(reason)
    res = client.post("/api/render", json={**body, "sample_id": "forged"})
    assert res.status_code == 404 and "has no sample 'forged'" in res.json()["error"]
    assert client.get("/api/tasks/missing").status_code == 404


def _save(client: TestClient, version: str, sample: str, answers: dict[str, str]) -> dict:
    rendered = client.post(
        "/api/render",
        json={"task": "synth", "sample_id": sample, "template": version + " {{ input }}"},
    ).json()
    body = {
        "set": "iter", "version": version, "task": "synth", "sample_id": sample,
        "prompt": rendered["messages"][-1]["content"], "template": version + " {{ input }}",
        "answers": [{"model": m, "text": t, "seconds": 0.5, "ttft_s": 0.1, "output_tokens": 9,
                     "cost_usd": 0.001} for m, t in answers.items()],
    }  # fmt: skip
    res = client.post("/api/prompt-sets", json=body)
    assert res.status_code == 200, res.text
    return res.json()


def test_saved_prompt_versions_run_as_a_paired_comparison(
    client: TestClient, studio_run: Path, tmp_path: Path
) -> None:
    task = load_task(run_task_refs(studio_run)[0])
    samples = task.samples()[:6]
    for s in samples:  # v1 answers badly, v2 answers with the reference itself
        _save(client, "v1", s.id, {"alpha": "nothing useful here at all"})
        described = _save(client, "v2", s.id, {"alpha": s.references[0]})
    assert described["samples"] == 6 and described["systems"] == ["alpha [v1]", "alpha [v2]"]
    folder = tmp_path / "sets" / "iter"
    spec = yaml.safe_load((folder / "task.yaml").read_text())
    assert spec["scorers"] == task.spec.scorers and spec["replay_only"] is True
    outputs = [json.loads(x) for x in (folder / "outputs.jsonl").read_text().splitlines()]
    assert len(outputs) == 12 and outputs[0]["prompt"].startswith("v1 Restate item 0")
    assert json.loads((folder / "versions.json").read_text())["v2"]["template"] == "v2 {{ input }}"
    _save(client, "v2", samples[0].id, {"alpha": samples[0].references[0]})  # replaces
    assert len((folder / "outputs.jsonl").read_text().splitlines()) == 12

    job = client.post("/api/prompt-sets/iter/run").json()
    assert job["state"] == "running"
    deadline = time.monotonic() + 300
    while (job := client.get(f"/api/prompt-runs/{job['id']}").json())["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert job["state"] == "done", job["message"]
    chrf = next(r for r in job["comparisons"] if r["metric"] == "chrf")
    assert chrf["baseline"] == "alpha [v1]" and chrf["model"] == "alpha [v2]" and chrf["n"] == 6
    refs = [s.references[0] for s in samples]
    expected = sacrebleu.corpus_chrf(refs, [refs]).score
    bad = sacrebleu.corpus_chrf(["nothing useful here at all"] * 6, [refs]).score
    assert chrf["value"] == pytest.approx(expected) and chrf["baseline_value"] == pytest.approx(bad)
    assert chrf["delta"] == pytest.approx(expected - bad) and chrf["significant"]
    report = client.get(f"/prompt-runs/{job['id']}/report")
    assert report.status_code == 200 and "alpha [v2]" in report.text
    assert "script-src" not in report.headers["content-security-policy"]


def test_bad_saves_and_runs_store_nothing(client: TestClient, tmp_path: Path) -> None:
    base = {"set": "ok", "version": "v1", "prompt": "Hi", "answers": [{"model": "m", "text": "x"}]}
    for change, status, reason in (
        ({"set": "../escape"}, 400, "prompt set '../escape'"),
        ({"version": "a b"}, 400, "version 'a b'"),
        ({"answers": []}, 400, "no model answered"),
        ({"answers": [{"text": "x"}]}, 400, "an answer needs 'model'"),
        ({"task": "synth", "sample_id": "forged"}, 404, "no sample 'forged'"),
    ):
        res = client.post("/api/prompt-sets", json={**base, **change})
        assert res.status_code == status and reason in res.json()["error"]
    assert not (tmp_path / "sets").exists() or not list((tmp_path / "sets").iterdir())
    assert client.post("/api/prompt-sets/none/run").status_code == 404
    assert client.get("/api/prompt-runs/7").status_code == 404
    res = client.post("/api/prompt-sets", json=base)  # a typed prompt: default scorers
    assert (
        res.json()["samples"] == 1
        and client.get("/api/prompt-sets").json()["sets"][0]["set"] == "ok"
    )
