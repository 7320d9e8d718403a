"""AlpacaEval 2.0's length-controlled win rate, as its `length_controlled_v1` GLM defines it.

Dubois et al. 2024, "Length-Controlled AlpacaEval" (arXiv 2404.04475); reference implementation:
tatsu-lab/alpaca_eval `src/alpaca_eval/metrics/glm_winrate.py` (read, not copied). For one model
against the baseline, on every instruction i:

    logit P(model preferred) = w_len * tanh(dlen_i / sd(dlen)) + w_diff * difficulty_i + w_bias

- `dlen_i`: the baseline's output length minus the model's, in characters (their sign);
  `sd`: the sample standard deviation of dlen over all rows, rows without a verdict included.
- `difficulty_i`: a fixed per-instruction covariate read from a file (AlpacaEval publishes its
  own, `instruction_difficulty.csv` in the `tatsu-lab/alpaca_eval` dataset on the HF hub).
- The outcome is the weighted preference in [0, 1] (not a discrete win): each row enters twice,
  as a win with weight p and as a loss with weight 1 - p.
- Regularisation (optional, their default): the rows of the gamed baselines (the baseline asked
  to be concise / verbose, `df_gamed.csv` in the same dataset) join the fit with `w_bias`'s
  feature set to 0 and weight lambda / 2 each (lambda = 0.2), which pulls w_len and w_diff towards
  the values that explain the gamed baselines.
- The fit: L1-penalised logistic regression without intercept (liblinear, random_state 123),
  C chosen among 10 values log-spaced in [1e-4, 1e4] by 5-fold GroupKFold cross-validation (the
  two copies of a row in one group) on the weighted continuous log loss, then refitted on all rows:
  sklearn's `LogisticRegressionCV` as AlpacaEval configures it, written out (liblinear's seeds
  drawn as it draws them), so that it matches the package to the last digit.
- LC win rate: the mean over every instruction (those without a verdict too) of the predicted
  preference at dlen = 0; its standard error is the SEM of those predictions. Both x 100 on the
  leaderboard; here in [0, 1].

Needs scikit-learn (`pip install 'evalkit[alpaca_eval]'`). Errors: `UserError` for a missing or
malformed difficulty / gamed-baselines file (naming the line and the cell), an instruction index
the difficulty file lacks, or fewer judged rows than the cross-validation's folds.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evalkit.csvfiles import csv_error, refuse_duplicate_columns
from evalkit.errors import UserError
from evalkit.textfiles import read_text, require_file

REGULARIZE_LAMBDA = 0.2
N_SPLITS = 5
MAX_MAGNITUDE = 1e6
"""The largest difficulty or std_delta_len read: AlpacaEval's are of order 1 (a difficulty is a
fitted coefficient, std_delta_len a standardised difference); far larger ones overflow the fit."""
_INDEX = re.compile(r"[+-]?[0-9]{1,18}", re.ASCII)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
"""Plain ASCII decimal forms: Python's int/float also take '1_00', '0_1' and full-width digits."""


def _shown(cell: str, limit: int = 40) -> str:
    """A cell as echoed in an error: quoted, cut to `limit` characters."""
    return repr(cell if len(cell) <= limit else cell[:limit] + "...")


N_CS = 10
RANDOM_STATE = 123
_EPS = 1e-15


@dataclass(frozen=True)
class AlpacaEvalLC:
    win_rate: float  # in [0, 1]
    standard_error: float  # SEM of the per-instruction predictions, in [0, 1] units
    length_coefficient: float  # w_len (dlen = baseline minus model, their sign)
    difficulty_coefficient: float
    bias: float
    c: float  # the inverse regularisation strength cross-validation chose


@dataclass(frozen=True)
class GamedRows:
    """The gamed baselines' rows: preference in [0, 1], standardised length difference,
    instruction difficulty."""

    preference: np.ndarray
    std_delta_len: np.ndarray
    difficulty: np.ndarray


