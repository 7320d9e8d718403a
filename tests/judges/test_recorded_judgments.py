"""Recorded judgments (`evalkit judgments stats`): the file formats read as their tools define
them, fractional preferences through win rate, standard error and Bradley-Terry, and AlpacaEval
2.0's leaderboard figures reproduced from its own annotation files.

The AlpacaEval files (tatsu-lab/alpaca_eval, Apache-2.0) are not part of this repository: the
test reads them from ../shared/data/alpaca_eval (or $EVALKIT_ALPACA_EVAL_DATA) and is skipped
without them. Expected figures there come from the leaderboard CSV in the same folder
(src/alpaca_eval/leaderboards/data_AlpacaEval_2/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv).
"""

from __future__ import annotations

import csv
import json
import os
import re
import statistics
from pathlib import Path

import numpy as np
import pytest

from evalkit.analysis.recorded_stats import summarize_recorded
from evalkit.errors import UserError
from evalkit.judges.recorded_judgments import read_recorded
from evalkit.stats.pairwise_stats import Comparison, bradley_terry_strengths, standard_error
from tests.conftest import SHARED_DATA, write_jsonl

ALPACA_EVAL = Path(os.environ.get("EVALKIT_ALPACA_EVAL_DATA", SHARED_DATA / "alpaca_eval"))
LEADERBOARD = ALPACA_EVAL / "weighted_alpaca_eval_gpt4_turbo_leaderboard.csv"
MODELS = [
    "claude-2.1", "gpt-3.5-turbo-1106", "alpaca-7b", "gpt4_gamed", "text_davinci_001",
    "falcon-7b-instruct",
]  # fmt: skip


def _alpaca_rows(preferences: list[float | None]) -> list[dict[str, object]]:
    return [
        {"instruction": f"instruction {k}", "output_1": "b" * (10 + k), "output_2": "m" * (20 + k),
         "generator_1": "base", "generator_2": "model", "annotator": "judge", "preference": p}
        for k, p in enumerate(preferences)
    ]  # fmt: skip


def test_alpaca_eval_preferences_become_the_models_outcome(tmp_path):
    path = tmp_path / "annotations.json"
    # 2: output_2 (the model) wins; 1: the baseline wins; 0: a tie (legacy); null: no verdict
    path.write_text(json.dumps(_alpaca_rows([2.0, 1.0, 0, 1.75, None])), encoding="utf-8")
    recorded = read_recorded([path], "alpaca_eval")
    assert [p.outcome for p in recorded.pairs] == [1.0, 0.0, 0.5, 0.75, None]
    assert recorded.pairs[0].lengths == (20, 10) and recorded.pairs[3].position == 3
    row = summarize_recorded(recorded, lc="none")["win_rates"][0]
    values = [1.0, 0.0, 0.5, 0.75]
    assert row["win_rate"] == pytest.approx(statistics.fmean(values))
    assert row["standard_error"] == pytest.approx(statistics.stdev(values) / 2)
    assert (row["wins"], row["ties"], row["losses"], row["n_missing"]) == (2, 1, 1, 1)
    assert row["discrete_win_rate"] == pytest.approx(2.5 / 4)


def test_mt_bench_pairs_follow_fastchat_and_single_grades_keep_failures(tmp_path):
    judge = ["gpt-4", "pair-v2"]
    rows = [
        {"question_id": 81, "turn": 1, "model_1": "x", "model_2": "y", "judge": judge,
         "g1_winner": "model_1", "g2_winner": "model_1"},
        {"question_id": 82, "turn": 1, "model_1": "x", "model_2": "y", "judge": judge,
         "g1_winner": "model_1", "g2_winner": "model_2"},  # flips with the order: a tie
        {"question_id": 83, "turn": 1, "model_1": "y", "model_2": "x", "judge": judge,
         "g1_winner": "model_1", "g2_winner": "model_1"},
        {"question_id": 84, "turn": 1, "model_1": "x", "model_2": "y", "judge": judge,
         "g1_winner": "error", "g2_winner": "model_1"},
        {"question_id": 81, "turn": 1, "model": "x", "score": 8, "judge": judge},
        {"question_id": 82, "turn": 1, "model": "x", "score": -1, "judge": judge},
    ]  # fmt: skip
    path = write_jsonl(tmp_path / "gpt-4_pair.jsonl", rows)
    recorded = read_recorded([path], "mt_bench")
    assert [p.outcome for p in recorded.pairs] == [1.0, 0.5, 1.0, None]
    assert [p.consistent for p in recorded.pairs] == [True, False, True, None]
    assert [s.score for s in recorded.scores] == [8.0, None]
    summary = summarize_recorded(recorded, baseline="y", lc="none")
    row = summary["win_rates"][0]  # x against y: win, tie, loss (y won question 83)
    assert (row["model"], row["n"], row["win_rate"]) == ("x", 3, pytest.approx(0.5))
    assert summary["judge_report"]["swap_consistency"] == pytest.approx(2 / 3)
    assert summary["scores"][0]["n_failed"] == 1 and summary["scores"][0]["mean"] == 8.0


