"""Public reports in memory: the reference for the SQL store's behaviour."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.report_clusters import ClusterState, Nearby
from tocsin.core.reports import OPEN_STATES, Photo, Point, Report, ReportStatus, ReportUpdate
from tocsin.ports.reports import ReportQuery, SealedContact


class MemoryReports:
    """The ReportStore port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def take_in(self) -> None:
        """Nothing: the memory store's transactions run one at a time."""

    def add(self, report: Report, *, photo: Photo | None, update: ReportUpdate) -> None:
        """Store a new report with its first public update (and its photo)."""
        if report.id in self.state.reports:
            raise ValueError(f"report {report.id} already stored")
        self.state.reports[report.id] = report
        self.state.report_updates[report.id] = (update,)
        if photo is not None:
            self.state.report_photos[report.id] = photo

    def add_all(self, added: Sequence[tuple[Report, Photo | None, ReportUpdate]]) -> None:
        """Store new reports, each with its first public update (and its photo)."""
        for report, photo, update in added:
            self.add(report, photo=photo, update=update)

    def save(self, report: Report, *, update: ReportUpdate | None) -> None:
        """Store a changed report and the public update that records the change (None: a
        change the reporter does not see, such as a reminder step)."""
        self.state.reports[report.id] = report
        if update is not None:
            self.state.report_updates[report.id] = (*self.updates(report.id), update)

    def get(self, report_id: str) -> Report | None:
        """One report."""
        return self.state.reports.get(report_id)

    def find(self, query: ReportQuery) -> list[Report]:
        """Reports matching the query, newest first."""
        found = [r for r in self.state.reports.values() if query.matches(r)]
        found.sort(key=lambda r: (r.requested_at, r.id), reverse=True)
        return found[: query.limit]

    def count(self, query: ReportQuery) -> int:
        """How many reports match the query (its limit aside)."""
        return sum(1 for r in self.state.reports.values() if query.matches(r))

    def nearest(
        self, asked: Sequence[tuple[ReportQuery, Point]], *, limit: int
    ) -> list[list[Nearby]]:
        """For each (query, point): up to `limit` clustered reports matching the query,
        nearest to the point first (flat)."""
        return [self._nearest(query, to, limit) for query, to in asked]

    def _nearest(self, query: ReportQuery, to: Point, limit: int) -> list[Nearby]:
        if not query.services:
            return []
        k = math.cos(math.radians(to.lat))

        def flat(r: Report) -> tuple[float, str]:
            return (r.point.lat - to.lat) ** 2 + ((r.point.lon - to.lon) * k) ** 2, r.id

        found = [r for r in self.state.reports.values() if r.cluster and query.matches(r)]
        found.sort(key=flat)
        return [Nearby(r.id, r.point, r.cluster, r.requested_at) for r in found[:limit]]

    def cluster_state(self, cluster: str, *, since: datetime) -> ClusterState:
        """The cluster's open reports since `since`; its newest linked report's incident."""
        members = [
            r
            for r in self.state.reports.values()
            if r.cluster == cluster and r.requested_at >= since
        ]
        linked = [r for r in members if r.status is ReportStatus.LINKED and r.incident]
        newest = max(linked, key=lambda r: (r.requested_at, r.id), default=None)
        count = sum(1 for r in members if r.status in OPEN_STATES)
        return ClusterState(count, newest.incident if newest is not None else None)

    def with_fingerprints(self, fingerprints: Sequence[str], *, since: datetime) -> list[Report]:
        """The reports with any of these fingerprints requested at or after `since`, oldest
        first."""
        wanted = set(fingerprints)
        found = [
            r
            for r in self.state.reports.values()
            if r.fingerprint in wanted and r.requested_at >= since
        ]
        return sorted(found, key=lambda r: (r.requested_at, r.id))

    def updates(self, report_id: str) -> list[ReportUpdate]:
        """A report's public updates, oldest first."""
        return list(self.state.report_updates.get(report_id, ()))

    def photo(self, report_id: str) -> Photo | None:
        """A report's photo."""
        return self.state.report_photos.get(report_id)

    def seal_contact(self, contact: SealedContact) -> None:
        """Store a reporter's sealed contact."""
        self.state.report_contacts[contact.report_id] = contact

    def contact(self, report_id: str) -> SealedContact | None:
        """A report's sealed contact, if it has not been deleted."""
        return self.state.report_contacts.get(report_id)

    def delete_contacts(self, now: datetime) -> list[str]:
        """Delete every contact due by `now`; the reports keep `has_contact` False; their ids."""
        due = [k for k, c in self.state.report_contacts.items() if c.delete_at <= now]
        for key in due:
            self.delete_contact(key)
        return due

    def delete_contact(self, report_id: str) -> bool:
        """Delete one report's contact now (the reporter stopped updates); whether it had one."""
        if self.state.report_contacts.pop(report_id, None) is None:
            return False
        self.state.reports[report_id] = replace(self.state.reports[report_id], has_contact=False)
        return True