def read_difficulty(path: Path) -> dict[int, float]:
    """instruction index -> difficulty, from a CSV whose first column is the index and whose
    second is the difficulty (AlpacaEval's `instruction_difficulty.csv`). An index that is not
    an integer, one given twice, or a difficulty that is not a finite number is refused."""
    header, rows = _read_csv(path)
    if len(header) < 2:
        raise UserError(f"{path}: needs two columns, instruction index and difficulty")
    out: dict[int, float] = {}
    for line, row in rows:
        if not _INDEX.fullmatch(row[0].strip()):
            raise UserError(
                f"{path}: line {line}: index {_shown(row[0])} is not an integer (of at most 18"
                " plain digits)"
            )
        index = int(row[0])
        if index in out:
            raise UserError(f"{path}: line {line}: instruction index {index} given twice")
        out[index] = _finite(row[1], "difficulty", path, line)
    return out


_GAMED_COLUMNS = ("preference", "std_delta_len", "instruction_difficulty")


def read_gamed(path: Path) -> GamedRows:
    """The gamed baselines' rows from a CSV with columns preference (in [0, 1]), std_delta_len
    and instruction_difficulty (AlpacaEval's `df_gamed.csv`). A row without a preference is
    left out (no verdict); any other empty or non-numeric cell is refused."""
    header, rows = _read_csv(path)
    missing = set(_GAMED_COLUMNS) - set(header)
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    at = {name: header.index(name) for name in _GAMED_COLUMNS}
    table: list[list[float]] = []
    for line, row in rows:
        preference = row[at["preference"]]
        if preference.strip().lower() in ("", "nan"):
            continue
        values = [_finite(row[at[name]], name, path, line) for name in _GAMED_COLUMNS]
        if not 0 <= values[0] <= 1:
            raise UserError(f"{path}: line {line}: preference {preference} is outside [0, 1]")
        table.append(values)
    if not table:
        raise UserError(f"{path}: no row with a preference (nothing to regularise towards)")
    columns = np.array(table, np.float64).reshape(-1, 3).T
    return GamedRows(columns[0], columns[1], columns[2])


def _finite(cell: str, name: str, path: Path, line: int) -> float:
    """A plain decimal number of magnitude at most MAX_MAGNITUDE."""
    value = float(cell) if _NUMBER.fullmatch(cell.strip()) else math.nan
    if not math.isfinite(value):
        raise UserError(f"{path}: line {line}: {name} {_shown(cell)} is not a finite number")
    if abs(value) > MAX_MAGNITUDE:
        raise UserError(
            f"{path}: line {line}: {name} {_shown(cell)} is beyond +-{MAX_MAGNITUDE:.0e}"
            " (it would overflow the fit)"
        )
    return value