def test_arena_hard_games_count_strong_verdicts_three_times(tmp_path):
    # game 1 shows the baseline as A: B>>A is 3 wins of the model; game 2 shows the model as A
    games = {"q1": ("B>>A", "A>B"), "q2": ("A=B", "B>A"), "q3": (None, "A>B")}
    rows = [
        {"uid": uid, "model": "m", "judge": "gpt-4.1", "games": [{"score": g1}, {"score": g2}]}
        for uid, (g1, g2) in games.items()
    ]
    path = write_jsonl(tmp_path / "m.jsonl", rows)
    with pytest.raises(UserError, match="baseline"):
        read_recorded([path], "arena_hard")
    recorded = read_recorded([path], "arena_hard", baseline="gpt-4-0314")
    row = summarize_recorded(recorded, lc="none")["win_rates"][0]
    battles = [1, 1, 1, 1, 0.5, 0]  # arena-hard-auto's expansion; q3 dropped (a null label)
    assert row["n"] == 6 and row["n_missing"] == 1
    assert row["win_rate"] == pytest.approx(statistics.fmean(battles))


def test_fractional_bradley_terry_equals_an_independent_maximum_likelihood_fit():
    from scipy import optimize

    rng = np.random.default_rng(3)
    true = np.array([0.0, 0.8, -0.5])
    comparisons = []
    for k in range(400):
        i, j = rng.choice(3, size=2, replace=False)
        p = 1 / (1 + np.exp(-(true[i] - true[j])))
        preference = float(rng.beta(8 * p, 8 * (1 - p)))
        comparisons.append(Comparison(str(k), f"m{i}", f"m{j}", preference, 0))
    ours = bradley_terry_strengths(comparisons, ["m0", "m1", "m2"], alpha=0.0)

    def nll(s):
        s = np.concatenate([[0.0], s])
        d = np.array([s[int(c.first[1])] - s[int(c.second[1])] for c in comparisons])
        y = np.array([c.outcome for c in comparisons])
        return float(np.sum(np.logaddexp(0, d) - y * d))

    reference = np.concatenate([[0.0], optimize.minimize(nll, np.zeros(2), method="BFGS").x])
    assert ours == pytest.approx(reference - reference.mean(), abs=1e-4)


def test_standard_error_is_the_sample_sd_over_root_n():
    values = [0.1, 0.9, 0.35, 0.5, 1.0]
    assert standard_error(values) == pytest.approx(statistics.stdev(values) / 5**0.5)
    assert np.isnan(standard_error([0.3]))


