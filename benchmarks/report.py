"""How long the HTML report takes to build and to open, and how big it is.

For each size, a synthetic task with 4 model variants (evalkit/testing/synthetic_runs.py) is run
through `evalkit run` (replay backend, exact match + F1 + chrF), then:
- build: loading the run (run.json + samples.jsonl) and rendering report.html, in this process;
- open, in Debian's Chromium through Playwright: DOMContentLoaded, the page's script ready (summary
  shown, sample browser filled), and the Charts tab drawn (all five charts), from navigation start;
- a search over every output in the sample browser, typed to result shown.

    python benchmarks/report.py                 # 25 and 10,000 samples x 4 models
    python benchmarks/report.py --sizes 1000 10000 50000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from evalkit.analysis.bundle import bundle_runs, load_runs  # noqa: E402
from evalkit.report.page import render_bundle  # noqa: E402
from evalkit.testing.browser import CHROMIUM, LAUNCH_ARGS  # noqa: E402
from evalkit.testing.synthetic_runs import write_task  # noqa: E402


def make_run(root: Path, n: int) -> Path:
    task = write_task(root / "tasks" / "synth", n, seed=n)
    run = root / "run"
    subprocess.run(
        [sys.executable, "-m", "evalkit", "run", f"tasks=[{task}]", f"run_dir={run}",
         "report.enabled=false"],
        cwd=root, check=True, capture_output=True,
    )  # fmt: skip
    return run


def build(run: Path, out: Path) -> dict[str, float]:
    start = time.perf_counter()
    bundle = bundle_runs(load_runs([run]))
    loaded = time.perf_counter()
    out.write_text(render_bundle(bundle), encoding="utf-8")
    done = time.perf_counter()
    return {"load_s": loaded - start, "render_s": done - loaded, "mb": out.stat().st_size / 1e6}


def open_in_browser(path: Path, repeat: int) -> dict[str, float]:
    from playwright.sync_api import expect, sync_playwright

    best: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        for _ in range(repeat):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(path.as_uri(), wait_until="domcontentloaded", timeout=120_000)
            page.wait_for_selector("body[data-ready='1']", timeout=120_000)
            nav = json.loads(
                page.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0])")
            )
            page.click("#tabs button[data-tab=charts]")
            page.wait_for_selector("body[data-charts='drawn']", timeout=120_000)
            page.click("#tabs button[data-tab=samples]")
            before = page.inner_text("#s-count")
            start = time.perf_counter()
            page.fill("#f-search", "river stone")
            expect(page.locator("#s-count")).not_to_have_text(before, timeout=60_000)
            search = time.perf_counter() - start - 0.15  # less the input debounce
            figures = {
                "dcl_s": nav["domContentLoadedEventEnd"] / 1000,
                "ready_s": float(page.get_attribute("body", "data-ready-ms") or "nan") / 1000,
                "charts_s": float(page.get_attribute("body", "data-charts-ms") or "nan") / 1000,
                "search_s": search,
            }
            best = {k: min(v, best.get(k, v)) for k, v in figures.items()}
            page.close()
        browser.close()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[25, 10000])
    parser.add_argument("--repeat", type=int, default=3, help="browser opens per size (best)")
    args = parser.parse_args()
    print(f"{'samples x 4':>12} {'run s':>7} {'load s':>7} {'render s':>9} {'MB':>6} "
          f"{'DCL s':>6} {'ready s':>8} {'charts s':>9} {'search s':>9}")  # fmt: skip
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            start = time.perf_counter()
            run = make_run(root, n)
            run_s = time.perf_counter() - start
            built = build(run, root / "report.html")
            opened = open_in_browser(root / "report.html", args.repeat)
            print(f"{n:>12,} {run_s:7.1f} {built['load_s']:7.2f} {built['render_s']:9.2f} "
                  f"{built['mb']:6.1f} {opened['dcl_s']:6.2f} {opened['ready_s']:8.2f} "
                  f"{opened['charts_s']:9.2f} {opened['search_s']:9.2f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
