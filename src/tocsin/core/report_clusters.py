"""Clusters of public reports: related reports close in space and time describe one situation.

A new report joins the cluster of the nearest earlier report of the same cluster group within the
type's distance and time window; with none near, it starts a cluster named after itself. A
cluster that reaches a rule's count is a signal at that rule's level (ReportType.level_for).

The store reads what clustering needs and no more: the few clustered reports nearest a point
(`Nearby`: ordered by the store on a flat projection, measured exactly here) and, of a cluster,
how many open reports it holds and the incident its newest linked report follows
(`ClusterState`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tocsin.core.levels import Level
from tocsin.core.report_types import ReportType
from tocsin.core.reports import Point, Report, distance_m

NEAREST_READ = 8  # clustered neighbours read, nearest first (the exact nearest is among them)


@dataclass(frozen=True, slots=True)
class Nearby:
    """An earlier report as clustering sees it: where, when, which cluster."""

    id: str
    point: Point
    cluster: str | None
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class ClusterState:
    """A cluster within its window: how many open reports it holds, and the incident its
    newest linked report follows (None: none is linked)."""

    open_reports: int
    incident: str | None


@dataclass(frozen=True, slots=True)
class ClusterSignal:
    """A cluster that met a rule: its id, region and domain, its size and the level."""

    cluster: str
    region: str
    domain: str
    reports: int
    level: Level


def nearest_cluster(report: Report, recent: Sequence[Report | Nearby], *, rtype: ReportType) -> str:
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


def signal(report: Report, count: int, *, rtype: ReportType, domain: str) -> ClusterSignal | None:
    """The signal of the report's cluster, holding `count` open reports, if it meets a rule."""
    level = rtype.level_for(count)
    if level is None:
        return None
    return ClusterSignal(report.cluster or report.id, report.region, domain, count, level)