def test_cli_prints_json_and_user_errors_are_one_line(run_cli, tmp_path):
    good = tmp_path / "a.json"
    good.write_text(json.dumps(_alpaca_rows([2.0, 1.0, 1.5, 1.25])), encoding="utf-8")
    out = run_cli("judgments", "stats", str(good), "--format", "alpaca_eval", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["baseline"] == "base" and summary["win_rates"][0]["win_rate"] == 0.4375
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_alpaca_rows([2.0, 3.5])), encoding="utf-8")
    out = run_cli("judgments", "stats", str(bad), "--format", "alpaca_eval")
    assert out.returncode == 2 and "row 1: preference 3.5 is outside [1.0, 2.0]" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    with pytest.raises(UserError, match="no such judgments file"):
        read_recorded([tmp_path / "nope.jsonl"], "mt_bench")
    with pytest.raises(UserError, match="needs difficulty"):
        summarize_recorded(read_recorded([good], "alpaca_eval"), lc="alpaca_eval")
    (tmp_path / "broken.jsonl").write_text('{"question_id": 1, "model": "x"}\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"broken\.jsonl: line 1: missing field 'score'"):
        read_recorded([tmp_path / "broken.jsonl"], "mt_bench")


def _leaderboard() -> dict[str, dict[str, str]]:
    with LEADERBOARD.open(encoding="utf-8") as handle:
        return {row[""]: row for row in csv.DictReader(handle)}


@pytest.mark.skipif(not LEADERBOARD.is_file(), reason="AlpacaEval annotations not present")
@pytest.mark.parametrize("model", MODELS)
def test_alpaca_eval_2_win_rate_and_standard_error_equal_the_leaderboard(model):
    """AlpacaEval 2.0 (weighted GPT-4-turbo annotator, baseline gpt4_1106_preview): win_rate,
    standard_error, discrete_win_rate and the counts as the leaderboard CSV prints them."""
    published = _leaderboard()[model]
    recorded = read_recorded([ALPACA_EVAL / f"{model}.json"], "alpaca_eval")
    summary = summarize_recorded(recorded, lc="none")
    assert summary["baseline"] == "gpt4_1106_preview"
    row = summary["win_rates"][0]
    for ours, theirs in [
        (row["win_rate"], "win_rate"), (row["standard_error"], "standard_error"),
        (row["discrete_win_rate"], "discrete_win_rate"),
    ]:  # fmt: skip
        assert 100 * ours == pytest.approx(float(published[theirs]), rel=1e-12, abs=1e-12)
    assert (row["wins"], row["losses"], row["ties"], row["n"]) == tuple(
        int(published[k]) for k in ("n_wins", "n_wins_base", "n_draws", "n_total")
    )


# one well-formed line per JSONL format, and the first row of each JSON one
_GOOD = {
    "mt_bench": {"question_id": 1, "model": "a", "score": 7.5},
    "arena_hard": {"uid": "q1", "model": "m", "games": [{"score": "A>B"}, {"score": "B>A"}]},
    "evalkit": {"item": "a", "first": "m", "second": "b", "outcome": 1},
    "alpaca_eval": {"instruction": "q", "generator_1": "b", "generator_2": "m", "preference": 2},
    "llmbar": {"input": "i", "output_1": "o1", "output_2": "o2", "label": 1,
               "results": [{"swap = False": {"winner": "1"}, "swap = True": {"winner": "2"}}]},
}  # fmt: skip


def _write(path: Path, fmt: str, rows: list[dict[str, object]], tail: bytes = b"") -> Path:
    if fmt in ("alpaca_eval", "llmbar"):
        text = json.dumps(rows, ensure_ascii=False).encode()
        path.write_bytes(text[:-1] + tail + text[-1:] if tail else text)
    else:
        path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in rows) + tail)
    return path


@pytest.mark.parametrize("fmt", sorted(_GOOD))
def test_every_format_refuses_bytes_that_are_not_utf8_in_one_line(run_cli, tmp_path, fmt):
    """Non-UTF-8 bytes were a UnicodeDecodeError traceback for the JSONL formats."""
    tail = b'\n, "caf\xe9"' if fmt in ("alpaca_eval", "llmbar") else b'{"caf\xe9": 1}\n'
    path = _write(tmp_path / "j.json", fmt, [_GOOD[fmt]], tail)
    out = run_cli("judgments", "stats", str(path), "--format", fmt, "--baseline", "b")
    assert out.returncode == 2, out.stderr
    assert f"{path}:2: not valid UTF-8 (byte 0xe9" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_a_jsonl_line_holding_u2028_is_one_line(tmp_path):
    """str.splitlines cut a line at U+2028 inside a string (json writes it raw with
    ensure_ascii=False, as arena-hard-auto does): the line was "not JSON"."""
    row = {**_GOOD["arena_hard"], "judge": "gpt-4", "note": "a\u2028b\x85c"}
    path = tmp_path / "m.jsonl"
    path.write_text("\ufeff" + json.dumps(row, ensure_ascii=False) + "\r\n", encoding="utf-8")
    recorded = read_recorded([path], "arena_hard", baseline="b")
    assert [p.outcome for p in recorded.pairs] == [0.0, 0.0] and recorded.judges == ["gpt-4"]


