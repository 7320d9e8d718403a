"""The validation of a distilled judge as a console table and as a self-contained HTML page."""

from __future__ import annotations

from typing import Any

from rich.table import Table as RichTable

from evalkit.console.terminal import results_console
from evalkit.distill.artifact import DistillResult

COLUMNS = (
    "summary_spearman",
    "summary_kendall",
    "sample_pearson",
    "sample_spearman",
    "sample_kendall",
    "accuracy",
    "kappa",
)


def _cell(figure: Any) -> str:
    if not isinstance(figure, list) or figure[0] is None:
        return ""
    value, low, high = figure
    return f"{value:.3f} [{low:.3f}, {high:.3f}]" if low is not None else f"{value:.3f}"


def table_rows(dimension: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of one dimension's table: the student against the teacher (and humans), then the
    teacher against humans, then each baseline against the teacher."""
    rows = []
    for scorer, against in (("student", "teacher"), ("student", "human")):
        if against in dimension.get("student", {}):
            rows.append(_row(scorer, against, dimension["student"][against]))
    if "teacher_vs_human" in dimension:
        rows.append(_row("teacher", "human", dimension["teacher_vs_human"]))
    for name in ("rouge_l", "embedding_similarity", "length_only"):
        if name in dimension:
            rows.append(_row(name, "teacher", dimension[name]["teacher"]))
    return rows


def _row(scorer: str, against: str, figures: dict[str, Any]) -> dict[str, Any]:
    cells = {c: _cell(figures[c]) for c in COLUMNS if c in figures}
    return {"scorer": scorer, "against": against, "cells": cells, "n": figures.get("n", 0)}


def used_columns(tables: dict[str, list[dict[str, Any]]]) -> list[str]:
    present = {c for rows in tables.values() for row in rows for c in row["cells"]}
    return [c for c in COLUMNS if c in present]


def print_validation(result: DistillResult) -> None:
    console = results_console()
    tables = {d: table_rows(v) for d, v in result.validation["dimensions"].items()}
    columns = used_columns(tables)
    for dim, rows in tables.items():
        table = RichTable(title=f"{result.meta.name} / {dim}: held-out agreement (95% CI)")
        for column in ("scorer", "against", *columns, "n"):
            table.add_column(column)
        for row in rows:
            cells = [row["cells"].get(c, "") for c in columns]
            table.add_row(row["scorer"], row["against"], *cells, str(row["n"]))
        console.print(table)
    console.print(f"validation report: {result.directory / 'validation.html'}")


def render_validation(result: DistillResult) -> str:
    from evalkit.report.page import (
        _ENV,
        _plotly_js,
        _static,
        content_security_policy,
        embed_json,
        finite,
    )

    tables = {d: table_rows(v) for d, v in result.validation["dimensions"].items()}
    scripts = [_plotly_js(), _static("distill.js")]
    calibration = {d: v.get("calibration", []) for d, v in result.validation["dimensions"].items()}
    return _ENV.get_template("distill.html.j2").render(
        name=result.meta.name,
        version=result.meta.version,
        kind=result.meta.student["kind"],
        mode=result.meta.mode,
        n_examples=result.validation["n_examples"],
        folds=result.validation["folds"],
        data_sha256=result.meta.data_sha256,
        teachers=result.meta.teachers,
        tables=tables,
        columns=used_columns(tables),
        csp=content_security_policy(scripts),
        css=_static("report.css"),
        data_json=embed_json(finite({"calibration": calibration})),
        scripts=scripts,
    )
