"""`evalkit data build` on planted data with known answers: duplicates, contamination, images,
splits, profiles, and user errors."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import cli_in_process, write_jsonl

VOCAB = [f"w{i}" for i in range(5000)]


def build(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return cli_in_process("data", "build", *args, "progress=false", cwd=tmp_path)


def built(out: Path, split: str = "test") -> list[dict]:
    return [json.loads(line) for line in (out / f"{split}.jsonl").read_text().splitlines()]


@pytest.fixture
def planted(tmp_path: Path) -> dict:
    """400 documents; 40 exact copies (case and spacing changed); 40 near copies (one word of 60
    replaced: shingle Jaccard 55/61 = 0.90); 20 documents whose 13-grams sit in a 'training set'."""
    rng = random.Random(3)
    docs = [[rng.choice(VOCAB) for _ in range(60)] for _ in range(400)]
    rows = [{"id": f"d{i}", "text": " ".join(d), "answer": f"a{i}"} for i, d in enumerate(docs)]
    exact, near, origin = [], [], {}
    for k, i in enumerate(rng.sample(range(400), 80)):
        origin[f"exact{k}" if k < 40 else f"near{k}"] = f"d{i}"
        if k < 40:
            rows.append(
                {"id": f"exact{k}", "text": "  " + rows[i]["text"].upper(), "answer": f"a{i}"}
            )
            exact.append(f"exact{k}")
        else:
            words = list(docs[i])
            words[rng.randrange(60)] = "replaced"
            rows.append({"id": f"near{k}", "text": " ".join(words), "answer": f"a{i}"})
            near.append(f"near{k}")
    rng.shuffle(rows[400:])
    contaminated = [f"d{i}" for i in range(0, 400, 20)]
    train = [
        {"text": "some preamble " + " ".join(docs[int(d[1:])][10:30]) + " and more"}
        for d in contaminated
    ]
    write_jsonl(tmp_path / "raw.jsonl", rows)
    write_jsonl(tmp_path / "train.jsonl", train)
    return {"exact": set(exact), "near": set(near), "contaminated": set(contaminated),
            "origin": origin}  # fmt: skip


def test_planted_duplicates_and_contamination_are_found(tmp_path, planted):
    out = build(
        tmp_path, "inputs=[raw.jsonl]", "output=out", "fields.id=id", "fields.input=text",
        "fields.references=answer", "decontamination.corpora=[{path: train.jsonl, name: train}]",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "out"
    removed = {
        json.loads(line)["id"]: json.loads(line)["reason"]
        for line in (tmp_path / "out/removed.jsonl").read_text().splitlines()
    }
    exact_found = {i for i, r in removed.items() if r.startswith("exact duplicate")}
    near_found = {i for i, r in removed.items() if r.startswith("near duplicate")}
    assert exact_found == planted["exact"]
    recall = len(near_found & planted["near"]) / len(planted["near"])
    precision = len(near_found & planted["near"]) / max(1, len(near_found))
    assert recall >= 0.95 and precision >= 0.95, (recall, precision)
    rows = built(tmp_path / "out")
    assert len(rows) == 480 - len(removed)
    flagged = {r["id"]: r["contamination"] for r in rows if "contamination" in r}
    assert set(flagged) == planted["contaminated"]
    assert all(f["corpus"] == "train" and f["method"] == "ngram" for f in flagged.values())
    assert flagged["d20"]["reference"] == "2"  # the training row (line 2) that holds d20's text
    clusters = [
        json.loads(line) for line in (tmp_path / "out/clusters.jsonl").read_text().splitlines()
    ]
    assert sum(len(c["removed"]) for c in clusters) == len(removed)
    card = json.loads((tmp_path / "out/datacard.json").read_text())
    assert card["rows_read"] == 480 and card["contamination_flagged"] == {"train (ngram)": 20}
    assert "near duplicate" in (tmp_path / "out/datacard.md").read_text()
    # the result is an evalkit task
    check = subprocess.run([sys.executable, "-m", "evalkit", "validate", "out/task.yaml"],
                           cwd=tmp_path, text=True, capture_output=True)  # fmt: skip
    assert check.returncode == 0, check.stderr


def test_contaminated_rows_can_be_removed(tmp_path, planted):
    out = build(
        tmp_path, "inputs=[raw.jsonl]", "output=out", "fields.id=id", "fields.input=text",
        "decontamination.corpora=[{path: train.jsonl}]", "decontamination.action=remove",
        "dedup.near=false", "dedup.exact=false", "fields.references=null",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    ids = {r["id"] for r in built(tmp_path / "out")}
    # copies of a contaminated document share its n-grams: they go too
    copies = {c for c, o in planted["origin"].items() if o in planted["contaminated"]}
    assert ids == {f"d{i}" for i in range(400)} - planted["contaminated"] | (
        set(planted["origin"]) - copies
    )


def test_paraphrases_are_caught_by_embedding_similarity(tmp_path):
    write_jsonl(tmp_path / "raw.jsonl", [
        {"input": "A cat is sitting on the mat next to the front door."},
        {"input": "Quarterly revenue of the semiconductor firm rose by twelve percent."},
    ])  # fmt: skip
    write_jsonl(tmp_path / "bench.jsonl", [{"text": "The cat sat on the mat by the door."}])
    out = build(
        tmp_path, "inputs=[raw.jsonl]", "output=out", "fields.references=null",
        "decontamination.corpora=[{path: bench.jsonl, name: bench}]",
        "decontamination.embedding_threshold=0.7",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    rows = built(tmp_path / "out")
    assert rows[0]["contamination"]["method"] == "embedding"
    assert rows[0]["contamination"]["evidence"] >= 0.7
    assert "contamination" not in rows[1]


def _image(path: Path, seed: int) -> None:
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", (256, 256), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(200), rng.randrange(200)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle([x, y, x + rng.randrange(30, 120), y + rng.randrange(30, 120)], fill=colour)
    image.save(path)


def test_image_copies_are_caught_and_unreadable_images_reported(tmp_path):
    from PIL import Image

    images = tmp_path / "img"
    images.mkdir()
    for i in range(8):
        _image(images / f"o{i}.png", i)
    with Image.open(images / "o1.png") as im:
        im.resize((128, 128)).save(images / "small1.png")  # resized copy
        im.convert("RGB").save(images / "jpeg1.jpg", quality=70)  # re-encoded copy
    (images / "same2.png").write_bytes((images / "o2.png").read_bytes())  # byte-identical
    (images / "broken.png").write_bytes(b"not an image at all")
    names = [f"o{i}.png" for i in range(8)] + ["small1.png", "jpeg1.jpg", "same2.png", "broken.png"]
    write_jsonl(tmp_path / "raw.jsonl", [{"id": n, "input": f"describe {n}", "image": f"img/{n}"}
                                         for n in names])  # fmt: skip
    out = build(tmp_path, "inputs=[raw.jsonl]", "output=out", "fields.id=id",
                "fields.references=null", "fields.image=image")  # fmt: skip
    assert out.returncode == 0, out.stderr
    reasons = {
        json.loads(line)["id"]: json.loads(line)["reason"]
        for line in (tmp_path / "out/removed.jsonl").read_text().splitlines()
    }
    assert reasons["small1.png"].startswith("image near duplicate of o1.png")
    assert reasons["jpeg1.jpg"].startswith("image near duplicate of o1.png")
    assert reasons["same2.png"] == "image exact duplicate of o2.png"
    assert reasons["broken.png"].startswith("unreadable image broken.png")
    assert {r["id"] for r in built(tmp_path / "out")} == {f"o{i}.png" for i in range(8)}
    card = json.loads((tmp_path / "out/datacard.json").read_text())
    assert len(card["unreadable_images"]) == 1


def test_splits_are_stable_when_rows_are_appended(tmp_path):
    rows = [{"id": f"r{i}", "input": f"question number {i}", "reference": "x"} for i in range(300)]
    write_jsonl(tmp_path / "a.jsonl", rows[:200])
    write_jsonl(tmp_path / "b.jsonl", rows)
    fractions = "splits.fractions={dev: 0.25, test: 0.75}"
    for name in ("a", "b"):
        out = build(tmp_path, f"inputs=[{name}.jsonl]", f"output=out_{name}", "fields.id=id",
                    fractions, "dedup.near=false")  # fmt: skip
        assert out.returncode == 0, out.stderr

    def placement(out: str) -> dict[str, str]:
        return {r["id"]: s for s in ("dev", "test") for r in built(tmp_path / out, s)}

    before, after = placement("out_a"), placement("out_b")
    assert all(after[k] == v for k, v in before.items())
    assert 0.15 < sum(v == "dev" for v in after.values()) / 300 < 0.35


def test_stratified_splits_have_exact_proportions(tmp_path):
    rows = [
        {"id": f"r{i}", "input": f"item {i}", "kind": "a" if i % 4 else "b"} for i in range(200)
    ]
    write_jsonl(tmp_path / "raw.jsonl", rows)
    out = build(tmp_path, "inputs=[raw.jsonl]", "output=out", "fields.id=id",
                "fields.references=null", "splits.fractions={dev: 0.2, test: 0.8}",
                "splits.stratify=kind", "dedup.near=false")  # fmt: skip
    assert out.returncode == 0, out.stderr
    dev = built(tmp_path / "out", "dev")
    assert sum(r["kind"] == "a" for r in dev) == 30 and sum(r["kind"] == "b" for r in dev) == 10


def test_cleaning_language_pii_and_token_counts(tmp_path):
    from evalkit.testing.tiny_models import train_tokenizer

    train_tokenizer(tmp_path / "tok")
    rows = [
        "The weather today is sunny and warm, perfect for a walk in the park.",
        "Das Wetter ist heute sonnig und warm, perfekt für einen Spaziergang.",
        "Write to jane.roe@example.org or call +44 20 7946 0958 about the cafÃ© menu.",
        "Click here to subscribe",
    ]
    blank = {"input": "A question whose reference is blank.", "reference": "  "}
    write_jsonl(tmp_path / "raw.jsonl", [{"input": r, "reference": "ok"} for r in rows] + [blank])
    out = build(
        tmp_path, "inputs=[raw.jsonl]", "output=out", "filters.languages=[en]", "pii.enabled=true",
        "filters.boilerplate=['click here.*']", f"profile.tokenizer={tmp_path / 'tok'}",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    texts = [r["input"] for r in built(tmp_path / "out")]
    assert texts[0].startswith("The weather")
    assert texts[1] == "Write to [EMAIL] or call [PHONE] about the café menu."
    card = json.loads((tmp_path / "out/datacard.json").read_text())
    assert card["removed"] == {"input language": 1, "input boilerplate": 1, "references empty": 1}
    assert card["pii_replaced"] == {"email": 1, "phone": 1, "url": 0}
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tmp_path / "tok" / "tokenizer.json"))
    expected = sum(len(tok.encode(t, add_special_tokens=False).ids) for t in texts)
    assert card["splits"]["test"]["input_tokens"]["total"] == expected


def test_bad_input_exits_2_with_one_line(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"input": "fine"}\n{not json\n')
    out = build(tmp_path, "inputs=[bad.jsonl]", "output=out", "fields.references=null")
    assert out.returncode == 2 and "bad.jsonl:2" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    write_jsonl(tmp_path / "raw.jsonl", [{"question": "no id here"}])
    out = build(tmp_path, "inputs=[raw.jsonl]", "output=out", "fields.id=qid",
                "fields.input=question", "fields.references=null")  # fmt: skip
    assert out.returncode == 2 and "raw.jsonl:1: missing field 'qid'" in out.stderr
    out = build(tmp_path, "inputs=[nothere.jsonl]", "output=out")
    assert out.returncode == 2 and "nothere.jsonl" in out.stderr
    out = build(tmp_path, "inputs=[raw.jsonl]", "splits.fractions={a: 0.5}")
    assert out.returncode == 2 and "sum to 1" in out.stderr


def test_a_dask_cluster_builds_the_same_dataset(tmp_path, planted):
    """The per-row stage on a local Dask cluster (2 worker processes), small chunks so several are
    in flight: every output file is identical to the in-process build."""
    common = ["inputs=[raw.jsonl]", "fields.id=id", "fields.input=text", "fields.references=answer",
              "decontamination.corpora=[{path: train.jsonl}]", "chunk_size=50",
              "splits.fractions={dev: 0.5, test: 0.5}"]  # fmt: skip
    local = build(tmp_path, *common, "output=local")
    dask = build(tmp_path, *common, "output=dask", "engine.name=dask", "engine.workers=2")
    assert local.returncode == 0 and dask.returncode == 0, dask.stderr[-2000:]
    for name in ("dev.jsonl", "test.jsonl", "removed.jsonl", "clusters.jsonl"):
        assert (tmp_path / "dask" / name).read_text() == (tmp_path / "local" / name).read_text()


def test_csv_parquet_and_a_config_file_give_the_same_build(tmp_path):
    import pandas as pd

    rows = [{"qid": f"q{i}", "question": f"what is item {i} made of", "answer": f"a{i}"}
            for i in range(30)]  # fmt: skip
    rows.append(dict(rows[3], qid="copy"))
    write_jsonl(tmp_path / "raw.jsonl", rows)
    pd.DataFrame(rows).to_csv(tmp_path / "raw.csv", index=False)
    pd.DataFrame(rows).to_parquet(tmp_path / "raw.parquet")
    (tmp_path / "build.yaml").write_text(
        "fields: {id: qid, input: question, references: answer}\n"
        "splits: {fractions: {dev: 0.3, test: 0.7}}\n"
    )
    for name in ("jsonl", "csv", "parquet"):
        out = build(tmp_path, "build.yaml", f"inputs=[raw.{name}]", f"output=out_{name}")
        assert out.returncode == 0, out.stderr
    for split in ("dev", "test"):
        expected = built(tmp_path / "out_jsonl", split)
        assert expected and all(r["references"] for r in expected)
        for name in ("csv", "parquet"):
            assert built(tmp_path / f"out_{name}", split) == expected
    assert "exact duplicate of q3" in (tmp_path / "out_csv/removed.jsonl").read_text()
