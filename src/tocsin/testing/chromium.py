"""Debian's Chromium, as the browser tests and the dashboard benchmarks launch it (headless,
through Playwright, which cannot download browsers here)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

CHROMIUM: Final = Path("/usr/bin/chromium")
# headless, and nothing of its own on the network (updates, sync, QUIC)
CHROMIUM_ARGS: Final = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
