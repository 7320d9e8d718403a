"""The Pareto frontier on hand-checked point sets, and JSON that cannot end its script element."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from evalkit.report.page import content_security_policy, embed_json, finite
from evalkit.stats.pareto import pareto_front


def test_frontier_keeps_exactly_the_undominated_points():
    # (cost, quality): b is cheaper and better than a; c is dearer but best; d is beaten by b
    costs = [1.0, 0.5, 2.0, 0.9]
    quality = [0.6, 0.7, 0.9, 0.65]
    assert pareto_front(costs, quality, higher_is_better=True) == [False, True, True, False]


def test_frontier_respects_lower_is_better_quality_and_ties():
    # TER-like quality: lower is better. Two identical points are both kept (neither is strictly
    # better); a point equal in cost but worse in quality is dropped.
    costs = [1.0, 1.0, 1.0, 0.2]
    quality = [30.0, 30.0, 45.0, 60.0]
    assert pareto_front(costs, quality, higher_is_better=False) == [True, True, False, True]


def test_points_missing_a_coordinate_are_never_on_the_frontier():
    assert pareto_front([None, 1.0, 2.0], [0.9, None, 0.5], higher_is_better=True) == [
        False,
        False,
        True,
    ]


@given(st.lists(st.tuples(st.floats(0, 10), st.floats(0, 1)), min_size=1, max_size=30))
def test_frontier_points_are_mutually_undominated_and_cover_the_rest(points):
    costs, quality = [p[0] for p in points], [p[1] for p in points]
    flags = pareto_front(costs, quality, higher_is_better=True)
    front = [p for p, on in zip(points, flags, strict=True) if on]
    assert front, "a non-empty set always has a frontier"
    for p, on in zip(points, flags, strict=True):
        dominators = [f for f in front if f[0] <= p[0] and f[1] >= p[1] and f != p]
        if not on:
            assert dominators, f"{p} was dropped but no frontier point dominates it"


@given(st.recursive(st.text() | st.integers() | st.none(), lambda c: st.lists(c, max_size=4)))
def test_embedded_json_round_trips_and_never_closes_a_script(value):
    text = embed_json({"v": value})
    assert json.loads(text) == {"v": value}
    assert "<" not in text and ">" not in text and "\u2028" not in text


def test_csp_allows_only_the_hashed_scripts_and_no_network():
    policy = content_security_policy(["alert(1)"])
    # sha256 of "alert(1)", base64 (computed independently with `openssl dgst -sha256 -binary`)
    assert "script-src 'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='" in policy
    assert "default-src 'none'" in policy and "unsafe-eval" not in policy
    assert "connect-src" not in policy  # falls back to default-src 'none': no fetch, no XHR


def test_non_finite_numbers_become_null_before_embedding():
    rows = [{"delta": float("nan"), "ci": (float("-inf"), 1.5), "p": 0.2, "n": 3}]
    assert finite(rows) == [{"delta": None, "ci": [None, 1.5], "p": 0.2, "n": 3}]
    assert embed_json(finite(rows))  # would raise on NaN


def test_variants_of_one_model_are_labelled_by_the_setting_that_differs():
    from evalkit.analysis.bundle import LabelledRun, model_labels
    from evalkit.types import Generation, Request, RunRecord, SampleRecord

    def run(label: str, quantization: str, model: str = "tiny") -> LabelledRun:
        config = {"model": {"name": "hf", "quantization": quantization}, "run_dir": label}
        record = RunRecord.model_construct(config=config)
        request = Request(task="t", sample_id="1", messages=[])
        sample = SampleRecord(
            task="t", model=model, sample_id="1", index=0, request=request,
            generation=Generation(text="x"), scores=[],
        )  # fmt: skip
        return LabelledRun(label, record, [sample])

    labels = model_labels([run("a", "none"), run("b", "int8"), run("c", "none", model="other")])
    assert labels == [
        {"tiny": "tiny [quantization=none]"},
        {"tiny": "tiny [quantization=int8]"},
        {"other": "other"},
    ]
