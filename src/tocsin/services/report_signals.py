"""What a cluster of public reports that meets a rule does, in the report's transaction: it is
stored as an event (the citizen reports' trace among the events) and it raises — or upgrades —
a warning for the cluster's region and domain through the same lifecycle as every other source
(`source="reports"`). A cluster's warning is lifted by people, not by the reports."""

from __future__ import annotations

from tocsin.core.domains import DomainCode
from tocsin.core.events import Event
from tocsin.core.regions import RegionCode
from tocsin.core.report_clusters import ClusterSignal
from tocsin.core.report_types import ReportType
from tocsin.core.reports import Report
from tocsin.core.warnings.model import Command, CommandKind, Place, WarningEvent, fingerprint
from tocsin.ports import StoreSession
from tocsin.services.warning_changes import WarningChanges

SOURCE = "reports"


def cluster_event(found: ClusterSignal, rtype: ReportType, *, at: Report) -> Event:
    """The event of a cluster that met a rule (one per cluster and level)."""
    return Event(
        source=SOURCE,
        external_id=f"cluster:{found.cluster}:{found.level.value}",
        occurred_at=at.requested_at,
        region=RegionCode(found.region),
        domain=DomainCode(found.domain),
        severity=found.level,
        title=f"{found.reports} public reports: {rtype.name}",
        attributes={"cluster": found.cluster, "reports": found.reports, "service": rtype.code},
    )


def _command(found: ClusterSignal, rtype: ReportType) -> Command:
    rule = next(r for r in rtype.cluster_rules if r.level is found.level)
    reason = f"{found.reports} public reports of {rtype.name.lower()} in one cluster"
    cause = {"cluster": found.cluster, "reports": found.reports, "service": rtype.code}
    explanation = {
        "rule": "report_cluster",
        "min_reports": rule.min_reports,
        "distance_m": rtype.cluster_distance_m,
        "window_s": rtype.cluster_window_s,
        "level": found.level.value,
    }
    return Command(
        CommandKind.RAISE, f"{SOURCE}:{rtype.code}", reason, found.level, cause, explanation
    )


def signal_cluster(
    tx: StoreSession, found: ClusterSignal, *, rtype: ReportType, report: Report
) -> list[WarningEvent]:
    """Store the cluster's event and raise (or upgrade) its warning; the warning transitions
    (for the caller to audit, and to publish after commit)."""
    tx.events.insert([cluster_event(found, rtype, at=report)], received_at=report.requested_at)
    subject = f"cluster:{found.cluster}"
    fp = fingerprint(SOURCE, subject, found.region, found.domain)
    changes = WarningChanges.load(tx, [fp])
    current = changes.current(fp)
    if current is not None and current.level.rank >= found.level.rank:
        return []
    place = Place(
        SOURCE,
        subject,
        RegionCode(found.region),
        DomainCode(found.domain),
        {"service": rtype.code, "cluster": found.cluster},
    )
    changes.apply(fp, _command(found, rtype), at=report.requested_at, place=lambda: place)
    return changes.save(tx)
