"""The software inventory: what each asset runs and the addresses it is known by, validated.

Names come from `assets.yaml` (`software`, `addresses`, `alerts_indicator`) and from imported
CSV/JSON inventories (rows of asset and software name). Every problem is reported with where it
is; nothing of an inventory with a problem is kept.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tocsin.core.assets import Asset, AssetCode
from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.exposure.software import software_problem

# a host name (RFC 1123 labels, dots between) or an IP address
_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
MAX_NAME = 1024


@dataclass(frozen=True, slots=True)
class InventoryRow:
    """One software name of one asset, as an imported file states it; `where` names the row."""

    asset: str
    software: str
    where: str


def address_key(text: str) -> str | None:
    """The canonical form of a host name or IP address (lower case, compressed), or None."""
    value = text.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return value.lower().rstrip(".") if _HOST.match(value.rstrip(".")) else None


def _software_problems(path: str, names: Sequence[str]) -> Iterable[tuple[str, str]]:
    for i, name in enumerate(names):
        reason = "longer than 1024 characters" if len(name) > MAX_NAME else software_problem(name)
        if reason is not None:
            yield f"{path}.software[{i}]", f"{name[:120]!r}: {reason}"


def asset_exposure_problems(
    assets: Mapping[AssetCode, Asset], *, indicators: Mapping[str, str | None]
) -> list[tuple[str, str, str]]:
    """(section, path, reason) for bad software names, addresses and alert indicators."""
    out: list[tuple[str, str, str]] = []
    owner: dict[str, str] = {}
    for code, asset in assets.items():
        path = f"assets[{code}]"
        out.extend(("assets", p, r) for p, r in _software_problems(path, asset.software))
        for i, text in enumerate(asset.addresses):
            key = address_key(text)
            where = f"{path}.addresses[{i}]"
            if key is None:
                out.append(("assets", where, f"{text[:120]!r} is not a host name or IP address"))
            elif owner.setdefault(key, code) != code:
                out.append(("assets", where, f"{text!r} is also an address of {owner[key]!r}"))
        wanted = asset.alerts_indicator
        if wanted is not None and wanted not in indicators:
            out.append(("assets", f"{path}.alerts_indicator", f"unknown indicator {wanted!r}"))
        elif wanted is not None and indicators[wanted] != code:
            reason = f"indicator {wanted!r} is not about this asset (its `asset` is not {code!r})"
            out.append(("assets", f"{path}.alerts_indicator", reason))
    return out


def imported_inventory(
    rows: Sequence[InventoryRow], *, assets: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """Software by asset from imported rows; InvalidInput naming every bad row (up to 50)."""
    known = set(assets)
    problems: list[Problem] = []
    out: dict[str, list[str]] = {}
    for row in rows:
        if row.asset not in known:
            problems.append(Problem(row.where, "asset", f"unknown asset {row.asset[:120]!r}"))
            continue
        problems.extend(
            Problem(row.where, "software", reason)
            for _, reason in _software_problems("", [row.software])
        )
        out.setdefault(row.asset, []).append(row.software)
    if problems:
        raise InvalidInput(problems[:50])
    if not out:
        raise InvalidInput([Problem("inventory", "", "no rows")])
    return {a: tuple(dict.fromkeys(n)) for a, n in out.items()}
