"""The numbers of a run directory, for comparing two versions of evalkit on the same run.

`numbers_of_run(run_dir)` reads `run.json` and `report.html` and keeps what a restructuring must
not change: every aggregate (value, CI, n, n_failed, method, ...), the metric specifications,
usage counts, the scorers' item counts, and every number of the report's embedded data
(`<script type="application/json" id="evalkit-data">`) and of its server-rendered summary
tables. Left out: timestamps, paths, library and evalkit versions, host details, a distilled
judge's weights hash in its signature (added after the reference was recorded), and measured
times (run timings, latencies, the scorers' seconds per 1,000 samples). Long texts (prompts,
references, outputs) and the Compare tab's every-baseline tables are kept as a SHA-256 of their
canonical JSON, so the view stays small; everything else is kept value by value.

`differences(expected, actual)` lists where two views differ ('path: expected != actual'); floats
are compared exactly (NaN equals NaN). Used by tests/test_identity_before_restructuring.py with
the view recorded from the code before issue 17's restructuring
(scripts/record_identity_reference.py).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

# run.json fields kept as they are (no time, path, version or host in them)
_RUN_FIELDS = (
    "status", "stop_reason", "seed", "primary_metrics", "task_data_hashes", "task_scorers",
    "scorers", "backends", "metric_specs", "extraction", "judge_reports", "pairwise",
    "backend_reports",
)  # fmt: skip
_MEASURED_USAGE = ("latency_p50_s", "latency_p95_s", "ttft_p50_s")
# The demo suite (summeval + wmt17_en_de, replayed offline, their default scorers): the
# command the reference was recorded with and the test runs. The run directory's name labels
# the run in the report, so it is the same everywhere.
DEMO_LIMIT = 3
RUN_NAME = "demo"


def demo_arguments(run_dir: Path, limit: int = DEMO_LIMIT) -> list[str]:
    """`evalkit` arguments of the compared run: the default `evalkit run` (the demo suite)."""
    return ["run", f"limit={limit}", f"run_dir={run_dir}", "progress=false"]


_DATA_BLOCK = re.compile(
    r'<script type="application/json" id="evalkit-data">(.*?)</script>', re.DOTALL
)


def digest(value: Any) -> dict[str, Any]:
    """A SHA-256 of `value`'s canonical JSON (sorted keys, exact float repr) and how many numbers
    it holds: equal digests mean every number (and string) in it is equal."""
    text = json.dumps(value, sort_keys=True, allow_nan=True, ensure_ascii=True)
    return {"sha256": hashlib.sha256(text.encode()).hexdigest(), "numbers": count_numbers(value)}


def count_numbers(value: Any) -> int:
    """How many int/float leaves `value` holds (bools and digests' own counts not counted)."""
    if isinstance(value, dict):
        if set(value) == {"sha256", "numbers"}:
            return 0
        return sum(count_numbers(v) for v in value.values())
    if isinstance(value, list):
        return sum(count_numbers(v) for v in value)
    return int(isinstance(value, int | float) and not isinstance(value, bool))


def columns(rows: list[dict[str, Any]], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """Records as {"columns": [...], "rows": [[...], ...]} (keys written once, file order kept)."""
    keys = [k for k in dict.fromkeys(k for r in rows for k in r) if k not in drop]
    return {"columns": keys, "rows": [[r.get(k) for k in keys] for r in rows]}


# A distilled judge's signature gained the sha256 of its weights after the reference was recorded
# (the same weight files; tests/distill/test_judge_weights.py checks the hash against them)
_WEIGHTS_IN_SIGNATURE = re.compile(r"\|weights:[0-9a-f]{12}(?=\|)")


def _without_weights_hash(value: Any) -> Any:
    """`value` with every distilled judge signature's `|weights:...` segment left out."""
    if isinstance(value, str) and value.startswith("distilled_judge|"):
        return _WEIGHTS_IN_SIGNATURE.sub("", value)
    if isinstance(value, dict):
        return {k: _without_weights_hash(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_weights_hash(v) for v in value]
    return value


def run_json_numbers(record: dict[str, Any]) -> dict[str, Any]:
    """The kept part of a run.json record (see the module docstring)."""
    kept: dict[str, Any] = {k: _without_weights_hash(record.get(k)) for k in _RUN_FIELDS}
    kept["aggregates"] = columns(record["aggregates"])
    kept["usage"] = columns(record.get("usage") or [], drop=_MEASURED_USAGE)
    kept["scorer_items"] = columns(record.get("scorer_timings") or [], drop=("seconds",))
    return kept


def report_data_numbers(data: dict[str, Any]) -> dict[str, Any]:
    """The report's embedded data less its timestamp, long texts digested, measured scorer
    speed dropped, and the every-baseline comparison tables digested per task and baseline."""
    kept = {k: v for k, v in data.items() if k != "generated_at"}
    for key in ("aggregates", "usage"):
        kept[key] = columns(kept.get(key) or [])
    samples = dict(kept.get("samples") or {})
    for key in ("input", "refs"):
        if key in samples:
            samples[key] = digest(samples[key])
    kept["samples"] = samples
    outputs = dict(kept.get("outputs") or {})
    if "t" in outputs:
        outputs["t"] = digest(outputs["t"])
    kept["outputs"] = outputs
    pareto = {}
    for task, section in (kept.get("scorerPareto") or {}).items():
        points = [{k: v for k, v in p.items() if k != "s1k"} for p in section.get("points", [])]
        pareto[task] = {**_without_measured(section), "points": points}
    kept["scorerPareto"] = pareto
    comparison = dict(kept.get("comparison") or {})
    by_baseline = comparison.get("by_baseline") or {}
    comparison["by_baseline"] = {
        task: {base: digest(rows) for base, rows in tables.items()}
        for task, tables in by_baseline.items()
    }
    comparison["rows"] = columns(comparison.get("rows") or [])
    kept["comparison"] = comparison
    return kept


class _SummaryTables(HTMLParser):
    """Cell texts (and cell titles, which carry p-values) of the tables in the page's Summary
    section, and its decision sentences."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.section: str | None = None
        self.tables: list[list[list[str]]] = []
        self.decisions: list[str] = []
        self._cell: list[str] | None = None
        self._item: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "section":
            self.section = attr.get("id")
        if self.section != "summary":
            return
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = [f"title={attr['title']} "] if attr.get("title") else []
        elif tag == "li":
            self._item = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.section = None
        elif tag in ("td", "th") and self._cell is not None:
            if self.tables and self.tables[-1]:
                self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "li" and self._item is not None:
            self.decisions.append(" ".join("".join(self._item).split()))
            self._item = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._item is not None:
            self._item.append(data)


def summary_tables(html: str) -> dict[str, Any]:
    """The Summary section as rendered text: decision sentences and each table's rows, without
    the agreement tables' measured 'scorer s / 1,000 samples' column."""
    parser = _SummaryTables()
    parser.feed(html)
    tables = []
    for table in parser.tables:
        header = table[0] if table else []
        timed = [i for i, h in enumerate(header) if h.startswith("scorer s / 1,000")]
        if timed:  # the agreement table: its timing column is the last cell of each body row
            table = [table[0][: timed[0]], *(row[:-1] for row in table[1:])]
        tables.append(table)
    return {"decisions": parser.decisions, "tables": tables}


def numbers_of_run(run_dir: Path) -> dict[str, Any]:
    """{"run_json": ..., "report": {"data": ..., "summary": ...}} for one run directory.

    Raises FileNotFoundError without run.json or report.html, ValueError when the report has no
    embedded data block.
    """
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    found = _DATA_BLOCK.search(html)
    if found is None:
        raise ValueError(f"{run_dir / 'report.html'}: no evalkit-data block")
    data = json.loads(found.group(1))
    return {
        "run_json": run_json_numbers(record),
        "report": {"data": report_data_numbers(data), "summary": summary_tables(html)},
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _without_measured(section: dict[str, Any]) -> dict[str, Any]:
    """A scorer trade-off section without its frontier: which scorers are on it depends on their
    measured seconds per 1,000 samples (load, coverage tracing), not on evalkit's numbers."""
    return {k: v for k, v in section.items() if k != "frontier"}


def read_fixture(path: Path) -> dict[str, Any]:
    """A recorded view (gzip-compressed JSON: {"header": ..., "run_json": ..., "report": ...}),
    without what depends on measured time (`_without_measured`), as `numbers_of_run` gives it."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    data = loaded.get("report", {}).get("data", {})
    if isinstance(data.get("scorerPareto"), dict):
        data["scorerPareto"] = {
            task: _without_measured(section) for task, section in data["scorerPareto"].items()
        }
    return loaded


def write_fixture(path: Path, header: dict[str, Any], numbers: dict[str, Any]) -> None:
    """Write a view with its header as gzip-compressed compact JSON (mtime 0: same bytes for
    the same numbers)."""
    text = json.dumps({"header": header, **numbers}, separators=(",", ":")) + "\n"
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(text.encode("utf-8"))


def _is_table(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"columns", "rows"}


def _table_differences(expected: dict[str, Any], actual: dict[str, Any], path: str) -> list[str]:
    """Rows of a `columns` table compared cell by cell, each named by its row's leading text
    cells (task/model/metric) and its column."""
    if len(expected["rows"]) != len(actual["rows"]):
        return [f"{path}.rows: {len(expected['rows'])} items != {len(actual['rows'])}"]
    found = []
    for i, (old, new) in enumerate(zip(expected["rows"], actual["rows"], strict=True)):
        label = "/".join(c for c in old[:4] if isinstance(c, str))
        for column, e, a in zip(expected["columns"], old, new, strict=True):
            found += differences(e, a, f"{path}[{i}]({label}).{column}")
    return found


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Every place where `actual` differs from `expected`, as 'path: expected != actual' (a
    missing or extra key, a list of another length, a value of another type or value)."""
    if _is_table(expected) and _is_table(actual) and expected["columns"] == actual["columns"]:
        return _table_differences(expected, actual, path)
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = []
        for key in dict.fromkeys([*expected, *actual]):
            where = f"{path}.{key}" if path else str(key)
            if key not in actual:
                found.append(f"{where}: missing")
            elif key not in expected:
                found.append(f"{where}: not in the reference")
            else:
                found += differences(expected[key], actual[key], where)
        return found
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} items != {len(actual)}"]
        return [d for i, (e, a) in enumerate(zip(expected, actual, strict=True))
                for d in differences(e, a, f"{path}[{i}]")]  # fmt: skip
    return [] if _same(expected, actual) else [f"{path}: {expected!r} != {actual!r}"]
