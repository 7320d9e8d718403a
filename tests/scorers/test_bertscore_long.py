"""BERTScore on texts longer than the encoder takes: the usable length is right for BERT- and
RoBERTa-type encoders (the model itself is the reference: one token more and it fails), long texts
are truncated as bert-score truncates them and flagged, scored by windows, or refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("bert_score")

import bert_score
import torch

from evalkit.config import RunConfig
from evalkit.errors import UserError
from evalkit.scorers.bertscore import BERTScore
from evalkit.scorers.longtext import encoder_input, tokenize, usable_max_length, windows
from evalkit.stages.pipeline import run_evaluation
from evalkit.stages.scoring import ScoringItem
from evalkit.testing.tiny_models import build_bert, build_roberta
from tests.conftest import write_jsonl

SENTENCE = "the cat sat on the mat "
LONG = (SENTENCE * 20).strip()  # 180 tokens with the tiny BPE tokenizer (the case's text)
SHORT = "a dog ran in the park"


@pytest.fixture(scope="module")
def roberta(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_roberta(tmp_path_factory.mktemp("roberta"))


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bert(tmp_path_factory.mktemp("bert"), layers=2)


def _runs(model, length: int) -> bool:
    ids = torch.full((1, length), 5, dtype=torch.long)
    try:
        with torch.inference_mode():
            model(ids, attention_mask=torch.ones_like(ids))
    except (IndexError, RuntimeError):
        return False
    return True


@pytest.mark.parametrize(("pad", "expected"), [(0, 65), (1, 64)])
def test_roberta_usable_length_is_the_position_table_less_its_offset(tmp_path, pad, expected):
    """max_position_embeddings - padding_idx - 1 (positions start at padding_idx + 1)."""
    from transformers import AutoModel, AutoTokenizer

    directory = build_roberta(tmp_path / "r", pad=pad)
    model, tokenizer = (
        AutoModel.from_pretrained(directory),
        AutoTokenizer.from_pretrained(directory),
    )
    assert tokenizer.model_max_length > 10**20  # the sentinel: no limit set
    assert usable_max_length(tokenizer, model) == 66 - pad - 1 == expected
    assert _runs(model, expected) and not _runs(model, expected + 1)  # the model agrees


def test_bert_usable_length_has_no_offset(tiny_bert):
    from transformers import AutoModel, AutoTokenizer

    model, tokenizer = (
        AutoModel.from_pretrained(tiny_bert),
        AutoTokenizer.from_pretrained(tiny_bert),
    )
    assert usable_max_length(tokenizer, model) == 128
    assert _runs(model, 128) and not _runs(model, 129)
    assert usable_max_length(tokenizer, model, cap=100) == 100


@pytest.mark.parametrize("mode", ["truncate", "window"])
def test_identical_long_texts_score_one_on_roberta(roberta, mode):
    """The case: no crash, and P = R = F1 = 1 for identical texts (the BERTScore definition)."""
    scorer = BERTScore(model=str(roberta), long_text=mode)
    long, short = scorer.score([ScoringItem(LONG, (LONG,)), ScoringItem(SHORT, (SHORT,))])
    assert [s.value for s in long] == pytest.approx([1.0] * 3, abs=1e-6)
    assert [s.value for s in short] == pytest.approx([1.0] * 3, abs=1e-6)
    assert long[2].details["tokens"] == 180 and long[2].details["max_tokens"] == 65
    assert long[2].details.get("truncated", False) is (mode == "truncate")
    assert short[2].details == {}


def test_truncation_equals_bert_score_when_the_tokenizer_states_the_limit(roberta, tmp_path):
    """bert-score cuts at tokenizer.model_max_length; with the right limit written into the
    tokenizer it runs, and evalkit's default (the limit it computes itself) agrees with it."""
    from transformers import AutoTokenizer

    stated = tmp_path / "stated"
    AutoTokenizer.from_pretrained(roberta, model_max_length=65).save_pretrained(stated)
    for name in ("config.json", "model.safetensors"):
        (stated / name).write_bytes((roberta / name).read_bytes())
    cands, refs = [LONG, SHORT + " " + LONG], [SHORT + " " + LONG, LONG]
    p, r, f = bert_score.score(
        cands, refs, model_type=str(stated), num_layers=2, batch_size=1, device="cpu"
    )
    scores = BERTScore(model=str(roberta), layer=2).score(
        [ScoringItem(c, (x,)) for c, x in zip(cands, refs, strict=True)]
    )
    for row, theirs in zip(scores, zip(p, r, f, strict=True), strict=True):
        assert [s.value for s in row] == pytest.approx([float(v) for v in theirs], abs=2e-6)
        assert row[0].details["truncated"] is True