_NAN, _INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("fmt", "change", "message"),
    [
        ("arena_hard", {"games": [{"score": ["A>B"]}, {"score": "A>B"}]},
         r"line 1: unknown verdict label \['A>B'\]"),
        ("arena_hard", {"games": [{"score": {"x": 1}}, {"score": "A>B"}]},
         "line 1: unknown verdict label {'x': 1}"),
        ("arena_hard", {"games": [5, {"score": "A>B"}]}, "line 1: a game is a number"),
        ("arena_hard", {"model": ["m"]}, "line 1: 'model' is a list, not a string"),
        ("arena_hard", {"uid": {"q": 1}}, "line 1: 'uid' is an object, not a string or an"),
        ("evalkit", {"lengths": ["x", "y"]}, r"line 1: lengths \['x', 'y'\] are not two"),
        ("evalkit", {"lengths": [1]}, r"line 1: lengths \[1\] are not two non-negative"),
        ("evalkit", {"lengths": [None, 3]}, r"line 1: lengths \[None, 3\] are not two"),
        ("evalkit", {"lengths": [True, 3]}, "line 1: lengths"),
        ("evalkit", {"first": ["m"]}, "line 1: 'first' is a list, not a string"),
        ("evalkit", {"second": 7}, "line 1: 'second' is a number, not a string"),
        ("evalkit", {"consistent": "yes"}, "line 1: 'consistent' is a string, not true/false"),
        ("evalkit", {"outcome": None, "item": None, "sample_id": None},
         r"line 1: missing field 'item' \(or 'sample_id'\)"),
        ("evalkit", {"first": None, "model": "m", "score": _NAN},
         "line 1: score nan is not a finite number"),
        ("evalkit", {"first": None, "model": "m", "score": _INF},
         "line 1: score inf is not a finite number"),
        ("evalkit", {"first": None, "model": ["m"], "score": 3}, "line 1: 'model' is a list"),
        ("mt_bench", {"score": _NAN}, "line 1: score nan is not a finite number"),
        ("mt_bench", {"score": -_INF}, "line 1: score -inf is not a finite number"),
        ("mt_bench", {"score": 42}, "line 1: score 42 is outside MT-Bench's 1-10 scale"),
        ("mt_bench", {"score": -7}, "line 1: score -7 is outside MT-Bench's 1-10 scale"),
        ("mt_bench", {"score": 0.5}, "line 1: score 0.5 is outside"),
        ("mt_bench", {"model": ["a"]}, "line 1: 'model' is a list, not a string"),
        ("mt_bench", {"turn": "1"}, "line 1: 'turn' is a string, not an integer"),
        ("mt_bench", {"question_id": [1]}, "line 1: 'question_id' is a list"),
        ("mt_bench", {"model_1": "a", "model_2": "b", "g1_winner": ["model_1"],
                      "g2_winner": "model_1"}, r"line 1: g1_winner \['model_1'\] is not model_1"),
        ("mt_bench", {"model_1": "a", "model_2": "b", "g1_winner": "model_1", "g2_winner": "A"},
         "line 1: g2_winner 'A' is not model_1, model_2, tie or error"),
        ("mt_bench", {"model_1": ["a"], "model_2": "b", "winner": "tie"}, "line 1: 'model_1' is a"),
        ("alpaca_eval", {"generator_2": ["m"]}, "row 0: 'generator_2' is a list, not a string"),
        ("alpaca_eval", {"instruction": 5}, "row 0: 'instruction' is a number, not a string"),
        ("llmbar", {"results": [{"swap = False": {"winner": [1]}}]},
         r"pair 0: winner \[1\] is not 1, 2 or null"),
        ("llmbar", {"results": [{"swap = False": {"winner": "3"}}]}, "pair 0: winner '3' is not"),
        ("llmbar", {"results": [{"swap = False": {"winner": True}}]}, "pair 0: winner True"),
        ("llmbar", {"results": [{"swap = False": {"winner": "1"}, "swap = True": "2"}]},
         "pair 0: 'swap = True' is a string, not an object"),
        ("llmbar", {"input": ["i"]}, "pair 0: 'input' is a list, not a string"),
        ("llmbar", {"output_2": None}, "pair 0: missing field 'output_2'"),
    ],
)  # fmt: skip
def test_a_field_of_the_wrong_type_or_value_is_refused_naming_file_and_line(
    tmp_path, fmt, change, message
):
    """Each was a traceback (unhashable label, int() of a length), a figure of nan/inf or of a
    score off the scale with exit 0, a name printed as "['m']", or an unknown winner counted as
    no verdict."""
    row = {k: v for k, v in {**_GOOD[fmt], **change}.items() if v is not None}
    path = _write(tmp_path / "j.json", fmt, [row])
    with pytest.raises(UserError, match=f"^{re.escape(str(path))}: {message}"):
        read_recorded([path], fmt, baseline="b")


