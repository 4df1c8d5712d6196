"""What a cluster of public reports that meets a rule does, in the report's transaction: it is
stored as an event (the citizen reports' trace among the events) and it raises — or upgrades —
a warning for the cluster's region and domain through the same lifecycle as every other source
(`source="reports"`). A cluster's warning is lifted by people, not by the reports."""

from __future__ import annotations

from collections.abc import Callable, Sequence

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


def signal_clusters(
    tx: StoreSession, found: Sequence[tuple[ClusterSignal, ReportType, Report]]
) -> list[list[WarningEvent]]:
    """Store the clusters' events and raise (or upgrade) their warnings, in order, in one
    pass: one insert of events, the warnings read once and written once. The warning
    transitions each one made (for the caller to audit, and to publish after commit)."""
    if not found:
        return []
    received = max(report.requested_at for _, _, report in found)
    tx.events.insert([cluster_event(f, rtype, at=r) for f, rtype, r in found], received_at=received)
    fps = [fingerprint(SOURCE, f"cluster:{f.cluster}", f.region, f.domain) for f, _, _ in found]
    changes = WarningChanges.load(tx, fps)
    made: list[list[WarningEvent]] = []
    for (one, rtype, report), fp in zip(found, fps, strict=True):
        current = changes.current(fp)
        if current is not None and current.level.rank >= one.level.rank:
            made.append([])
            continue
        before = len(changes.events)
        changes.apply(fp, _command(one, rtype), at=report.requested_at, place=_place(one, rtype))
        made.append(changes.events[before:])
    changes.save(tx)
    return made


def _place(found: ClusterSignal, rtype: ReportType) -> Callable[[], Place]:
    subject = f"cluster:{found.cluster}"
    extra = {"service": rtype.code, "cluster": found.cluster}
    region, domain = RegionCode(found.region), DomainCode(found.domain)
    return lambda: Place(SOURCE, subject, region, domain, extra)
