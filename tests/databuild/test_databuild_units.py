"""The data builder's parts in process (evalkit.databuild: splits, text cleaning, decontamination,
and build_dataset itself on a tiny input): every expected value is worked out by hand or with the
standard library (hashlib, unicodedata), never taken from evalkit's output."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from evalkit.databuild.build import build_dataset
from evalkit.databuild.config import (
    DataBuildConfig,
    Decontamination,
    Filters,
    Normalize,
    Pii,
    ReferenceCorpus,
    Splits,
)
from evalkit.databuild.decontam import ContaminationIndex, words_of
from evalkit.databuild.splits import assign_splits, unit_hash
from evalkit.databuild.textclean import normalize_text, rejection, scrub_pii
from tests.conftest import write_jsonl


def test_a_rows_split_is_the_blake2b_interval_of_its_key() -> None:
    options = Splits(fractions={"dev": 0.3, "test": 0.7}, salt="s")
    keys = [f"k{i}" for i in range(200)]
    expected = []
    for key in keys:
        digest = hashlib.blake2b(f"s\x00{key}".encode(), digest_size=8).digest()
        u = int.from_bytes(digest, "big") / 2**64
        assert unit_hash(key, "s") == u
        expected.append("dev" if u < 0.3 else "test")
    assert assign_splits(keys, None, options) == expected
    # appending rows never moves an existing one
    assert assign_splits([*keys, "new1", "new2"], None, options)[:200] == expected


def test_stratified_splits_have_exact_largest_remainder_quotas() -> None:
    """Strata of 10 and 7 rows at 30/70: 3 + 7 and 2.1 -> 2, 4.9 -> 5 (largest remainder)."""
    options = Splits(fractions={"dev": 0.3, "test": 0.7}, salt="x")
    keys = [f"k{i}" for i in range(17)]
    strata = ["a"] * 10 + ["b"] * 7
    out = assign_splits(keys, strata, options)
    assert Counter(out[:10]) == {"dev": 3, "test": 7}
    assert Counter(out[10:]) == {"dev": 2, "test": 5}
    # within a stratum, the rows with the smallest hashes go to the first split
    a_by_hash = sorted(range(10), key=lambda i: unit_hash(keys[i], "x"))
    assert {i for i in range(10) if out[i] == "dev"} == set(a_by_hash[:3])


def test_normalization_composes_unicode_and_collapses_whitespace() -> None:
    text = "Cafe\u0301  au\t\tlait\r\n\n\n\nfin  "
    options = Normalize(ftfy=False, nfc=True, whitespace=True)
    assert normalize_text(text, options) == "Caf\u00e9 au lait\n\nfin"
    assert normalize_text(text, Normalize(ftfy=False, nfc=False, whitespace=False)) == text


def test_pii_is_replaced_and_counted() -> None:
    counts: Counter[str] = Counter()
    text = "mail ann.lee+x@example.co.uk or see https://example.org/a?b=1, call +1 415 555 0100"
    out = scrub_pii(text, Pii(enabled=True), counts)
    assert out == "mail [EMAIL] or see [URL] call [PHONE]"
    assert counts == {"email": 1, "url": 1, "phone": 1}
    only_mail = scrub_pii(text, Pii(enabled=True, kinds=["email"]), Counter())
    assert only_mail.startswith("mail [EMAIL] or see https://example.org")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("ab", "too short (chars)"),
        ("one two", "too short (words)"),
        ("one two three four five six", "too long (words)"),
        ("Click here to subscribe", "boilerplate"),
        ("three good words", None),
    ],
)
def test_filters_give_the_first_reason_a_row_fails(text: str, reason: str | None) -> None:
    filters = Filters(min_chars=3, min_words=3, max_words=5, boilerplate=["click here.*"])
    assert rejection(text, filters) == reason


def test_decontamination_finds_shared_ngrams_and_whole_short_rows(tmp_path: Path) -> None:
    reference = " ".join(f"w{i}" for i in range(20))
    write_jsonl(
        tmp_path / "train.jsonl",
        [{"id": "r0", "text": reference}, {"id": "r1", "text": "Short Row, here!"}],
    )
    options = Decontamination(corpora=[ReferenceCorpus(path=tmp_path / "train.jsonl")], ngram=5)
    index = ContaminationIndex(options)
    rows = [
        "prefix " + " ".join(f"w{i}" for i in range(3, 9)) + " suffix",  # w3..w7, w4..w8 shared
        "short row here",  # fewer than 5 words: compared whole (lowercased, punctuation dropped)
        " ".join(f"w{i}" for i in range(0, 20, 2)),  # no 5 consecutive reference words
    ]
    ngram, exact, clean = index.check(rows)
    assert words_of("Short Row, here!") == ["short", "row", "here"]
    assert ngram is not None and (ngram.method, ngram.reference, ngram.evidence) == (
        "ngram", "r0", 2.0,
    )  # fmt: skip
    assert exact is not None and (exact.method, exact.corpus, exact.reference) == (
        "exact", "train", "r1",
    )  # fmt: skip
    assert clean is None


def test_build_dataset_removes_exact_duplicates_and_splits_by_key(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "text": "the first document has several words", "answer": "1"},
        {"id": "b", "text": "The  FIRST document has several words", "answer": "1"},
        {"id": "c", "text": "another quite different text entirely here", "answer": "2"},
        {"id": "d", "text": "", "answer": "3"},
    ]
    write_jsonl(tmp_path / "raw.jsonl", rows)
    config = DataBuildConfig.model_validate(
        {
            "inputs": [tmp_path / "raw.jsonl"],
            "output": tmp_path / "out",
            "fields": {"id": "id", "input": "text", "references": "answer"},
            "dedup": {"near": False},
            "splits": {"fractions": {"test": 1.0}},
            "progress": False,
        }
    )
    card = build_dataset(config)
    kept = [json.loads(x) for x in (tmp_path / "out" / "test.jsonl").read_text().splitlines()]
    assert sorted(row["id"] for row in kept) == ["a", "c"]
    removed = [json.loads(x) for x in (tmp_path / "out" / "removed.jsonl").read_text().splitlines()]
    assert sorted(row["id"] for row in removed) == ["b", "d"]
    assert json.loads((tmp_path / "out" / "datacard.json").read_text()) == json.loads(
        json.dumps(card)
    )
