"""Recorded judgments as a judge source: published verdict files read without calling any model.

A pairwise judgment is an item, two models and the first model's preference in [0, 1] (1 win,
0.5 tie, 0 loss, or anything between for a probability-weighted verdict); a pointwise one is an
item, a model and a score. Formats (`format=`):

- `alpaca_eval`: an AlpacaEval annotations JSON list (`results/<model>/<annotator>/
  annotations.json`). `generator_2` is the model, `generator_1` the baseline; `preference` in
  [1, 2] becomes `preference - 1` for the model (AlpacaEval's own convention: 2 means output_2
  wins; a legacy 0 is a tie, 1.5; null is no verdict). Output lengths in characters come from
  `output_1`/`output_2`, or from `len_1`/`len_2` when the texts were left out. The item id is the
  instruction; `position` is the row (AlpacaEval's instruction index).
- `mt_bench`: FastChat llm_judge judgment JSONL. Pairwise lines (`model_1`, `model_2`,
  `g1_winner`, `g2_winner` in model_1/model_2/tie/error, or one `winner`): a verdict that flips
  with the order is a tie, as FastChat's show_result counts it. Single-answer lines (`model`,
  `score`, -1 for a failed grading). The item id is `question_id` and `turn`.
- `arena_hard`: Arena-Hard-Auto judgment JSONL (`uid` or `question_id`, `model`, two `games`,
  each with a `score` label such as `A>>B`): game 1 shows the baseline as A, game 2 the model as A;
  a strong verdict (`>>`) counts as 3 battles (their weight), and a line with a missing label is
  dropped, as arena-hard-auto's show_result does. The baseline is not in the file: pass it.
- `llmbar`: an LLMBar evaluator's `result.json` (princeton-nlp/LLMBar, `Dataset/LLMBar/<set>/
  evaluators/<LLM>/<strategy>/result.json`): per pair the instruction (`input`; the item is
  `<set>-<index>`, the sample id `evalkit task llmbar` writes, when the file is in that layout),
  `output_1`, `output_2`, the gold `label` (1 or 2: which output follows the instruction) and
  the judge's `winner` in each order (`swap = False` / `swap = True` of the last round, both
  named in the listed labeling). Each order is one judgment of `output_1` against `output_2`;
  the gold label is its `human` outcome; an unparsed winner is no verdict. The two orders are
  consistent when their recorded winners are equal (two unparsed ones too, as LLMBar's
  `equal` counts them). The judge is `<LLM>/<strategy>` from the path; files of two judges,
  or two judgments of one pair (its instruction and outputs) in one order, are refused: their
  verdicts would be averaged into a figure of neither judge.
- `evalkit`: JSONL with `item` (or `sample_id`), `first`, `second`, `outcome` (or `preference`)
  for pairs, or `item`, `model`, `score` for points; evalkit's own `pairwise.jsonl` reads as is.

Errors: `UserError` naming the file, line and field for a missing file or malformed line.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evalkit.errors import UserError

Format = Literal["alpaca_eval", "mt_bench", "arena_hard", "llmbar", "evalkit"]
FORMATS: tuple[Format, ...] = ("alpaca_eval", "mt_bench", "arena_hard", "llmbar", "evalkit")

# Arena-Hard labels -> (score of the answer shown as A, battles it counts for)
ARENA_HARD_WEIGHT = 3
_ARENA_LABELS: dict[str, tuple[float, int]] = {
    "A>B": (1.0, 1), "A>>B": (1.0, ARENA_HARD_WEIGHT), "A=B": (0.5, 1),
    "A<B": (0.0, 1), "A<<B": (0.0, ARENA_HARD_WEIGHT), "B>A": (0.0, 1),
    "B>>A": (0.0, ARENA_HARD_WEIGHT), "B=A": (0.5, 1), "B<A": (1.0, 1),
    "B<<A": (1.0, ARENA_HARD_WEIGHT),
}  # fmt: skip
_FASTCHAT_WINNER = {"model_1": 1.0, "model_2": 0.0, "tie": 0.5}


@dataclass(frozen=True)
class RecordedPair:
    item: str
    first: str
    second: str
    outcome: float | None  # the first model's preference in [0, 1]; None: no verdict
    weight: int = 1  # battles this verdict counts for (Arena-Hard's strong verdicts: 3)
    lengths: tuple[int, int] | None = None  # first's and second's output length (characters)
    position: int | None = None  # row in the file (AlpacaEval: the instruction index)
    consistent: bool | None = None  # both orders agreed (formats that judge both)
    human: float | None = None  # people's (or a gold label's) preference for `first` in [0, 1]
    swapped: bool | None = None  # shown second-first (True) or as listed (False); None: unknown
    outputs_sha: str | None = None  # a digest of the two outputs' texts, where the file has them


@dataclass(frozen=True)
class RecordedScore:
    item: str
    model: str
    score: float | None  # None: the grading failed


@dataclass
class RecordedJudgments:
    source: str
    format: Format
    judges: list[str] = field(default_factory=list)
    pairs: list[RecordedPair] = field(default_factory=list)
    scores: list[RecordedScore] = field(default_factory=list)

    def extend(self, other: RecordedJudgments) -> None:
        self.judges += [j for j in other.judges if j not in self.judges]
        self.pairs += other.pairs
        self.scores += other.scores


def read_recorded(paths: list[Path], fmt: Format, baseline: str | None = None) -> RecordedJudgments:
    """Every judgment in `paths` (files of one format). `baseline`: Arena-Hard's baseline model."""
    if fmt not in FORMATS:
        raise UserError(f"unknown judgments format '{fmt}' (known: {', '.join(FORMATS)})")
    out = RecordedJudgments(", ".join(str(p) for p in paths), fmt)
    seen = [p.resolve() for p in paths]
    twice = next((p for k, p in enumerate(paths) if seen[k] in seen[:k]), None)
    if twice is not None:
        raise UserError(f"{twice}: given twice (its judgments would count twice)")
    for path in paths:
        if not path.is_file():
            raise UserError(f"{path}: no such judgments file")
        if fmt == "alpaca_eval":
            out.extend(_alpaca_eval(path))
        elif fmt == "llmbar":
            out.extend(_llmbar(path))
            if len(out.judges) > 1:  # one pair's verdicts would be averaged across judges
                raise UserError(
                    f"LLMBar result files of {len(out.judges)} judges ({', '.join(out.judges)}):"
                    " give one judge's files (one per set) at a time"
                )
            _refuse_a_second_judgment(out.pairs, path)
        elif fmt == "arena_hard":
            if not baseline:
                raise UserError("arena_hard judgments do not name the baseline: pass --baseline")
            out.extend(_lines(path, fmt, lambda row, where: _arena_hard(row, where, baseline)))
        else:
            reader = _mt_bench if fmt == "mt_bench" else _evalkit
            out.extend(_lines(path, fmt, reader))
    if not out.pairs and not out.scores:
        raise UserError(f"{out.source}: no judgments found")
    return out


