"""Headless Chromium for report and studio tests and benchmarks: Debian's `chromium` driven by
Playwright (`executable_path=CHROMIUM`, never `playwright install`)."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [  # what works in containers and CI machines without a GPU or a user namespace
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