def test_documented_values_still_read(tmp_path):
    """What the formats' own tools write: MT-Bench's -1 (a failed grading) and 1 to 10 (7.5 too),
    FastChat's "error" (no verdict), LLMBar's null winner and its number spelling, a null
    Arena-Hard game, evalkit's null lengths and consistent."""
    rows = [{**_GOOD["mt_bench"], "score": s} for s in (-1, 1, 10, 7.5)] + [
        {"question_id": 2, "model_1": "a", "model_2": "b", "g1_winner": "error", "g2_winner": "tie"}
    ]
    recorded = read_recorded([_write(tmp_path / "mt.jsonl", "mt_bench", rows)], "mt_bench")
    assert [s.score for s in recorded.scores] == [None, 1.0, 10.0, 7.5]
    assert recorded.pairs[0].outcome is None
    llmbar = {**_GOOD["llmbar"], "results": [{"swap = False": {"winner": None},
                                              "swap = True": {"winner": 2}}]}  # fmt: skip
    recorded = read_recorded([_write(tmp_path / "r.json", "llmbar", [llmbar])], "llmbar")
    assert [p.outcome for p in recorded.pairs] == [None, 0.0]
    assert recorded.pairs[0].consistent is False
    arena = {**_GOOD["arena_hard"], "games": [None, {"score": "A>B"}]}
    path = _write(tmp_path / "m.jsonl", "arena_hard", [arena])
    assert [p.outcome for p in read_recorded([path], "arena_hard", "b").pairs] == [None]
    pair = {**_GOOD["evalkit"], "lengths": None, "consistent": None}
    [read] = read_recorded([_write(tmp_path / "e.jsonl", "evalkit", [pair])], "evalkit").pairs
    assert (read.lengths, read.consistent, read.outcome) == (None, None, 1.0)


def test_a_model_judged_against_itself_is_left_out_with_a_warning(tmp_path, caplog):
    """AlpacaEval's annotations of its baseline (generator_1 == generator_2, preference 1.5),
    an Arena-Hard file of the baseline, a pair of one model twice: they counted as judgments
    (ties) in the judge figures, or gave an empty win-rate table with exit 0 and no word."""
    rows = _alpaca_rows([2.0, 1.0, 1.5])
    rows[2]["generator_1"] = rows[2]["generator_2"] = "model"
    (tmp_path / "a.json").write_text(json.dumps(rows), encoding="utf-8")
    summary = summarize_recorded(read_recorded([tmp_path / "a.json"], "alpaca_eval"), lc="none")
    assert summary["judge_report"]["judgments"] == 2
    assert summary["judge_report"]["tie_rate"] == 0.0
    assert "1 judgment(s) of 'model' against itself left out" in caplog.text
    arena = write_jsonl(tmp_path / "gpt-4-0314.jsonl", [{**_GOOD["arena_hard"], "model": "b"}])
    with pytest.raises(UserError, match="no judgments found \\(only 2 of a model against itself"):
        read_recorded([arena], "arena_hard", baseline="b")
    pairs = [{**_GOOD["evalkit"], "second": "m"}, {**_GOOD["evalkit"], "item": "z"}]
    recorded = read_recorded([write_jsonl(tmp_path / "e.jsonl", pairs)], "evalkit")
    assert [(p.item, p.first, p.second) for p in recorded.pairs] == [("z", "m", "b")]


