"""Clusters of public reports: related reports close in space and time describe one situation.

A new report joins the cluster of the nearest earlier report of the same cluster group within the
type's distance and time window; with none near, it starts a cluster named after itself. A
cluster that reaches a rule's count is a signal at that rule's level (ReportType.level_for).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from tocsin.core.levels import Level
from tocsin.core.report_types import ReportType
from tocsin.core.reports import Report, distance_m


@dataclass(frozen=True, slots=True)
class ClusterSignal:
    """A cluster that met a rule: its id, region and domain, its size and the level."""

    cluster: str
    region: str
    domain: str
    reports: int
    level: Level


def nearest_cluster(report: Report, recent: Sequence[Report], *, rtype: ReportType) -> str:
    """The cluster the report joins (the nearest related earlier report's), or its own id."""
    since = report.requested_at - timedelta(seconds=rtype.cluster_window_s)
    best: tuple[float, str] | None = None
    for other in recent:
        if other.id == report.id or other.cluster is None:
            continue
        if not since <= other.requested_at <= report.requested_at:
            continue
        gap = distance_m(report.point, other.point)
        if gap <= rtype.cluster_distance_m and (best is None or gap < best[0]):
            best = (gap, other.cluster)
    return best[1] if best is not None else report.id


def related(report: Report, recent: Sequence[Report], *, groups: dict[str, str]) -> list[Report]:
    """The earlier reports whose type clusters in the same group as the report's."""
    group = groups.get(report.service, report.service)
    return [r for r in recent if groups.get(r.service, r.service) == group]


def signal(
    report: Report, members: Sequence[Report], *, rtype: ReportType, domain: str
) -> ClusterSignal | None:
    """The signal of the report's cluster (open members counted) if it meets a rule."""
    count = open_count(report, members)
    level = rtype.level_for(count)
    if level is None:
        return None
    return ClusterSignal(report.cluster or report.id, report.region, domain, count, level)


def open_count(report: Report, members: Sequence[Report]) -> int:
    """How many open reports the report's cluster holds (the report's own included)."""
    cluster = report.cluster or report.id
    return sum(1 for m in members if m.cluster == cluster and m.open311_status == "open")
