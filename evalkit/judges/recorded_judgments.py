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
  with the order is a tie, as FastChat's show_result counts it, and `error` is no verdict.
  Single-answer lines (`model`, `score` on MT-Bench's 1-10 scale, -1 for a failed grading). The
  item id is `question_id` and `turn`.
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

Errors: `UserError` naming the file, line and field for a missing file or malformed line: a
field of the wrong type, an unknown verdict label, a score that is not a finite number or is
beyond +-MAX_SCORE, an integer too long for Python to convert. A
judgment of a model against itself (AlpacaEval's annotations of its own baseline) is left out,
with a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evalkit.errors import UserError
from evalkit.textfiles import read_text, require_file

Format = Literal["alpaca_eval", "mt_bench", "arena_hard", "llmbar", "evalkit"]
FORMATS: tuple[Format, ...] = ("alpaca_eval", "mt_bench", "arena_hard", "llmbar", "evalkit")
logger = logging.getLogger(__name__)

# Arena-Hard labels -> (score of the answer shown as A, battles it counts for)
ARENA_HARD_WEIGHT = 3
_ARENA_LABELS: dict[str, tuple[float, int]] = {
    "A>B": (1.0, 1), "A>>B": (1.0, ARENA_HARD_WEIGHT), "A=B": (0.5, 1),
    "A<B": (0.0, 1), "A<<B": (0.0, ARENA_HARD_WEIGHT), "B>A": (0.0, 1),
    "B>>A": (0.0, ARENA_HARD_WEIGHT), "B=A": (0.5, 1), "B<A": (1.0, 1),
    "B<<A": (1.0, ARENA_HARD_WEIGHT),
}  # fmt: skip
_FASTCHAT_WINNER = {"model_1": 1.0, "model_2": 0.0, "tie": 0.5, "error": None}
MT_BENCH_SCALE = (1, 10)  # FastChat's single-answer grades, [[1]] to [[10]]
MT_BENCH_FAILED = -1  # FastChat writes -1 for a grading whose reply had no rating


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


def _refuse_a_file_given_twice(paths: Sequence[Path]) -> None:
    """UserError when two of `paths` are one file: the same name, a symbolic link or a hard link
    (same device and inode; a missing file is compared by its resolved name)."""
    seen: dict[object, Path] = {}
    for path in paths:
        try:
            info = path.stat()
            key: object = (info.st_dev, info.st_ino)
        except OSError:
            key = path.resolve()
        if key in seen:
            first = seen[key]
            same = "" if first == path else f" (the same file as {first})"
            raise UserError(f"{path}: given twice{same}; its judgments would count twice")
        seen[key] = path


def read_recorded(
    paths: list[Path],
    fmt: Format,
    baseline: str | None = None,
    *,
    baseline_option: str = "--baseline MODEL",
) -> RecordedJudgments:
    """Every judgment in `paths` (files of one format). `baseline`: Arena-Hard's baseline model
    (`baseline_option`: how the command names it, for the error when it is missing). A judgment
    of a model against itself (AlpacaEval's annotations of its baseline, an Arena-Hard file of
    the baseline) is left out with a warning: it says nothing of either model, and would count
    as a tie in the judge's figures."""
    if fmt not in FORMATS:
        raise UserError(f"unknown judgments format '{fmt}' (known: {', '.join(FORMATS)})")
    if fmt == "arena_hard" and not baseline:
        raise UserError(f"arena_hard judgments do not name the baseline: pass {baseline_option}")
    out = RecordedJudgments(", ".join(str(p) for p in paths), fmt)
    _refuse_a_file_given_twice(paths)
    left_out = 0
    for path in paths:
        require_file(path, f"{path}: no such judgments file", "judgments file")
        part = _read_file(path, fmt, baseline or "")
        left_out += _leave_out_self_pairs(part, path)
        out.extend(part)
        if fmt == "llmbar":
            if len(out.judges) > 1:  # one pair's verdicts would be averaged across judges
                raise UserError(
                    f"LLMBar result files of {len(out.judges)} judges ({', '.join(out.judges)}):"
                    " give one judge's files (one per set) at a time"
                )
            _refuse_a_second_judgment(out.pairs, path)
    if not out.pairs and not out.scores:
        selves = f" (only {left_out} of a model against itself)" if left_out else ""
        raise UserError(f"{out.source}: no judgments found{selves}")
    return out


def _read_file(path: Path, fmt: Format, baseline: str) -> RecordedJudgments:
    if fmt == "alpaca_eval":
        return _alpaca_eval(path)
    if fmt == "llmbar":
        return _llmbar(path)
    if fmt == "arena_hard":
        return _lines(path, fmt, lambda row, where: _arena_hard(row, where, baseline))
    return _lines(path, fmt, _mt_bench if fmt == "mt_bench" else _evalkit)


def _leave_out_self_pairs(part: RecordedJudgments, path: Path) -> int:
    """Drop `part`'s judgments of a model against itself, with one warning; how many."""
    selves = [p for p in part.pairs if p.first == p.second]
    if selves:
        part.pairs = [p for p in part.pairs if p.first != p.second]
        logger.warning(
            "%s: %d judgment(s) of '%s' against itself left out", path, len(selves), selves[0].first
        )
    return len(selves)


def _field(row: dict[str, Any], name: str, where: str) -> Any:
    if name not in row or row[name] is None:
        raise UserError(f"{where}: missing field '{name}'")
    return row[name]


_JSON_TYPES = {
    dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null",
}  # fmt: skip


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), "a number")