def _read_csv(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The CSV's header and its rows with their line numbers (read as UTF-8, as evalkit reads
    every file); blank lines are skipped, a row of another length than the header refused."""
    require_file(path, f"{path}: no such file", "CSV file")
    reader = csv.reader(io.StringIO(read_text(path), newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    start = 1  # the line where the record being read opens
    try:
        for row in reader:
            if header is None:
                header = row
            elif any(cell.strip() for cell in row):
                rows.append((reader.line_num, row))
            start = reader.line_num + 1
    except csv.Error as exc:  # strict: a quote never closed, text after a closing quote
        raise csv_error(path, ",", start, exc) from None
    if not header:
        raise UserError(f"{path}: the file is empty (a CSV file with a header line is needed)")
    refuse_duplicate_columns(path, header)
    for line, row in rows:
        if len(row) != len(header):
            raise UserError(f"{path}: line {line}: {len(row)} cells, the header has {len(header)}")
    return header, rows


def alpaca_eval_lc(
    preferences: Sequence[float | None],
    model_lengths: Sequence[int],
    baseline_lengths: Sequence[int],
    difficulty: Sequence[float],
    gamed: GamedRows | None = None,
    regularize_lambda: float = REGULARIZE_LAMBDA,
) -> AlpacaEvalLC:
    """AlpacaEval's LC win rate of a model over the baseline, one entry per instruction (see the
    module docstring). `preferences`: the model's in [0, 1], None where there was no verdict.
    `gamed=None` fits without regularisation (their `length_controlled_noreg`)."""
    delta = np.asarray(baseline_lengths, np.float64) - np.asarray(model_lengths, np.float64)
    spread = float(delta.std(ddof=1)) if delta.size > 1 else 0.0
    std_delta = delta / spread if spread > 0 else np.zeros_like(delta)
    y = np.array([math.nan if p is None else p for p in preferences], np.float64)
    diff = np.asarray(difficulty, np.float64)
    known = ~np.isnan(y)
    x = np.column_stack([np.tanh(std_delta), diff, np.ones_like(diff)])[known]
    target, weight = y[known], np.ones(int(known.sum()))
    if gamed is not None:
        x_gamed = np.column_stack(
            [np.tanh(gamed.std_delta_len), gamed.difficulty, np.zeros_like(gamed.difficulty)]
        )
        x = np.vstack([x_gamed, x])  # their order: gamed rows first
        target = np.concatenate([gamed.preference, target])
        weight = np.concatenate([np.full(len(gamed.preference), regularize_lambda / 2), weight])
    coef, c = _fit(x, target, weight, regularized=gamed is not None)
    test = np.column_stack([np.zeros_like(diff), diff, np.ones_like(diff)])
    predicted = 1 / (1 + np.exp(-(test @ coef)))
    sem = float(predicted.std(ddof=1) / math.sqrt(predicted.size)) if predicted.size > 1 else 0.0
    length, difficulty_coef, bias = (float(v) for v in coef)
    return AlpacaEvalLC(float(predicted.mean()), sem, length, difficulty_coef, bias, c)


def _fit(
    x: np.ndarray, p: np.ndarray, weight: np.ndarray, *, regularized: bool
) -> tuple[np.ndarray, float]:
    """Cross-validated L1 logistic regression on continuous targets (each row twice)."""
    try:
        from sklearn import __version__ as sklearn_version
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import GroupKFold
    except ImportError:
        raise UserError(
            "AlpacaEval's LC win rate needs scikit-learn: pip install 'evalkit[alpaca_eval]'"
        ) from None
    n = len(p)
    if n < N_SPLITS:  # its cross-validation needs a row per fold
        raise UserError(
            f"AlpacaEval's LC win rate needs at least {N_SPLITS} judged rows (its {N_SPLITS}-fold"
            f" cross-validation); there are {n}"
        )
    x_dup = np.vstack([x, x])
    y_dup = np.concatenate([np.ones(n), np.zeros(n)])
    prob = np.concatenate([p, 1 - p])  # the probability of each copy's label
    w_dup = np.concatenate([weight, weight])
    groups = np.concatenate([np.arange(n), np.arange(n)])
    score_weight = w_dup if regularized else None

    major, minor = (int(part) for part in sklearn_version.split(".")[:2])
    # sklearn 1.8 deprecated `penalty`: l1_ratio=1 is the L1 penalty from then on
    l1: dict[str, Any] = {"l1_ratio": 1.0} if (major, minor) >= (1, 8) else {"penalty": "l1"}

    def model(c: float, seeds: np.random.RandomState) -> LogisticRegression:
        return LogisticRegression(
            C=c, solver="liblinear", fit_intercept=False, random_state=seeds, **l1
        )

    cs = np.logspace(-4, 4, N_CS)
    scores = np.zeros(N_CS)
    for train, test in GroupKFold(n_splits=N_SPLITS).split(x_dup, y_dup, groups):
        # one generator per fold, drawn from once per C, as sklearn's LogisticRegressionCV does
        seeds = np.random.RandomState(RANDOM_STATE)
        for k, c in enumerate(cs):
            fitted = model(c, seeds).fit(
                x_dup[train], y_dup[train], sample_weight=(prob * w_dup)[train]
            )
            q = np.clip(fitted.predict_proba(x_dup[test])[:, 1], _EPS, 1 - _EPS)
            # the label's probability, whichever copy: p for both copies of a row
            truth = np.where(y_dup[test] == 1, prob[test], 1 - prob[test])
            loss = truth * np.log(q) + (1 - truth) * np.log(1 - q)
            if score_weight is not None:
                loss = loss * score_weight[test]
            scores[k] += -float(np.mean(loss)) / N_SPLITS
    best = float(cs[int(np.argmin(scores))])
    final = model(best, np.random.RandomState(RANDOM_STATE))
    final.fit(x_dup, y_dup, sample_weight=prob * w_dup)
    return np.asarray(final.coef_[0], np.float64), best
