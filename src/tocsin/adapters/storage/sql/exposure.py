"""Exposure on SQL: advisories as JSON documents, imported software rows, patches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, tuple_

from tocsin.adapters.storage import exposure_tables as x
from tocsin.adapters.storage.sql.records import from_row, to_row
from tocsin.core.exposure.advisories import (
    Advisory,
    AffectedPackage,
    Configuration,
    CpeCriterion,
    CpeNode,
    Feed,
    Operator,
    Severity,
    VersionEvent,
)
from tocsin.core.exposure.exposures import Patch
from tocsin.core.exposure.software import Cpe


def advisory_document(advisory: Advisory) -> dict[str, Any]:
    """An advisory as a JSON document (enums as text, the due date as ISO 8601)."""
    doc = asdict(advisory)
    doc["due_on"] = advisory.due_on.isoformat() if advisory.due_on else None
    return doc


def _criterion(doc: Mapping[str, Any]) -> CpeCriterion:
    return CpeCriterion(**{**doc, "criteria": Cpe(tuple(doc["criteria"]["values"]))})


def _configuration(doc: Mapping[str, Any]) -> Configuration:
    nodes = tuple(
        CpeNode(tuple(_criterion(c) for c in n["criteria"]), Operator(n["operator"]), n["negate"])
        for n in doc["nodes"]
    )
    return Configuration(nodes, Operator(doc["operator"]))


def _package(doc: Mapping[str, Any]) -> AffectedPackage:
    ranges = tuple(tuple(VersionEvent(**e) for e in r) for r in doc["ranges"])
    return AffectedPackage(
        doc["type"], doc["namespace"], doc["name"], ranges, tuple(doc["versions"])
    )


def advisory_from_document(doc: Mapping[str, Any]) -> Advisory:
    """The advisory a document holds (the inverse of `advisory_document`)."""
    return Advisory(
        id=doc["id"],
        feed=Feed(doc["feed"]),
        title=doc["title"],
        aliases=tuple(doc["aliases"]),
        cvss_score=doc["cvss_score"],
        severity=Severity(doc["severity"]),
        configurations=tuple(_configuration(c) for c in doc["configurations"]),
        packages=tuple(_package(p) for p in doc["packages"]),
        known_exploited=doc["known_exploited"],
        due_on=date.fromisoformat(doc["due_on"]) if doc["due_on"] else None,
        required_action=doc["required_action"],
    )


class SqlExposure:
    """The ExposureStore port in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def put_advisories(self, advisories: Sequence[Advisory], *, imported_at: datetime) -> int:
        """Store advisories, replacing the same feed's record of the same id."""
        latest = {(a.feed.value, a.id): a for a in advisories}
        keys = list(latest)
        c = x.advisories.c
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            self.conn.execute(delete(x.advisories).where(tuple_(c.feed, c.id).in_(chunk)))
        if latest:
            rows = [
                {"feed": f, "id": i, "data": advisory_document(a), "imported_at": imported_at}
                for (f, i), a in latest.items()
            ]
            self.conn.execute(insert(x.advisories), rows)
        return len(latest)

    def advisories(self) -> list[Advisory]:
        """Every stored advisory, by feed then id."""
        c = x.advisories.c
        rows = self.conn.execute(select(c.data).order_by(c.feed, c.id)).scalars()
        return [advisory_from_document(doc) for doc in rows]

    def set_software(self, software: Mapping[str, Sequence[str]], *, imported_at: datetime) -> None:
        """Replace the imported software of each asset named."""
        c = x.asset_software.c
        for asset, names in software.items():
            self.conn.execute(delete(x.asset_software).where(c.asset == asset))
            rows = [
                {"asset": asset, "software": n, "imported_at": imported_at}
                for n in sorted(set(names))
            ]
            if rows:
                self.conn.execute(insert(x.asset_software), rows)

    def imported_software(self) -> dict[str, tuple[str, ...]]:
        """Imported software by asset, names sorted."""
        c = x.asset_software.c
        out: dict[str, list[str]] = {}
        for asset, name in self.conn.execute(
            select(c.asset, c.software).order_by(c.asset, c.software)
        ):
            out.setdefault(asset, []).append(name)
        return {a: tuple(n) for a, n in out.items()}

    def record_patch(self, patch: Patch) -> None:
        """Record a patch (replacing one of the same asset and advisory)."""
        c = x.patches.c
        self.conn.execute(
            delete(x.patches).where(c.asset == patch.asset, c.advisory == patch.advisory)
        )
        self.conn.execute(insert(x.patches), [to_row(patch)])

    def patches(self) -> list[Patch]:
        """Every recorded patch, by asset then advisory."""
        c = x.patches.c
        rows = self.conn.execute(select(x.patches).order_by(c.asset, c.advisory)).mappings()
        return [from_row(Patch, r) for r in rows]
