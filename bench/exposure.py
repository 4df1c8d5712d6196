"""Benchmark: matching an inventory against a year of advisories, indexed against every pair.

Synthetic but shaped like the NVD: ADVISORIES records over a vocabulary of 3,000 products of 600
vendors, each with one to three criteria (a fixed version, or a range with start and end
bounds), a tenth of them with an AND platform node and 2 % with a wildcard product (tried on
every asset); ASSETS assets running four products each (versions drawn so that some fall in
ranges). The reference, measured in the same run, is the plain loop over every (asset,
advisory) pair (`matching.match`); the two results must be equal.

Run: python bench/exposure.py [--advisories N] [--assets N]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from machine import describe
from tocsin.adapters.versions import UniversOrder
from tocsin.core.exposure.advisories import (
    Advisory,
    Configuration,
    CpeCriterion,
    CpeNode,
    Feed,
    Operator,
    Severity,
)
from tocsin.core.exposure.exposures import find_exposures
from tocsin.core.exposure.matching import match
from tocsin.core.exposure.software import Software, parse_cpe


def version(rng: random.Random) -> str:
    return f"{rng.randint(1, 5)}.{rng.randint(0, 20)}.{rng.randint(0, 30)}"


def product(rng: random.Random) -> tuple[str, str]:
    p = rng.randrange(3000)
    return f"vendor{p % 600}", f"product{p}"


def advisory(i: int, rng: random.Random) -> Advisory:
    criteria = []
    for _ in range(rng.randint(1, 3)):
        vendor, name = product(rng)
        if rng.random() < 0.02:
            name = "*"
        if rng.random() < 0.5:
            text = f"cpe:2.3:a:{vendor}:{name}:{version(rng)}:*:*:*:*:*:*:*"
            criteria.append(CpeCriterion(parse_cpe(text)))
        else:
            low, high = sorted(
                (version(rng), version(rng)), key=lambda v: tuple(map(int, v.split(".")))
            )
            text = f"cpe:2.3:a:{vendor}:{name}:*:*:*:*:*:*:*:*"
            criteria.append(CpeCriterion(parse_cpe(text), True, low, None, None, high))
    nodes = [CpeNode(tuple(criteria))]
    if rng.random() < 0.1:
        platform = parse_cpe("cpe:2.3:o:os_vendor:os:-:*:*:*:*:*:*:*")
        nodes.append(CpeNode((CpeCriterion(platform, vulnerable=False),)))
    config = Configuration(tuple(nodes), Operator.AND if len(nodes) > 1 else Operator.OR)
    return Advisory(f"CVE-2026-{i:05d}", Feed.NVD, "", (), 7.5, Severity.HIGH, (config,))


def inventory(assets: int, rng: random.Random) -> dict[str, tuple[Software, ...]]:
    out: dict[str, tuple[Software, ...]] = {}
    for a in range(assets):
        names: list[Software] = []
        for _ in range(4):
            vendor, name = product(rng)
            names.append(parse_cpe(f"cpe:2.3:a:{vendor}:{name}:{version(rng)}:*:*:*:*:*:*:*"))
        names.append(parse_cpe("cpe:2.3:o:os_vendor:os:-:*:*:*:*:*:*:*"))
        out[f"A{a:05d}"] = tuple(names)
    return out


def main() -> None:
    """Time both ways, check they agree, print the machine and one JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--advisories", type=int, default=30_000)
    parser.add_argument("--assets", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(20_260_301)
    advisories = [advisory(i, rng) for i in range(args.advisories)]
    assets = inventory(args.assets, rng)
    order = UniversOrder()
    print(json.dumps(describe()), file=sys.stderr)
    started = time.perf_counter()
    indexed = find_exposures(assets, advisories, patches=(), order=order)
    indexed_s = time.perf_counter() - started
    started = time.perf_counter()
    reference = [
        (asset, a.id)
        for asset, software in sorted(assets.items())
        for a in advisories
        if match(a, software, order=order) is not None
    ]
    reference_s = time.perf_counter() - started
    got = [(e.asset, e.advisory.id) for e in indexed]
    if got != reference:
        raise SystemExit(f"indexed and reference differ: {len(got)} against {len(reference)}")
    print(
        json.dumps(
            {
                "benchmark": "exposure_matching",
                "advisories": args.advisories,
                "assets": args.assets,
                "exposures": len(got),
                "indexed_s": round(indexed_s, 3),
                "every_pair_s": round(reference_s, 3),
                "every_pair_over_indexed": round(reference_s / indexed_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
