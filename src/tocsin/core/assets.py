"""Assets of critical infrastructure and their dependencies on each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NewType

from tocsin.core.domains import DomainCode
from tocsin.core.regions import RegionCode

AssetCode = NewType("AssetCode", str)


@dataclass(frozen=True, slots=True)
class Asset:
    """An element of critical infrastructure (substation, water works, hospital, data centre)."""

    code: AssetCode
    name: str
    kind: str
    region: RegionCode
    domain: DomainCode
    depends_on: tuple[AssetCode, ...] = ()
    latitude: float | None = None
    longitude: float | None = None
    software: tuple[str, ...] = ()  # CPE 2.3 names or package URLs (core/exposure/software.py)
    addresses: tuple[str, ...] = ()  # host names and IP addresses security alerts name it by
    alerts_indicator: str | None = None  # the indicator counting its security alerts


def dependants(assets: dict[AssetCode, Asset], code: AssetCode) -> set[AssetCode]:
    """Every asset that depends, directly or through others, on `code`."""
    reverse: dict[AssetCode, list[AssetCode]] = {}
    for asset in assets.values():
        for dep in asset.depends_on:
            reverse.setdefault(dep, []).append(asset.code)
    seen: set[AssetCode] = set()
    stack = list(reverse.get(code, []))
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(reverse.get(current, []))
    seen.discard(code)
    return seen


def dependency_cycles(assets: dict[AssetCode, Asset]) -> list[list[AssetCode]]:
    """Dependency cycles (each as a list of codes); a valid asset graph has none."""
    state: dict[AssetCode, int] = {}
    cycles: list[list[AssetCode]] = []

    def visit(code: AssetCode, path: list[AssetCode]) -> None:
        state[code] = 1
        path.append(code)
        for dep in assets[code].depends_on:
            if dep not in assets:
                continue
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, path)
        path.pop()
        state[code] = 2

    for code in assets:
        if code not in state:
            visit(code, [])
    return cycles
