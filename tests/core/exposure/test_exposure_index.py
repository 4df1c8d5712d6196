"""The key index of `find_exposures` finds exactly what trying every (asset, advisory) finds."""

from __future__ import annotations

import random

from tocsin.adapters.versions import UniversOrder
from tocsin.core.exposure.advisories import (
    Advisory,
    AffectedPackage,
    Configuration,
    CpeCriterion,
    CpeNode,
    Feed,
    VersionEvent,
)
from tocsin.core.exposure.exposures import find_exposures
from tocsin.core.exposure.matching import match
from tocsin.core.exposure.software import Software, parse_cpe, parse_purl

ORDER = UniversOrder()


def _version(rng: random.Random) -> str:
    return f"{rng.randint(1, 3)}.{rng.randint(0, 5)}"


def _criterion(rng: random.Random) -> CpeCriterion:
    vendor = rng.choice(["v1", "v2", "*", "v?"] if rng.random() < 0.1 else ["v1", "v2", "v3"])
    product = rng.choice(["p1", "p2", "p3", "*", "p*"])
    if rng.random() < 0.5:
        return CpeCriterion(
            parse_cpe(f"cpe:2.3:a:{vendor}:{product}:{_version(rng)}:*:*:*:*:*:*:*")
        )
    text = f"cpe:2.3:a:{vendor}:{product}:*:*:*:*:*:*:*:*"
    return CpeCriterion(parse_cpe(text), rng.random() < 0.9, _version(rng), None, None, "3.9")


def _advisory(i: int, rng: random.Random) -> Advisory:
    nodes = tuple(
        CpeNode(tuple(_criterion(rng) for _ in range(rng.randint(1, 2))))
        for _ in range(rng.randint(1, 2))
    )
    events = (VersionEvent("introduced", "0"), VersionEvent("fixed", _version(rng)))
    packages = (AffectedPackage("pypi", "", rng.choice(["Py_A", "py-b"]), (events,)),)
    return Advisory(f"X-{i}", Feed.NVD, configurations=(Configuration(nodes),), packages=packages)


def test_the_index_finds_what_every_pair_finds() -> None:
    rng = random.Random(7)
    advisories = [_advisory(i, rng) for i in range(300)]
    inventory: dict[str, tuple[Software, ...]] = {}
    for a in range(40):
        names: list[Software] = [
            parse_cpe(
                f"cpe:2.3:a:v{rng.randint(1, 3)}:p{rng.randint(1, 3)}:{_version(rng)}:*:*:*:*:*:*:*"
            )
            for _ in range(3)
        ]
        names.append(parse_purl(f"pkg:pypi/{rng.choice(['py.a', 'PY-B', 'py-c'])}@{_version(rng)}"))
        inventory[f"A{a:02d}"] = tuple(names)
    indexed = [
        (e.asset, e.advisory.id)
        for e in find_exposures(inventory, advisories, patches=(), order=ORDER)
    ]
    every_pair = [
        (asset, adv.id)
        for asset, software in sorted(inventory.items())
        for adv in advisories
        if match(adv, software, order=ORDER) is not None
    ]
    assert indexed == every_pair
    assert len(indexed) > 50  # the sample does match, through names, wildcards and packages
