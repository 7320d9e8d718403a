"""Issue 17: every number in run.json and the report is identical before and after the
restructuring. The reference was recorded from the code before it (commit 1d45821, see the
fixture's header and tests/data/identity/README.md) by scripts/record_identity_reference.py; the
same demo run with this code must give the same numbers, compared exactly."""

from __future__ import annotations

import copy
import json
import math

import pytest

from evalkit.testing.identity import (
    RUN_NAME,
    count_numbers,
    demo_arguments,
    differences,
    digest,
    numbers_of_run,
    read_fixture,
)
from tests.conftest import TEST_DATA, cli_in_process

FIXTURE = TEST_DATA / "identity" / "demo_1d45821.json.gz"
# The libraries whose versions the numbers (and the scorers' signatures) depend on, as installed
# when the reference was recorded: with others installed, a difference would not be evalkit's.
VERSIONS = TEST_DATA / "identity" / "versions.json"


def _versions_differing() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    recorded: dict[str, str] = json.loads(VERSIONS.read_text())
    found = []
    for name, wanted in recorded.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "not installed"
        if installed != wanted:
            found.append(f"{name} {installed} (recorded with {wanted})")
    return found


@pytest.fixture(scope="module")
def reference() -> dict:
    recorded = read_fixture(FIXTURE)
    assert recorded["header"]["commit"].startswith("1d45821")
    return {k: v for k, v in recorded.items() if k != "header"}


@pytest.mark.slow
def test_the_demo_gives_the_numbers_of_the_code_before_the_restructuring(tmp_path, reference):
    differing = _versions_differing()
    if differing:
        pytest.skip(
            "the reference was recorded with other library versions: "
            + ", ".join(differing)
            + "; re-record it with scripts/record_identity_reference.py"
        )
    run_dir = tmp_path / RUN_NAME  # the name labels the run in the report, as when recorded
    env = {"HF_HUB_OFFLINE": "1", "EVALKIT_CACHE_DIR": str(tmp_path / "cache")}
    done = cli_in_process(*demo_arguments(run_dir), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    found = differences(reference, numbers_of_run(run_dir))
    assert not found, f"{len(found)} numbers differ from 1d45821:\n" + "\n".join(found[:50])


def test_the_reference_holds_the_numbers_it_should(reference):
    """Aggregates of both tasks with their CIs, the metric specs, and the report's data and
    summary tables are in the fixture (a recorder that kept nothing would compare nothing)."""
    run = reference["run_json"]
    aggregates = run["aggregates"]
    assert {"value", "ci_low", "ci_high", "n", "n_failed", "method"} <= set(aggregates["columns"])
    assert {row[0] for row in aggregates["rows"]} == {"summeval", "wmt17_en_de"}
    assert len(aggregates["rows"]) == 16 * 11 + 16 * 3  # systems x metrics of each task
    assert set(run["metric_specs"]) == {"summeval", "wmt17_en_de"}
    data = reference["report"]["data"]
    assert len(data["aggregates"]["rows"]) == len(aggregates["rows"])
    digested = [
        d["numbers"] for t in data["comparison"]["by_baseline"].values() for d in t.values()
    ]
    assert len(digested) == 32 and min(digested) > 0
    assert count_numbers(reference) > 5000
    assert reference["report"]["summary"]["tables"] and reference["report"]["summary"]["decisions"]


def test_a_changed_number_is_found_wherever_it_is(reference):
    """One ulp in a run.json aggregate, an int that became a float, and a number inside a
    digested table are each reported with their place."""
    changed = copy.deepcopy(reference)
    row = changed["run_json"]["aggregates"]["rows"][5]
    value = row[3]
    row[3] = math.nextafter(value, math.inf)  # one ulp
    task, model, metric = row[:3]
    assert differences(reference, changed) == [
        f"run_json.aggregates[5]({task}/{model}/{metric}).value: {value!r} != {row[3]!r}"
    ]
    changed = copy.deepcopy(reference)
    n = changed["report"]["data"]["heatmaps"]["wmt17_en_de"]["n"]
    changed["report"]["data"]["heatmaps"]["wmt17_en_de"]["n"] = float(n)
    assert differences(reference, changed) == [
        f"report.data.heatmaps.wmt17_en_de.n: {n!r} != {float(n)!r}"
    ]
    table = [["B", "bleu", 3, 9.54846, 24.3252], ["C", "bleu", 3, 9.54846, 26.0166]]
    other = copy.deepcopy(table)
    other[1][4] = 26.0167
    assert digest(table) != digest(other) and digest(table)["numbers"] == 6
    assert differences({"x": [float("nan")]}, {"x": [float("nan")]}) == []
