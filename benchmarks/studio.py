"""The studio's speed: filling the ratings database from a run, the review page, a rating's round
trip.

A synthetic task (evalkit/testing/synthetic_runs.py) with N samples x 2 models is run through
`evalkit run`, then `evalkit studio` is started on it as a real server process and measured:
- fill: reading the run and storing its items in SQLite (first start; later starts skip it);
- review page: GET /review (the next unrated item and the annotator's progress), server time seen
  by an HTTP client, and in Debian's Chromium (navigation start to the load event);
- rating round trip: POST /api/judge (the rating committed in its own transaction, then the next
  item and progress) from a keep-alive HTTP client; and in Chromium, a key press to the next item
  shown (POST, redirect, GET, render).

    python benchmarks/studio.py --samples 10000
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from evalkit.store.ratings_db import RatingsDB  # noqa: E402
from evalkit.studio.items import load_run_items  # noqa: E402
from evalkit.testing.browser import CHROMIUM, LAUNCH_ARGS  # noqa: E402
from evalkit.testing.synthetic_runs import write_task  # noqa: E402

MODELS = {"base": (0.10, 0.8, 0.002), "small": (0.35, 0.2, 0.0004)}


def _pct(values: list[float]) -> str:
    q = statistics.quantiles(values, n=100)
    return f"p50 {q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms (n={len(values)})"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http(port: int, n: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("POST", "/annotator", body="annotator=bench", headers={
        "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    conn.getresponse().read()
    pages, trips = [], []
    for _ in range(n):
        t = time.perf_counter()
        conn.request("GET", "/review?annotator=bench&kind=point")
        html = conn.getresponse().read().decode()
        pages.append(time.perf_counter() - t)
        item = html.split('data-item-id="', 1)[1].split('"', 1)[0]
        body = json.dumps({"annotator": "bench", "kind": "point", "item_id": item,
                           "action": "rate:3"})  # fmt: skip
        t = time.perf_counter()
        conn.request("POST", "/api/judge", body=body, headers={"Content-Type": "application/json"})
        answer = json.loads(conn.getresponse().read())
        trips.append(time.perf_counter() - t)
        assert answer["ok"], answer
    print(f"review page GET (HTTP client): {_pct(pages)}")
    print(f"rating round trip POST /api/judge: {_pct(trips)}")


def _browser(port: int, n: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        page = browser.new_page()
        opens, trips = [], []
        for _ in range(10):
            page.goto(f"http://127.0.0.1:{port}/review?annotator=bench&kind=point")
            opens.append(page.evaluate(
                "performance.getEntriesByType('navigation')[0].loadEventEnd / 1000"))  # fmt: skip
        for _ in range(n):
            t = time.perf_counter()
            with page.expect_navigation(wait_until="load"):
                page.keyboard.press("4")
            trips.append(time.perf_counter() - t)
        browser.close()
    print(f"review page open in Chromium (to load event): {_pct(opens)}")
    print(f"rating round trip in Chromium (key press to next item shown): {_pct(trips)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--ratings", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        task = write_task(root / "synth", args.samples, seed=1, variants=MODELS)
        run_dir = root / "run"
        env = {**os.environ, "EVALKIT_CACHE_DIR": str(root / "cache")}
        subprocess.run([sys.executable, "-m", "evalkit", "run", f"tasks=[{task}]",
                        f"run_dir={run_dir}", "progress=false"], cwd=root, env=env, check=True,
                       capture_output=True)  # fmt: skip
        t = time.perf_counter()
        n_items = load_run_items(RatingsDB(run_dir / "studio.sqlite"), run_dir)
        print(f"{args.samples} samples x 2 models: {n_items} items stored in "
              f"{time.perf_counter() - t:.2f} s (first start only)")  # fmt: skip
        port = _port()
        command = [sys.executable, "-m", "evalkit", "studio", str(run_dir), "--port", str(port)]
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        try:
            t = time.perf_counter()
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            print(f"server up (items already stored) in {time.perf_counter() - t:.2f} s")
            _http(port, args.ratings)
            _browser(port, min(args.ratings, 100))
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
