"""AlpacaEval 2.0's length-controlled win rate (`lc=alpaca_eval`).

Golden values come from the reference implementation: the `alpaca_eval` package (0.6.6)'s
`get_length_controlled_winrate`, run by benchmarks/alpaca_eval_lc_reference.py on AlpacaEval's
annotation files with the seeded synthetic difficulty and gamed-baseline files that script
writes (AlpacaEval's real ones live on the HF hub, out of reach here). The annotation files are
read from ../shared/data/alpaca_eval (or $EVALKIT_ALPACA_EVAL_DATA); without them that test is
skipped.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from evalkit.analysis.recorded_stats import summarize_recorded
from evalkit.errors import UserError
from evalkit.judges.recorded_judgments import read_recorded
from evalkit.stats.alpaca_eval_lc import read_difficulty, read_gamed
from tests.conftest import REPO, SHARED_DATA

pytest.importorskip("sklearn")

ALPACA_EVAL = Path(os.environ.get("EVALKIT_ALPACA_EVAL_DATA", SHARED_DATA / "alpaca_eval"))
# alpaca_eval 0.6.6, get_length_controlled_winrate(...)["length_controlled_winrate"] / 100
REFERENCE = {
    "claude-2.1": 0.30257313273728564,
    "gpt-3.5-turbo-1106": 0.266114920746514,
    "gpt4_gamed": 0.1612574433581626,
}


def _reference_script():
    path = REPO / "benchmarks" / "alpaca_eval_lc_reference.py"
    spec = importlib.util.spec_from_file_location("alpaca_eval_lc_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def glm_files(tmp_path_factory) -> tuple[Path, Path]:
    table, rows = _reference_script().synthetic_inputs(805)
    folder = tmp_path_factory.mktemp("glm")
    table.to_csv(folder / "difficulty.csv", index=False)
    rows.to_csv(folder / "gamed.csv", index=False)
    return folder / "difficulty.csv", folder / "gamed.csv"


@pytest.mark.skipif(not (ALPACA_EVAL / "claude-2.1.json").is_file(), reason="no AlpacaEval data")
@pytest.mark.parametrize("model", sorted(REFERENCE))
def test_lc_win_rate_equals_the_alpaca_eval_package(model, glm_files):
    difficulty, gamed = glm_files
    recorded = read_recorded([ALPACA_EVAL / f"{model}.json"], "alpaca_eval")
    row = summarize_recorded(recorded, lc="alpaca_eval", difficulty=difficulty, gamed=gamed)[
        "win_rates"
    ][0]
    assert row["alpaca_eval_lc_win_rate"] == pytest.approx(REFERENCE[model], rel=1e-9)


def _at(path: Path, message: str) -> str:
    """The error's start: `PATH: line N: ...`, or `PATH:N: ...` for what the shared CSV reader
    (evalkit.csvfiles) refuses, whose expected messages start with ':'."""
    return f"{path}{message}" if message.startswith(":") else f"{path}: {message}"


def _annotations(tmp_path: Path, rng: np.random.Generator, n: int) -> Path:
    model = rng.integers(200, 2000, n)
    base = rng.integers(200, 2000, n)
    z = (base - model) / np.std(base - model, ddof=1)
    preference = 1 / (1 + np.exp(2.5 * np.tanh(z)))  # only length matters: longer wins
    rows = [
        {"instruction": f"i{k}", "generator_1": "base", "generator_2": "m", "len_1": int(b),
         "len_2": int(m), "preference": 1 + float(p)}
        for k, (m, b, p) in enumerate(zip(model, base, preference, strict=True))
    ]  # fmt: skip
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def test_a_pure_length_effect_is_removed(tmp_path):
    rng = np.random.default_rng(5)
    path = _annotations(tmp_path, rng, 300)
    difficulty = tmp_path / "difficulty.csv"
    difficulty.write_text(
        "index,instruction_difficulty\n" + "".join(f"{k},{rng.normal()}\n" for k in range(300)),
        encoding="utf-8",
    )
    recorded = read_recorded([path], "alpaca_eval")
    row = summarize_recorded(recorded, lc="alpaca_eval", difficulty=difficulty)["win_rates"][0]
    assert row["alpaca_eval_lc_win_rate"] == pytest.approx(0.5, abs=0.02)
    assert row["alpaca_eval_lc_coefficients"]["length"] < -1  # their sign: baseline minus model
    assert row["alpaca_eval_lc_regularized"] is False
    short = tmp_path / "short.csv"
    short.write_text("index,instruction_difficulty\n0,0.1\n", encoding="utf-8")
    with pytest.raises(UserError, match="no difficulty for instruction index 1"):
        summarize_recorded(recorded, lc="alpaca_eval", difficulty=short)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("index,d\n0,0.5\n1,nan\n", "line 3: difficulty 'nan' is not a finite number"),
        ("index,d\n0,0.5\n1,\n", "line 3: difficulty '' is not a finite number"),
        ("index,d\n0,0.5\n\n1,hard\n", "line 4: difficulty 'hard' is not a finite number"),
        ("index,d\n0,inf\n", "line 2: difficulty 'inf' is not a finite number"),
        ("index,d\n0.7,0.5\n", "line 2: index '0.7' is not an integer"),
        ("index,d\n0,0.5\n0,0.6\n", "line 3: instruction index 0 given twice"),
        ("index,d\n0,0.5,1\n", "line 2: 3 cells, the header has 2"),
        ("index\n0\n", "needs two columns, instruction index and difficulty"),
        ("", "the file is empty"),
        # a magnitude that overflows the fit was sklearn's traceback
        ("index,d\n0,1e300\n", "line 2: difficulty '1e300' is beyond +-1e+06"),
        # Python's int/float read these; only plain ASCII decimals are numbers here
        ("index,d\n0_1,0.5\n", "line 2: index '0_1' is not an integer"),
        ("index,d\n\uff10,0.5\n", "line 2: index '\uff10' is not an integer"),
        ("index,d\n0,1_00\n", "line 2: difficulty '1_00' is not a finite number"),
        ("index,d\n0,\uff10.5\n", "line 2: difficulty '\uff10.5' is not a finite number"),
        (f"index,d\n{'9' * 5000},0.5\n", f"line 2: index '{'9' * 40}...' is not an integer"),
        ('index,d\n0,0.5\n13,"0.5\n', ":3: a quoted field opens on this line and is never closed"),
        ("index,index\n0,0.5\n", ":1: the header names the column 'index' twice"),
    ],
)
def test_a_bad_difficulty_file_is_one_line_naming_the_line_and_the_value(tmp_path, text, message):
    """An empty or nan cell was sklearn's "Input X contains NaN" traceback; 0.7 read as 0."""
    path = tmp_path / "difficulty.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=f"^{re.escape(_at(path, message))}"):
        read_difficulty(path)


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ("0.5,abc,0.3", "line 3: std_delta_len 'abc' is not a finite number"),
        ("0.5,,0.3", "line 3: std_delta_len '' is not a finite number"),
        ("0.5,0.1,nan", "line 3: instruction_difficulty 'nan' is not a finite number"),
        ("1.7,0.2,0.3", "line 3: preference 1.7 is outside [0, 1]"),
        ("0.5,1e300,0.3", "line 3: std_delta_len '1e300' is beyond +-1e+06"),
        ('0.5,0.1,"0.3', ":3: a quoted field opens on this line and is never closed"),
    ],
)
def test_a_bad_gamed_file_is_one_line_naming_the_line_and_the_value(tmp_path, cells, message):
    path = tmp_path / "gamed.csv"
    header = "model,preference,std_delta_len,instruction_difficulty\n"
    path.write_text(f"{header}g,0.2,0.1,0.1\ng,{cells}\n", encoding="utf-8")
    with pytest.raises(UserError, match=f"^{re.escape(_at(path, message))}"):
        read_gamed(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # no row regularised, yet the summary said alpaca_eval_lc_regularized: true
        ("preference,std_delta_len,instruction_difficulty\n", "no row with a preference"),
        ("preference,std_delta_len,instruction_difficulty\nnan,1,1\n", "no row with a preference"),
        (
            "preference,std_delta_len,preference,instruction_difficulty\n0.5,1,0.2,1\n",
            ":1: the header names the column 'preference' twice",
        ),
    ],
)
def test_a_gamed_file_without_rows_or_with_a_column_twice_is_refused(tmp_path, text, message):
    path = tmp_path / "gamed.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=f"^{re.escape(_at(path, message))}"):
        read_gamed(path)