def test_truncation_equals_bert_score_on_a_bert(tiny_bert):
    cands, refs = [LONG * 2, SHORT], [SHORT, LONG * 2]
    p, r, f = bert_score.score(
        cands, refs, model_type=str(tiny_bert), num_layers=2, batch_size=1, device="cpu"
    )
    scores = BERTScore(model=str(tiny_bert), layer=2).score(
        [ScoringItem(c, (x,)) for c, x in zip(cands, refs, strict=True)]
    )
    for row, theirs in zip(scores, zip(p, r, f, strict=True), strict=True):
        assert [s.value for s in row] == pytest.approx([float(v) for v in theirs], abs=2e-6)
        assert row[0].details["max_tokens"] == 128 and row[0].details["truncated"] is True


def test_window_mode_equals_bert_score_on_texts_that_fit(tiny_bert):
    from tests.scorers.test_bertscore import CANDIDATES, REFERENCES

    p, r, f = bert_score.score(
        CANDIDATES, REFERENCES, model_type=str(tiny_bert), num_layers=2, idf=True,
        batch_size=1, device="cpu", nthreads=0,
    )  # fmt: skip
    scorer = BERTScore(model=str(tiny_bert), layer=2, idf=True, long_text="window")
    scorer.prepare([(ref,) for ref in REFERENCES])
    scores = scorer.score(
        [ScoringItem(c, (x,)) for c, x in zip(CANDIDATES, REFERENCES, strict=True)]
    )
    for row, theirs in zip(scores, zip(p, r, f, strict=True), strict=True):
        assert [s.value for s in row] == pytest.approx([float(v) for v in theirs], abs=2e-6)
        assert row[0].details == {}


def test_window_mode_matches_tokens_past_the_limit(roberta):
    """A candidate equal to the reference's first 65 tokens: truncation hides the rest of the
    reference (R = 1, flagged); windows show it (R < 1)."""
    head = " ".join(LONG.split()[:60])
    reference = head + " " + " ".join(["a dog ran in the park"] * 20)
    item = ScoringItem(head, (reference,))
    [cut] = BERTScore(model=str(roberta)).score([item])
    [seen] = BERTScore(model=str(roberta), long_text="window").score([item])
    assert cut[1].value == pytest.approx(1.0, abs=1e-6) and cut[1].details["truncated"]
    assert seen[1].value < 0.99 and "truncated" not in seen[1].details


def test_windows_keep_every_token_once():
    for n in range(1, 60):
        for size in (1, 2, 3, 7, 16):
            spans = windows(n, size)
            kept = [i for _, _, a, b in spans for i in range(a, b)]
            assert kept == list(range(n))
            assert all(s <= a <= b <= e and e - s <= size for s, e, a, b in spans)
            assert spans[-1][1] == n


def test_window_input_reassembles_the_whole_text(tiny_bert):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    text = tokenize(tokenizer, LONG)
    assert text.prefix == [tokenizer.cls_token_id] and text.suffix == [tokenizer.sep_token_id]
    plan = encoder_input(text, 16, "window")
    assert all(len(seq) <= 16 for seq in plan.sequences) and len(plan.sequences) > 1
    rows = [i for seq, (a, b) in zip(plan.sequences, plan.keep, strict=True) for i in seq[a:b]]
    assert rows == plan.ids == [*text.prefix, *text.content, *text.suffix]
    cut = encoder_input(text, 16, "truncate")
    assert cut.truncated and cut.ids == [*text.prefix, *text.content[:14], *text.suffix]


