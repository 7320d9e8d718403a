"""Task data from Hugging Face datasets (`dataset:` in task.yaml), offline, with datasets built
in the test: a save_to_disk directory, a saved DatasetDict, a Parquet file."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.errors import UserError
from evalkit.tasks.task import load_task
from tests.conftest import write_jsonl

datasets = pytest.importorskip("datasets")

ROWS = {
    "qid": ["a", "b", "c"],
    "question": ["What is 1+1?", "Name a colour.", "What is 2*3?"],
    "answer": [["2"], ["red", "blue"], ["6"]],
}
FIELDS = "fields: {id: qid, input: question, references: answer}\n"


@pytest.fixture(autouse=True)
def _datasets_cache(tmp_path, monkeypatch):
    """load_dataset writes prepared Arrow files under HF_DATASETS_CACHE: keep them in tmp."""
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))


def _task(root: Path, dataset: str, extra: str = "") -> Path:
    (root / "task.yaml").write_text(f"name: t\nversion: 1\ndataset: {dataset}\n{FIELDS}{extra}")
    return root


def test_a_save_to_disk_directory_is_read_in_order(tmp_path):
    datasets.Dataset.from_dict(ROWS).save_to_disk(str(tmp_path / "ds"))
    task = load_task(str(_task(tmp_path, "{path: ds}")))
    samples = task.samples()
    assert [s.id for s in samples] == ROWS["qid"]
    assert [s.input for s in samples] == ROWS["question"]
    assert [s.references for s in samples] == ROWS["answer"]
    source = task.data_source()
    assert source["kind"] == "datasets" and source["rows"] == 3 and source["local"]
    assert source["fingerprint"]


def test_the_data_hash_follows_the_files_content(tmp_path):
    datasets.Dataset.from_dict(ROWS).save_to_disk(str(tmp_path / "ds"))
    task_dir = _task(tmp_path, "{path: ds}")
    expected = hashlib.sha256()
    for file in sorted(p for p in (tmp_path / "ds").rglob("*") if p.is_file()):
        content = hashlib.sha256(file.read_bytes()).hexdigest()
        expected.update(f"{file.relative_to(tmp_path / 'ds').as_posix()}\0{content}\n".encode())
    first = load_task(str(task_dir)).data_hash()
    assert first == expected.hexdigest()
    changed = {**ROWS, "answer": [["2"], ["red"], ["6"]]}
    datasets.Dataset.from_dict(changed).save_to_disk(str(tmp_path / "ds2"))
    arrow = "data-00000-of-00001.arrow"
    os.replace(tmp_path / "ds2" / arrow, tmp_path / "ds" / arrow)
    assert load_task(str(task_dir)).data_hash() != first


def test_a_saved_dataset_dict_needs_its_split_named(tmp_path):
    test = datasets.Dataset.from_dict(ROWS)
    train = datasets.Dataset.from_dict({k: v[:1] for k, v in ROWS.items()})
    datasets.DatasetDict({"test": test, "train": train}).save_to_disk(str(tmp_path / "dd"))
    with pytest.raises(UserError, match=r"dataset.split: .* has splits \['test', 'train'\]"):
        load_task(str(_task(tmp_path, "{path: dd}"))).samples()
    with pytest.raises(UserError, match="no split 'dev'"):
        load_task(str(_task(tmp_path, "{path: dd, split: dev}"))).samples()
    assert len(load_task(str(_task(tmp_path, "{path: dd, split: train}"))).samples()) == 1
    assert len(load_task(str(_task(tmp_path, "{path: dd, split: test}"))).samples()) == 3


def test_a_parquet_file_through_datasets(tmp_path):
    datasets.Dataset.from_dict(ROWS).to_parquet(str(tmp_path / "d.parquet"))
    task = load_task(str(_task(tmp_path, "{path: d.parquet}")))
    assert [s.references for s in task.samples()] == ROWS["answer"]
    assert task.data_hash() == hashlib.sha256((tmp_path / "d.parquet").read_bytes()).hexdigest()


def test_a_hub_id_offline_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    task = load_task(str(_task(tmp_path, "{path: nobody/no-such-set, name: main, split: test}")))
    with pytest.raises(UserError, match="dataset nobody/no-such-set/main:test: ") as caught:
        task.samples()
    assert "\n" not in str(caught.value)


def test_data_and_dataset_are_exclusive(tmp_path):
    (tmp_path / "task.yaml").write_text(f"name: t\nversion: 1\n{FIELDS}")
    with pytest.raises(UserError, match="data: Field required"):
        load_task(str(tmp_path))
    _task(tmp_path, "{path: ds}", "data: d.jsonl\n")
    with pytest.raises(UserError, match="give one of them, not both"):
        load_task(str(tmp_path))


def _cli(*args: str, env: dict[str, str], block_datasets: bool = False):
    code = "import sys\n"
    if block_datasets:
        code += "sys.modules['datasets'] = None\n"
    code += "from evalkit.app.cli import main\nsys.argv = ['evalkit', *sys.argv[1:]]\nmain()\n"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_a_run_records_the_dataset_in_run_json(tmp_path):
    datasets.Dataset.from_dict(ROWS).save_to_disk(str(tmp_path / "ds"))
    pairs = zip(ROWS["qid"], ROWS["answer"], strict=True)
    outputs = [{"id": q, "system": "s", "output": a[0]} for q, a in pairs]
    write_jsonl(tmp_path / "outputs.jsonl", outputs)
    task_dir = _task(tmp_path, "{path: ds}", "scorers: {exact_match: {}}\noutputs: outputs.jsonl\n")
    env = {**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "hf-cache")}
    assert _cli("validate", str(task_dir), env=env).returncode == 0
    run_dir = tmp_path / "run"
    done = _cli("run", f"tasks=[{task_dir}]", f"run_dir={run_dir}", "report.enabled=false", env=env)
    assert done.returncode == 0, done.stderr
    run = json.loads((run_dir / "run.json").read_text())
    assert run["task_data_hashes"]["t"] == load_task(str(task_dir)).data_hash()
    source = run["task_data_sources"]["t"]
    assert source["kind"] == "datasets" and source["rows"] == 3 and source["fingerprint"]
    em = [a for a in run["aggregates"] if a["metric"] == "exact_match"]
    assert em and em[0]["value"] == 1.0


def test_without_the_extra_a_dataset_task_is_one_line_and_exit_2(tmp_path):
    datasets.Dataset.from_dict(ROWS).save_to_disk(str(tmp_path / "ds"))
    task_dir = _task(tmp_path, "{path: ds}")
    done = _cli("validate", str(task_dir), env=dict(os.environ), block_datasets=True)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evalkit: error: ")
    assert 'pip install "evalkit[datasets]"' in lines[0]