def _field(row: dict[str, Any], name: str, where: str) -> Any:
    if name not in row or row[name] is None:
        raise UserError(f"{where}: missing field '{name}'")
    return row[name]


def _preference(value: Any, where: str, low: float = 0.0) -> float | None:
    """A number in [low, low + 1], or None for null/NaN (no verdict)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UserError(f"{where}: preference {value!r} is not a number")
    if math.isnan(value):
        return None
    if not low <= value <= low + 1:
        raise UserError(f"{where}: preference {value} is outside [{low}, {low + 1}]")
    return float(value) - low


def _alpaca_eval(path: Path) -> RecordedJudgments:
    out = RecordedJudgments(str(path), "alpaca_eval")
    for k, row in enumerate(read_json_objects(path, "an AlpacaEval annotations file")):
        where = f"{path}: row {k}"
        raw = row.get("preference")
        outcome = 0.5 if raw == 0 else _preference(raw, where, low=1.0)
        out.pairs.append(
            RecordedPair(
                item=str(_field(row, "instruction", where)),
                first=str(_field(row, "generator_2", where)),
                second=str(_field(row, "generator_1", where)),
                outcome=outcome,
                lengths=_alpaca_lengths(row, where),
                position=k,
            )
        )
        annotator = row.get("annotator")
        if isinstance(annotator, str) and annotator not in out.judges:
            out.judges.append(annotator)
    return out


def read_json_objects(path: Path, what: str, item: str = "row") -> list[dict[str, Any]]:
    """A JSON file holding a list of objects (`what`: "an LLMBar result file", ...). Raises
    UserError naming the file (and the `item` number) when it is not UTF-8, not JSON, not a
    list, or holds something other than an object."""
    from evalkit.textfiles import read_text

    try:
        rows = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(rows, list):
        raise UserError(f"{path}: {what} is a JSON list")
    for k, row in enumerate(rows):
        if not isinstance(row, dict):
            raise UserError(f"{path}: {item} {k}: not an object")
    return rows


_LLMBAR_WINNER = {"1": 1.0, "2": 0.0}


def _refuse_a_second_judgment(pairs: list[RecordedPair], path: Path) -> None:
    """One judgment per pair (instruction and its two outputs) and order: a second one comes
    from another judge's file, or one file given twice under two names; averaged with the
    first it would give a figure of neither judge. Raises UserError naming `path`."""
    seen: set[tuple[str, str | None, bool | None]] = set()
    for pair in pairs:
        key = (pair.item, pair.outputs_sha, pair.swapped)
        if key in seen:
            raise UserError(
                f"{path}: judges a pair (row {pair.position}) in an order another file already "
                "judged: give one judge's files, each once"
            )
        seen.add(key)


def _llmbar(path: Path) -> RecordedJudgments:
    # in LLMBar's layout (<set>/evaluators/<LLM>/<strategy>/result.json) the judge is
    # <LLM>/<strategy>, and a pair's item is the sample id `evalkit task llmbar` gives it (an
    # instruction can be in two sets)
    in_layout = len(path.parents) > 3 and path.parents[2].name == "evaluators"
    judge = f"{path.parents[1].name}/{path.parents[0].name}" if in_layout else None
    out = RecordedJudgments(str(path), "llmbar", [judge] if judge else [])
    set_name = path.parents[3].name.lower() if in_layout else None
    for k, row in enumerate(read_json_objects(path, "an LLMBar result file", "pair")):
        where = f"{path}: pair {k}"
        label = str(_field(row, "label", where))
        if label not in _LLMBAR_WINNER:
            raise UserError(f"{where}: label {row['label']!r} is not 1 or 2")
        rounds = _field(row, "results", where)
        if not isinstance(rounds, list) or not rounds or not isinstance(rounds[-1], dict):
            raise UserError(f"{where}: 'results' must be a non-empty list of rounds")
        orders = {
            swapped: rounds[-1][key]
            for swapped, key in ((False, "swap = False"), (True, "swap = True"))
            if isinstance(rounds[-1].get(key), dict)
        }
        if not orders:
            raise UserError(f"{where}: the last round has no 'swap = False' or 'swap = True'")
        winners = {swapped: order.get("winner") for swapped, order in orders.items()}
        consistent = winners[False] == winners[True] if len(winners) == 2 else None
        first, second = str(_field(row, "output_1", where)), str(_field(row, "output_2", where))
        outputs_sha = hashlib.sha256(json.dumps([first, second]).encode()).hexdigest()[:16]
        for swapped, winner in winners.items():
            out.pairs.append(
                RecordedPair(
                    item=f"{set_name}-{k}" if set_name else str(_field(row, "input", where)),
                    first="output_1",
                    second="output_2",
                    outcome=_LLMBAR_WINNER.get(str(winner)),
                    lengths=(len(first), len(second)),
                    position=k,
                    consistent=consistent,
                    human=_LLMBAR_WINNER[label],
                    swapped=swapped,
                    outputs_sha=outputs_sha,
                )
            )
    return out


def _alpaca_lengths(row: dict[str, Any], where: str) -> tuple[int, int] | None:
    if isinstance(row.get("output_2"), str) and isinstance(row.get("output_1"), str):
        return len(row["output_2"]), len(row["output_1"])
    if isinstance(row.get("len_2"), int) and isinstance(row.get("len_1"), int):
        return int(row["len_2"]), int(row["len_1"])
    return None


def _lines(path: Path, fmt: Format, reader: Any) -> RecordedJudgments:
    out = RecordedJudgments(str(path), fmt)
    text = path.read_text(encoding="utf-8-sig")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}: line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise UserError(f"{where}: not an object")
        pairs, scores, judge = reader(row, where)
        out.pairs += pairs
        out.scores += scores
        if judge and judge not in out.judges:
            out.judges.append(judge)
    return out


Parsed = tuple[list[RecordedPair], list[RecordedScore], str | None]


def _judge_name(row: dict[str, Any]) -> str | None:
    judge = row.get("judge")
    if isinstance(judge, list | tuple):
        return "/".join(str(j) for j in judge)
    return str(judge) if judge is not None else None


def _mt_bench(row: dict[str, Any], where: str) -> Parsed:
    item = f"{_field(row, 'question_id', where)}:turn{row.get('turn', 1)}"
    if "model_1" in row:
        if "winner" in row:
            games = [row["winner"]]
        else:
            games = [_field(row, "g1_winner", where), _field(row, "g2_winner", where)]
        read = [_FASTCHAT_WINNER.get(str(g)) for g in games]
        outcome: float | None = None
        consistent: bool | None = None
        if all(v is not None for v in read):
            consistent = len(set(read)) == 1
            outcome = read[0] if consistent else 0.5
        pair = RecordedPair(
            item, str(_field(row, "model_1", where)), str(_field(row, "model_2", where)),
            outcome, consistent=consistent if len(games) == 2 else None,
        )  # fmt: skip
        return [pair], [], _judge_name(row)
    score = _field(row, "score", where)
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise UserError(f"{where}: score {score!r} is not a number")
    value = None if score == -1 else float(score)  # FastChat writes -1 for a failed grading
    return [], [RecordedScore(item, str(_field(row, "model", where)), value)], _judge_name(row)


def _arena_hard(row: dict[str, Any], where: str, baseline: str) -> Parsed:
    item = str(row.get("uid", row.get("question_id")))
    if item == "None":
        raise UserError(f"{where}: missing field 'uid' (or 'question_id')")
    model = str(_field(row, "model", where))
    games = _field(row, "games", where)
    if not isinstance(games, list) or len(games) != 2:
        raise UserError(f"{where}: 'games' must hold the two orders' judgments")
    labels = [g.get("score") if isinstance(g, dict) else None for g in games]
    for label in labels:
        if label is not None and label not in _ARENA_LABELS:
            raise UserError(f"{where}: unknown verdict label {label!r}")
    if labels[0] is None or labels[1] is None:  # arena-hard-auto drops the whole line
        return [RecordedPair(item, model, baseline, None)], [], _judge_name(row)
    (a1, w1), (a2, w2) = _ARENA_LABELS[str(labels[0])], _ARENA_LABELS[str(labels[1])]
    model_first = 1.0 - a1  # game 1: the baseline is A
    consistent = (model_first > 0.5, model_first < 0.5) == (a2 > 0.5, a2 < 0.5)
    pairs = [
        RecordedPair(item, model, baseline, model_first, weight=w1, consistent=consistent),
        RecordedPair(item, model, baseline, a2, weight=w2, consistent=consistent),
    ]
    return pairs, [], _judge_name(row)


def _evalkit(row: dict[str, Any], where: str) -> Parsed:
    item = str(row.get("item", row.get("sample_id")))
    if item == "None":
        raise UserError(f"{where}: missing field 'item'")
    if "model" in row and "score" in row:
        score = row["score"]
        if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
            raise UserError(f"{where}: score {score!r} is not a number")
        value = None if score is None else float(score)
        return [], [RecordedScore(item, str(row["model"]), value)], _judge_name(row)
    key = "outcome" if "outcome" in row else "preference"
    if key not in row:
        raise UserError(f"{where}: missing field 'outcome' (or 'model' and 'score')")
    lengths = row.get("lengths")
    pair = RecordedPair(
        item, str(_field(row, "first", where)), str(_field(row, "second", where)),
        _preference(row[key], where),
        lengths=(int(lengths[0]), int(lengths[1])) if isinstance(lengths, list) else None,
        consistent=row.get("consistent") if isinstance(row.get("consistent"), bool) else None,
    )  # fmt: skip
    return [pair], [], _judge_name(row)