def test_cli_output_writes_through_links_and_pipes_and_reports_failures(run_cli, tmp_path):
    """-o /dev/stdout (as root) replaced the /dev/stdout link with a regular file and -o a
    dangling link replaced the link: the atomic write renamed a temporary file over the path.
    -o /proc/x.json and /sys/x.json were tracebacks."""
    path = write_jsonl(tmp_path / "e.jsonl", [_GOOD["evalkit"]])
    stats = ("judgments", "stats", str(path), "--format", "evalkit", "-o")
    target, link, dangling = tmp_path / "t.json", tmp_path / "l.json", tmp_path / "d.json"
    target.write_text("old", encoding="utf-8")
    link.symlink_to(target)
    dangling.symlink_to(tmp_path / "new.json")
    for output, written in [(link, target), (dangling, tmp_path / "new.json")]:
        out = run_cli(*stats, str(output))
        assert out.returncode == 0, out.stderr
        assert output.is_symlink() and json.loads(written.read_text(encoding="utf-8"))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        out = run_cli(*stats, str(fifo))
        assert out.returncode == 0, out.stderr
        assert fifo.is_fifo() and json.loads(os.read(reader, 1 << 16))
    finally:
        os.close(reader)
    for output in ("/proc/x.json", "/sys/x.json"):
        out = run_cli(*stats, output)
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        assert out.stderr.startswith(f"evalkit: error: {output}: cannot write (")
        assert len(out.stderr.strip().splitlines()) == 1


def test_cli_refuses_options_that_do_not_fit_before_reading(run_cli, tmp_path):
    """-o naming an input overwrote it; --lc alpaca_eval without --difficulty named
    `difficulty=FILE`, not the option; --difficulty without --lc alpaca_eval was ignored."""
    path = write_jsonl(tmp_path / "e.jsonl", [_GOOD["evalkit"]])
    before = path.read_bytes()
    (tmp_path / "sub").mkdir()
    for output in (path, tmp_path / "sub" / ".." / "e.jsonl"):
        out = run_cli("judgments", "stats", str(path), "--format", "evalkit", "-o", str(output))
        assert out.returncode == 2 and "is the input file" in out.stderr, out.stderr
    assert path.read_bytes() == before
    stats = ("judgments", "stats", str(path), "--format", "evalkit")
    for extra, message in [
        (["--lc", "alpaca_eval"], "--lc alpaca_eval needs --difficulty FILE"),
        (["--difficulty", "d.csv"], "--difficulty and --gamed are read only with --lc alpaca_eval"),
        (
            ["--format", "arena_hard"],
            "arena_hard judgments do not name the baseline: pass --baseline MODEL",
        ),
    ]:
        out = run_cli(*stats, *extra)
        assert out.returncode == 2 and f"evalkit: error: {message}" in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
    with pytest.raises(UserError, match=r"^/dev/null: is a device or a pipe, not a judgments"):
        read_recorded([Path("/dev/null")], "evalkit")