def _text(row: dict[str, Any], name: str, where: str) -> str:
    """A string field (a model name, an instruction): a list or a number is refused, not
    printed as a name such as "['m']"."""
    value = _field(row, name, where)
    if not isinstance(value, str):
        raise UserError(f"{where}: '{name}' is {_json_type(value)}, not a string")
    return value


def _item(row: dict[str, Any], names: tuple[str, ...], where: str) -> str:
    """The item id: the first of `names` the row has, a string or an integer."""
    name = next((n for n in names if row.get(n) is not None), None)
    if name is None:
        also = "".join(f" (or '{n}')" for n in names[1:])
        raise UserError(f"{where}: missing field '{names[0]}'{also}")
    value = row[name]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise UserError(f"{where}: '{name}' is {_json_type(value)}, not a string or an integer")
    return str(value)


MAX_SCORE = 1e15
"""The largest score magnitude read: beyond it a float no longer holds every integer, no judge's
scale comes near it, and a mean or variance of such scores can overflow to infinity."""


def _score(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UserError(f"{where}: score {value!r} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise UserError(f"{where}: score {value} is not a finite number")
    if abs(value) > MAX_SCORE:
        raise UserError(f"{where}: score {_shown(value)} is beyond +-{MAX_SCORE:.0e}")
    return float(value)


def _shown(value: Any, limit: int = 40) -> str:
    """`value` as written, cut to `limit` characters (a 5000-digit number is not echoed)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _loads(text: str, where: str, *, whole_file: bool = False) -> Any:
    """json.loads; UserError naming `where` when the text is not JSON or holds an integer of more
    digits than Python converts (4300: `sys.get_int_max_str_digits`)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        line = f", line {exc.lineno}" if whole_file else ""
        raise UserError(f"{where}: not JSON ({exc.msg}{line})") from None
    except ValueError as exc:  # "Exceeds the limit (4300 digits) for integer string conversion"
        reason = str(exc).split(";")[0].split(":")[0]
        raise UserError(f"{where}: a number in it is too long ({reason})") from None


def _preference(value: Any, where: str, low: float = 0.0) -> float | None:
    """A number in [low, low + 1], or None for null/NaN (no verdict)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        shown = json.dumps(value) if isinstance(value, bool) else repr(value)
        raise UserError(f"{where}: preference {shown} is not a number")
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
        tie = raw == 0 and not isinstance(raw, bool)  # false == 0 in Python: not a tie
        outcome = 0.5 if tie else _preference(raw, where, low=1.0)
        out.pairs.append(
            RecordedPair(
                item=_text(row, "instruction", where),
                first=_text(row, "generator_2", where),
                second=_text(row, "generator_1", where),
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
    rows = _loads(read_text(path), str(path), whole_file=True)
    if not isinstance(rows, list):
        raise UserError(f"{path}: {what} is a JSON list")
    for k, row in enumerate(rows):
        if not isinstance(row, dict):
            raise UserError(f"{path}: {item} {k}: not an object")
    return rows


_LLMBAR_WINNER = {"1": 1.0, "2": 0.0}


def _llmbar_winner(value: Any, where: str) -> float | None:
    """LLMBar's parsed winner: "1" or "2" (or the number), None when the reply was not parsed."""
    if value is None:
        return None
    if isinstance(value, bool) or str(value) not in _LLMBAR_WINNER:
        raise UserError(f"{where}: winner {value!r} is not 1, 2 or null")
    return _LLMBAR_WINNER[str(value)]


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
        winners: dict[bool, float | None] = {}
        for swapped in (False, True):
            order = rounds[-1].get(f"swap = {swapped}")
            if order is not None and not isinstance(order, dict):
                raise UserError(
                    f"{where}: 'swap = {swapped}' is {_json_type(order)}, not an object"
                )
            if order is not None:
                winners[swapped] = _llmbar_winner(order.get("winner"), where)
        if not winners:
            raise UserError(f"{where}: the last round has no 'swap = False' or 'swap = True'")
        consistent = winners[False] == winners[True] if len(winners) == 2 else None
        first, second = _text(row, "output_1", where), _text(row, "output_2", where)
        outputs_sha = hashlib.sha256(json.dumps([first, second]).encode()).hexdigest()[:16]
        for swapped, winner in winners.items():
            out.pairs.append(
                RecordedPair(
                    item=f"{set_name}-{k}" if set_name else _text(row, "input", where),
                    first="output_1",
                    second="output_2",
                    outcome=winner,
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
    """(model's, baseline's) length: of `output_2`/`output_1` (strings in AlpacaEval's files),
    else `len_2`/`len_1` (non-negative integers); None when neither pair is there. A field of
    the wrong type is refused: it would drop the lengths, and the LC win rate with them."""
    for name in ("output_1", "output_2"):
        value = row.get(name)
        if value is not None and not isinstance(value, str):
            raise UserError(f"{where}: '{name}' is {_json_type(value)}, not a string")
    for name in ("len_1", "len_2"):
        value = row.get(name)
        if isinstance(value, float):
            raise UserError(f"{where}: '{name}' {value!r} is not an integer (a text's length)")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise UserError(f"{where}: '{name}' is {_json_type(value)}, not an integer")
        if value is not None and value < 0:
            raise UserError(f"{where}: '{name}' {value} is negative (a text's length)")
    if isinstance(row.get("output_2"), str) and isinstance(row.get("output_1"), str):
        return len(row["output_2"]), len(row["output_1"])
    if isinstance(row.get("len_2"), int) and isinstance(row.get("len_1"), int):
        return int(row["len_2"]), int(row["len_1"])
    return None


def _lines(path: Path, fmt: Format, reader: Any) -> RecordedJudgments:
    """A JSONL file read with `reader`. Lines end at LF, CRLF or CR only: `str.splitlines` would
    also split a line inside a string at U+2028 or U+0085, which JSON writes unescaped with
    ensure_ascii=False (arena-hard-auto's judgments)."""
    out = RecordedJudgments(str(path), fmt)
    lines = read_text(path).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}: line {number}"
        row = _loads(line, where)
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


def _fastchat_winner(row: dict[str, Any], name: str, where: str) -> float | None:
    """FastChat's `g1_winner` / `g2_winner` (or `winner`): model_1, model_2, tie, or error (the
    judge's reply had no verdict: None)."""
    value = _field(row, name, where)
    if not isinstance(value, str) or value not in _FASTCHAT_WINNER:
        raise UserError(f"{where}: {name} {value!r} is not model_1, model_2, tie or error")
    return _FASTCHAT_WINNER[value]


def _mt_bench(row: dict[str, Any], where: str) -> Parsed:
    turn = row.get("turn", 1)
    if isinstance(turn, bool) or not isinstance(turn, int):
        raise UserError(f"{where}: 'turn' is {_json_type(turn)}, not an integer")
    if turn < 1:
        raise UserError(f"{where}: 'turn' {turn} is below 1 (MT-Bench's turns count from 1)")
    item = f"{_item(row, ('question_id',), where)}:turn{turn}"
    if "model_1" in row:
        names = ["winner"] if "winner" in row else ["g1_winner", "g2_winner"]
        read = [_fastchat_winner(row, name, where) for name in names]
        outcome: float | None = None
        consistent: bool | None = None
        if all(v is not None for v in read):
            consistent = len(set(read)) == 1
            outcome = read[0] if consistent else 0.5
        pair = RecordedPair(
            item, _text(row, "model_1", where), _text(row, "model_2", where), outcome,
            consistent=consistent if len(names) == 2 else None,
        )  # fmt: skip
        return [pair], [], _judge_name(row)
    score = _score(_field(row, "score", where), where)
    if score != MT_BENCH_FAILED and not MT_BENCH_SCALE[0] <= score <= MT_BENCH_SCALE[1]:
        raise UserError(
            f"{where}: score {score:g} is outside MT-Bench's {MT_BENCH_SCALE[0]}-"
            f"{MT_BENCH_SCALE[1]} scale ({MT_BENCH_FAILED} marks a failed grading)"
        )
    value = None if score == MT_BENCH_FAILED else score
    return [], [RecordedScore(item, _text(row, "model", where), value)], _judge_name(row)


def _arena_label(game: Any, where: str) -> str | None:
    """A game's verdict label; None for a null game or label (arena-hard-auto drops the line)."""
    if game is None:
        return None
    if not isinstance(game, dict):
        raise UserError(f"{where}: a game is {_json_type(game)}, not an object")
    label = game.get("score")
    if label is not None and (not isinstance(label, str) or label not in _ARENA_LABELS):
        raise UserError(f"{where}: unknown verdict label {label!r}")
    return label


def _arena_hard(row: dict[str, Any], where: str, baseline: str) -> Parsed:
    item = _item(row, ("uid", "question_id"), where)
    model = _text(row, "model", where)
    games = _field(row, "games", where)
    if not isinstance(games, list) or len(games) != 2:
        raise UserError(f"{where}: 'games' must hold the two orders' judgments")
    labels = [_arena_label(game, where) for game in games]
    if labels[0] is None or labels[1] is None:  # arena-hard-auto drops the whole line
        return [RecordedPair(item, model, baseline, None)], [], _judge_name(row)
    (a1, w1), (a2, w2) = _ARENA_LABELS[labels[0]], _ARENA_LABELS[labels[1]]
    model_first = 1.0 - a1  # game 1: the baseline is A
    consistent = (model_first > 0.5, model_first < 0.5) == (a2 > 0.5, a2 < 0.5)
    pairs = [
        RecordedPair(item, model, baseline, model_first, weight=w1, consistent=consistent),
        RecordedPair(item, model, baseline, a2, weight=w2, consistent=consistent),
    ]
    return pairs, [], _judge_name(row)


def _lengths(value: Any, where: str) -> tuple[int, int] | None:
    """evalkit's `lengths`: the two outputs' lengths, or null (not recorded)."""
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in value)
    ):
        raise UserError(f"{where}: lengths {value!r} are not two non-negative integers")
    return value[0], value[1]


def _evalkit(row: dict[str, Any], where: str) -> Parsed:
    item = _item(row, ("item", "sample_id"), where)
    if "model" in row and "score" in row:
        value = None if row["score"] is None else _score(row["score"], where)
        return [], [RecordedScore(item, _text(row, "model", where), value)], _judge_name(row)
    key = "outcome" if "outcome" in row else "preference"
    if key not in row:
        raise UserError(f"{where}: missing field 'outcome' (or 'model' and 'score')")
    consistent = row.get("consistent")
    if consistent is not None and not isinstance(consistent, bool):
        raise UserError(f"{where}: 'consistent' is {_json_type(consistent)}, not true/false")
    pair = RecordedPair(
        item, _text(row, "first", where), _text(row, "second", where),
        _preference(row[key], where), lengths=_lengths(row.get("lengths"), where),
        consistent=consistent,
    )  # fmt: skip
    return [pair], [], _judge_name(row)
