"""A cluster rule that attaches a cluster to an open incident by itself, on SQLite and
PostgreSQL: the report that brings the cluster to the rule's size links every open report of
it, in its own transaction and audited, to the most specific open incident of its region and
domain (the nearest region, then the nearest domain, then the most recent); the incident links
them back; later reports follow; no open incident, no attachment."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from importlib import resources
from pathlib import Path

import pytest
import yaml

from tests.api.conftest import build_container
from tocsin.bootstrap import Container
from tocsin.core.access import system_principal
from tocsin.core.incidents.model import Incident, LinkKind
from tocsin.core.reports import Point, Report, ReportStatus
from tocsin.services.reports import Submission
from tocsin.testing.clock import FakeClock

SYSTEM = system_principal("test")
ATTACH_AT = 3


def with_attach_rule(folder: Path) -> None:
    """The packaged report types, gas smells attaching at ATTACH_AT reports."""
    text = (resources.files("tocsin.defaults") / "report_types.yaml").read_text("utf-8")
    doc = yaml.safe_load(text)
    gas = next(t for t in doc["report_types"] if t["code"] == "gas_smell")
    gas["cluster_rules"].append({"min_reports": ATTACH_AT, "action": "attach_incident"})
    (folder / "reports.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")


@pytest.fixture
def made(db_url: str, tmp_path: Path) -> Iterator[tuple[Container, FakeClock]]:
    folder = tmp_path / "config"
    container, clock = build_container(db_url, tmp_path)  # writes the small configuration
    container.close()
    with_attach_rule(folder)
    container, clock = build_container(db_url, tmp_path)
    try:
        yield container, clock
    finally:
        container.close()


def gas(i: int) -> Submission:
    return Submission(
        service="gas_smell",
        point=Point(45.5 + i * 0.0004, 10.5),  # 45 m apart: one cluster in D11
        client="app",
        address_range=f"198.51.100.{i}/32",
        description=f"gas smell {i}",
        attributes={"strength": ["strong"]},
    )


def open_incident(c: Container, clock: FakeClock, region: str, domain: str) -> Incident:
    clock.advance(timedelta(minutes=1))
    return c.response.incidents.open(
        principal=SYSTEM, title=f"{domain} in {region}", region=region, domain=domain, reason="t"
    )


def current(c: Container, report_id: str) -> Report:
    with c.store.transaction() as tx:
        found = tx.reports.get(report_id)
    assert found is not None
    return found


def test_the_report_reaching_the_rule_attaches_its_cluster_to_the_nearest_incident(
    made: tuple[Container, FakeClock],
) -> None:
    c, clock = made
    open_incident(c, clock, "N", "supply")  # holds it too, but wider in region and domain
    older = open_incident(c, clock, "D11", "supply.energy")
    chosen = open_incident(c, clock, "D11", "supply.energy")  # as near, and more recent
    open_incident(c, clock, "D21", "supply.energy")  # another region
    open_incident(c, clock, "D11", "natural.flood")  # another domain
    reports = []
    for i in range(ATTACH_AT):
        clock.advance(timedelta(minutes=2))
        reports.append(c.reports.submit(gas(i)))
        if i < ATTACH_AT - 1:  # below the rule's size nothing is attached
            assert current(c, reports[-1].id).status is ReportStatus.RECEIVED
    assert len({r.cluster for r in reports}) == 1
    assert reports[-1].status is ReportStatus.LINKED  # the answer to the tipping report
    for r in reports:
        now = current(c, r.id)
        assert (now.status, now.incident) == (ReportStatus.LINKED, chosen.id)
    linked = c.response.incidents.get(chosen.id, principal=SYSTEM).linked(LinkKind.REPORT)
    assert sorted(linked) == sorted(r.id for r in reports)
    assert c.response.incidents.get(older.id, principal=SYSTEM).linked(LinkKind.REPORT) == []
    with c.store.transaction() as tx:
        (record,) = tx.audit.trail("report_cluster", str(reports[0].cluster))
        steps = tx.audit.trail("report", reports[0].id)
    assert record.kind == "report.cluster_attached"
    assert record.details["incident"] == chosen.id
    assert record.details["candidates"] == 3
    assert "most specific and most recent of 3" in record.reason
    assert [(s.kind, s.actor) for s in steps][-1] == ("report.link_incident", "system:reports")
    clock.advance(timedelta(minutes=2))
    later = c.reports.submit(gas(ATTACH_AT))  # a later report follows the cluster
    assert (later.status, later.incident) == (ReportStatus.LINKED, chosen.id)


def test_without_an_open_incident_nothing_is_attached(made: tuple[Container, FakeClock]) -> None:
    c, clock = made
    closed = open_incident(c, clock, "D11", "supply.energy")
    c.response.incidents.close(closed.id, principal=SYSTEM, reason="over")
    for i in range(ATTACH_AT + 1):
        clock.advance(timedelta(minutes=2))
        report = c.reports.submit(gas(i))
        assert current(c, report.id).status is ReportStatus.RECEIVED
    with c.store.transaction() as tx:
        assert tx.audit.trail("report_cluster", str(report.cluster)) == []