def test_a_file_given_twice_by_a_hard_link_or_symlink_is_refused(tmp_path):
    """A hard-linked copy given next to the file was read twice (n doubled): the check compared
    resolved names, and a hard link has its own name. One file is one (device, inode)."""
    path = write_jsonl(tmp_path / "e.jsonl", [_GOOD["evalkit"]])
    hard, soft = tmp_path / "hard.jsonl", tmp_path / "soft.jsonl"
    os.link(path, hard)
    soft.symlink_to(path)
    for other in (hard, soft, path):
        with pytest.raises(UserError, match=r"given twice.*its judgments would count twice"):
            read_recorded([path, other], "evalkit")
    copy = write_jsonl(tmp_path / "copy.jsonl", [_GOOD["evalkit"]])  # a real copy: two files
    assert len(read_recorded([path, copy], "evalkit").pairs) == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"preference": False}, "row 0: preference false is not a number"),  # was a tie
        ({"preference": True}, "row 0: preference true is not a number"),
        ({"output_1": 5}, "row 0: 'output_1' is a number, not a string"),  # dropped the lengths
        ({"output_2": ["x"]}, "row 0: 'output_2' is a list, not a string"),
        ({"len_1": -5, "len_2": 100}, "row 0: 'len_1' -5 is negative"),  # was used in LC
        ({"len_1": 5, "len_2": 100.0}, "row 0: 'len_2' 100.0 is not an integer"),
        ({"len_1": True, "len_2": 100}, "row 0: 'len_1' is true/false, not an integer"),
    ],
)
def test_alpaca_eval_fields_of_the_wrong_type_are_refused(tmp_path, change, message):
    """AlpacaEval's annotations hold output_1/output_2 as strings and preference as a number in
    [1, 2] (0: a legacy tie); len_1/len_2 stand in for texts left out. A boolean preference was
    a tie and a negative length entered the LC fit; a wrong-typed text or length dropped the
    lengths, and the LC win rate with them, silently."""
    rows = _alpaca_rows([2.0, 1.0])
    if "len_1" in change or "len_2" in change:
        for row in rows:
            del row["output_1"], row["output_2"]
    rows[0].update(change)
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    with pytest.raises(UserError, match=re.escape(message)):
        read_recorded([path], "alpaca_eval")


def test_alpaca_eval_lengths_from_len_fields_when_the_texts_are_left_out(tmp_path):
    rows = _alpaca_rows([2.0, 0])
    for row in rows:
        del row["output_1"], row["output_2"]
        row.update(len_1=0, len_2=7)
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    recorded = read_recorded([path], "alpaca_eval")
    assert [(p.outcome, p.lengths) for p in recorded.pairs] == [(1.0, (7, 0)), (0.5, (7, 0))]


def test_huge_numbers_are_one_line_and_json_output_is_strict_json(run_cli, tmp_path):
    """A 5000-digit integer was json's ValueError traceback (Python converts at most 4300
    digits); scores of 1e308 twice gave mean Infinity and --json printed Infinity and NaN."""
    huge = "9" * 5000
    files = {
        "a.json": ("alpaca_eval", f'[{{"instruction": "q", "preference": {huge}}}]'),
        "m.jsonl": ("mt_bench", f'{{"question_id": 1, "model": "a", "score": {huge}}}\n'),
        "e.jsonl": ("evalkit", '{"item": "i", "model": "a", "score": 1e308}\n' * 2),
        "i.jsonl": ("evalkit", f'{{"item": "i", "model": "a", "score": {"9" * 400}}}\n'),
    }
    for name, (fmt, text) in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        out = run_cli("judgments", "stats", str(tmp_path / name), "--format", fmt, "--json")
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        assert out.stderr.startswith(f"evalkit: error: {tmp_path / name}")
        assert len(out.stderr.strip().splitlines()) == 1 and len(out.stderr) < 300
    scores = [{"item": k, "model": "a", "score": 1e15} for k in "ij"]
    path = write_jsonl(tmp_path / "ok.jsonl", [*scores, {"item": "i", "model": "b", "score": 1}])
    out = run_cli("judgments", "stats", str(path), "--format", "evalkit", "--json")
    assert out.returncode == 0, out.stderr

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in --json output")

    summary = json.loads(out.stdout, parse_constant=refuse)
    assert json.dumps(summary).count("1000000000000000.0") >= 1


@pytest.mark.parametrize("turn", [0, -1])
def test_mt_bench_turns_count_from_one(tmp_path, turn):
    """FastChat's judgment files number turns 1 and 2; turn 0 or -1 was read as another item."""
    path = write_jsonl(tmp_path / "m.jsonl", [{**_GOOD["mt_bench"], "turn": turn}])
    with pytest.raises(UserError, match=rf"line 1: 'turn' {turn} is below 1"):
        read_recorded([path], "mt_bench")
    ok = write_jsonl(tmp_path / "ok.jsonl", [{**_GOOD["mt_bench"], "turn": 2}])
    assert [s.item for s in read_recorded([ok], "mt_bench").scores] == ["1:turn2"]
