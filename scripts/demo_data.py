"""Rebuild the demo's packaged data (src/tocsin/demo/data) from the shared benchmark data.

    python3 scripts/demo_data.py [BENCHDATA]      # default ../shared/benchdata

Each file is copied unmodified and gzip-compressed (level 9, no timestamp, so the output is
the same byte for byte on every run): the NAB series the demo's indicators replay, the world's
country boundaries, and INFORM Risk 2023's indicator table. Sources and licences are recorded
in src/tocsin/demo/data/README.md; the NAB licence travels beside its files.
"""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tocsin.demo.sources import GEO, INFORM_TABLE, NAB_LICENCE, nab_file  # noqa: E402
from tocsin.demo.feeds import FEEDS  # noqa: E402

TARGET = ROOT / "src" / "tocsin" / "demo" / "data"


def pack(source: Path, target: Path) -> int:
    """Write `source` gzip-compressed to `target`; return the compressed size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(gzip.compress(source.read_bytes(), compresslevel=9, mtime=0))
    return target.stat().st_size


def main(benchdata: Path) -> None:
    """Copy every file the demo needs."""
    total = 0
    for feed in FEEDS:
        total += pack(benchdata / "nab" / "data" / feed.file, TARGET / nab_file(feed.file))
    total += pack(benchdata / "geo" / "countries.geo.json", TARGET / GEO)
    total += pack(
        benchdata / "inform" / "inform_risk_2023_v065_indicator_data.csv", TARGET / INFORM_TABLE
    )
    shutil.copyfile(benchdata / "nab" / "LICENSE.txt", TARGET / NAB_LICENCE)
    print(f"{len(FEEDS) + 2} files, {total:,} bytes compressed, in {TARGET}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "benchdata")
