"""Port: public hazard reports, their public updates, photos and sealed contacts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tocsin.core.report_clusters import ClusterState, Nearby
from tocsin.core.reports import Box, Photo, Point, Report, ReportStatus, ReportUpdate


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """Which reports: by id (overrides the rest), services, statuses, a requested-at range,
    the handling unit, the region, the cluster, a box of points, a reminder step due by
    `due_by`; newest first up to `limit`."""

    ids: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    statuses: tuple[ReportStatus, ...] = ()
    start_at: datetime | None = None
    end_at: datetime | None = None
    unit: str | None = None
    region: str | None = None
    cluster: str | None = None
    box: Box | None = None
    due_by: datetime | None = None
    limit: int = 1_000

    def matches(self, report: Report) -> bool:
        """Whether a report is one the query asks for (the limit aside): the in-memory store's
        filter, and what a group's reports not yet written are checked against."""
        if self.ids:
            return report.id in self.ids
        next_at = report.reminders.next_at
        checks = (
            not self.services or report.service in self.services,
            not self.statuses or report.status in self.statuses,
            self.start_at is None or report.requested_at >= self.start_at,
            self.end_at is None or report.requested_at <= self.end_at,
            self.unit is None or report.unit == self.unit,
            self.region is None or report.region == self.region,
            self.cluster is None or report.cluster == self.cluster,
            self.box is None or _inside(report, self.box),
            self.due_by is None or (next_at is not None and next_at <= self.due_by),
        )
        return all(checks)


def _inside(report: Report, box: Box) -> bool:
    south, west, north, east = box
    return south <= report.point.lat <= north and west <= report.point.lon <= east


@dataclass(frozen=True, slots=True)
class SealedContact:
    """A reporter's contact, encrypted, and when it must be deleted."""

    report_id: str
    sealed: bytes
    delete_at: datetime


class ReportStore(Protocol):
    """Reports, their updates, photos and sealed contacts."""

    def take_in(self) -> None:
        """Hold taking reports in to this transaction until it ends: another process's group
        waits (clustering reads what the group before it wrote). Called first."""

    def add(self, report: Report, *, photo: Photo | None, update: ReportUpdate) -> None:
        """Store a new report with its first public update (and its photo)."""

    def add_all(self, added: Sequence[tuple[Report, Photo | None, ReportUpdate]]) -> None:
        """Store new reports, each with its first public update (and its photo), together."""

    def save(self, report: Report, *, update: ReportUpdate | None) -> None:
        """Store a changed report and the public update that records the change (None: a
        change the reporter does not see, such as a reminder step)."""

    def get(self, report_id: str) -> Report | None:
        """One report."""

    def find(self, query: ReportQuery) -> list[Report]:
        """Reports matching the query, newest first."""

    def count(self, query: ReportQuery) -> int:
        """How many reports match the query (its limit aside)."""

    def nearest(
        self, asked: Sequence[tuple[ReportQuery, Point]], *, limit: int
    ) -> list[list[Nearby]]:
        """For each (query, point) asked: up to `limit` clustered reports matching the query
        (its services, requested-at range and box), nearest to the point first on a flat
        projection around it (the caller measures each exactly); a query that names no
        services finds none. One read for all of them: a group of reports taken in asks for
        each of its reports at once."""

    def cluster_state(self, cluster: str, *, since: datetime) -> ClusterState:
        """The cluster's open reports requested at or after `since`, and the incident of its
        newest linked report in that time."""

    def with_fingerprints(self, fingerprints: Sequence[str], *, since: datetime) -> list[Report]:
        """The reports with any of these fingerprints requested at or after `since`, oldest
        first (one read for a group of submissions' duplicate checks)."""

    def updates(self, report_id: str) -> list[ReportUpdate]:
        """A report's public updates, oldest first."""

    def photo(self, report_id: str) -> Photo | None:
        """A report's photo."""

    def seal_contact(self, contact: SealedContact) -> None:
        """Store a reporter's sealed contact."""

    def contact(self, report_id: str) -> SealedContact | None:
        """A report's sealed contact, if it has not been deleted."""

    def delete_contacts(self, now: datetime) -> list[str]:
        """Delete every contact due by `now`; the reports keep `has_contact` False; their ids."""

    def delete_contact(self, report_id: str) -> bool:
        """Delete one report's contact now (the reporter stopped updates); whether it had one."""


class ContactCipher(Protocol):
    """Encrypts reporters' contacts at rest."""

    def seal(self, text: str, *, report_id: str) -> bytes:
        """The contact, encrypted and bound to the report."""

    def open(self, sealed: bytes, *, report_id: str) -> str:
        """The contact back."""

    def token(self, report_id: str) -> str:
        """The report's unsubscribe token: unguessable without the key, stored nowhere."""