def test_gamed_rows_without_a_preference_are_left_out_and_files_read_as_utf8(tmp_path):
    path = tmp_path / "gamed.csv"
    path.write_text(
        "\ufeffpreference,std_delta_len,instruction_difficulty\r\n0.25,-1,0.5\r\n,2,0.1\r\n"
        "nan,3,0.2\r\n1,0.5,-0.5\r\n",
        encoding="utf-8",
    )
    rows = read_gamed(path)
    assert rows.preference.tolist() == [0.25, 1.0] and rows.std_delta_len.tolist() == [-1, 0.5]
    assert rows.difficulty.tolist() == [0.5, -0.5]
    path.write_bytes(b"index,d\n0,0.\xff\n")
    with pytest.raises(UserError, match=r"gamed\.csv:2: not valid UTF-8 \(byte 0xff"):
        read_difficulty(path)
    with pytest.raises(UserError, match=r"^/dev/null: is a device or a pipe, not a CSV file"):
        read_difficulty(Path("/dev/null"))


def test_too_few_verdicts_for_the_cross_validation_is_one_line(tmp_path):
    """Fewer judged rows than the 5 folds was sklearn's GroupKFold ValueError traceback."""
    path = _annotations(tmp_path, np.random.default_rng(1), 3)
    difficulty = tmp_path / "difficulty.csv"
    difficulty.write_text("index,d\n0,0.1\n1,0.2\n2,0.3\n", encoding="utf-8")
    recorded = read_recorded([path], "alpaca_eval")
    with pytest.raises(UserError, match=r"needs at least 5 judged rows .* there are 3"):
        summarize_recorded(recorded, lc="alpaca_eval", difficulty=difficulty)