def test_error_mode_refuses_long_texts(roberta):
    scorer = BERTScore(model=str(roberta), long_text="error")
    long, short = scorer.score([ScoringItem(SHORT, (LONG,)), ScoringItem(SHORT, (SHORT,))])
    assert all(s.status == "unscorable" for s in long)
    assert "reference 1 has 180 tokens, more than the 65" in (long[0].explanation or "")
    assert [s.value for s in short] == pytest.approx([1.0] * 3, abs=1e-6)
    with pytest.raises(UserError, match="long_text must be one of truncate, window, error"):
        BERTScore(model=str(roberta), long_text="split")


def long_task(root: Path, encoder: Path, mode: str) -> Path:
    """A replay task: system `copy` outputs each reference; one reference is 180 tokens."""
    write_jsonl(root / "data.jsonl", [{"id": "s", "ref": SHORT}, {"id": "l", "ref": LONG}])
    write_jsonl(
        root / "outputs.jsonl",
        [{"id": "s", "outputs": {"copy": SHORT}}, {"id": "l", "outputs": {"copy": LONG}}],
    )
    (root / "task.yaml").write_text(
        "name: long\nversion: 1\ndescription: d\ndata: data.jsonl\noutputs: outputs.jsonl\n"
        "fields: {id: id, input: ref, references: ref}\nprompt: '{{ input }}'\n"
        f"scorers: {{bertscore: {{model: '{encoder}', long_text: {mode}}}}}\n",
        encoding="utf-8",
    )
    return root


@pytest.mark.parametrize(("mode", "truncated", "failed"), [("truncate", 1, 0), ("error", 0, 1)])
def test_flags_and_counts_in_run_json(roberta, tmp_path, mode, truncated, failed):
    root = long_task(tmp_path / "task", roberta, mode)
    config = RunConfig.from_dict(
        {
            "suite": {"name": "s", "tasks": [str(root)]},
            "model": {"name": "replay", "backend": "replay"},
            "progress": False,
        }
    )
    run_evaluation(config, tmp_path / "run")
    record = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    [f1] = [a for a in record["aggregates"] if a["metric"] == "bertscore_f1"]
    assert (f1["n_truncated"], f1["n_failed"], f1["n"]) == (truncated, failed, 2 - failed)
    assert f1["value"] == pytest.approx(1.0, abs=1e-6)
    rows = (tmp_path / "run" / "samples.jsonl").read_text(encoding="utf-8").splitlines()
    scores = {json.loads(r)["sample_id"]: json.loads(r)["scores"][2] for r in rows}
    assert scores["l"]["status"] == ("ok" if mode == "truncate" else "unscorable")
    assert scores["l"]["details"].get("truncated", False) is (mode == "truncate")
    assert any(f"long:{mode}" in s["signature"] for s in record["scorers"])


def test_the_cli_notes_truncation_in_one_line(roberta, tmp_path, run_cli):
    task = long_task(tmp_path / "task", roberta, "truncate")
    out = run_cli("run", f"tasks=[{task / 'task.yaml'}]", f"run_dir={tmp_path / 'run'}")
    assert out.returncode == 0, out.stderr
    notes = [line for line in out.stderr.splitlines() if "longer than the encoder" in line]
    assert len(notes) == 1 and "bertscore_f1: 1 of 2" in notes[0], out.stderr


def test_an_output_with_no_tokens_scores_zero_even_when_encoded_alone(roberta):
    """The tiny tokenizer adds no special tokens, so "" is 0 tokens; once the reference is
    cached, "" is encoded in a batch of its own (width 0), which crashed the encoder. An empty
    candidate scores 0, as bert-score scores it (with its "Empty candidate" warning)."""
    scorer = BERTScore(model=str(roberta))
    [copy] = scorer.score([ScoringItem(SHORT, (SHORT,))])
    [empty] = scorer.score([ScoringItem("", (SHORT,))])
    assert [s.value for s in copy] == pytest.approx([1.0, 1.0, 1.0])
    fresh = BERTScore(model=str(roberta)).score(
        [ScoringItem("", (SHORT,)), ScoringItem(SHORT, (SHORT,))]
    )
    assert [s.status for s in empty] == [s.status for s in fresh[0]]
    assert [s.value for s in empty] == [s.value for s in fresh[0]] == [0.0, 0.0, 0.0]
