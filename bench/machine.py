"""Describe the machine a benchmark runs on (printed by every benchmark), with its speed at
that moment.

The same CPU model on this shared machine has run the same code at very different speeds on
different days (bench/ingest.py's first file: 772,077 obs/s on 2026-11-22, 270,577 obs/s for
the same commit on 2026-12-02), so a figure from one day cannot be set beside one from another
by the model name alone. `reference_ms` is a fixed pure-Python workload timed when the
benchmark starts: figures of two runs compare once each is read against its own reference.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path


def reference_ms() -> float:
    """Milliseconds of a fixed pure-Python workload (dicts, strings, JSON): the machine's speed
    at this moment, best of three. (bench/notify_drain.py's reference since 2026-12-01.)"""
    doc = {"labels": {f"k{i}": f"value {i}" for i in range(12)}, "n": list(range(40))}
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for i in range(4000):
            text = json.dumps({**doc, "i": i}, sort_keys=True)
            back = json.loads(text)
            "".join(sorted(back["labels"].values()))
        best = min(best, time.perf_counter() - started)
    return best * 1000


def describe() -> dict[str, object]:
    """CPU model, cores, memory, OS, Python, and the reference workload's time now (with the
    load average it ran under)."""
    cpu = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.1f} GiB"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "reference_ms": round(reference_ms(), 1),
        "load_average": round(os.getloadavg()[0], 2),
    }
