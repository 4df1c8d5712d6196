"""Public reports on SQL: one row per report, its public updates, photo and sealed contact."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, delete, func, insert, select
from sqlalchemy import update as sql_update

from tocsin.adapters.storage import report_tables as t
from tocsin.adapters.storage.dialects import DialectWriter
from tocsin.adapters.storage.sql.driver import Driver, DriverStatement, DriverTable
from tocsin.adapters.storage.sql.reminders import reminder_columns, reminders_of
from tocsin.adapters.storage.times import must
from tocsin.core.report_clusters import ClusterState, Nearby
from tocsin.core.reports import (
    OPEN_STATES,
    Photo,
    Point,
    Report,
    ReportId,
    ReportStatus,
    ReportUpdate,
)
from tocsin.ports.reports import ReportQuery, SealedContact


def report_row(report: Report) -> dict[str, Any]:
    """The row of a report."""
    return {
        "id": report.id,
        "service": report.service,
        "lat": report.point.lat,
        "lon": report.point.lon,
        "region": report.region,
        "unit": report.unit,
        "requested_at": report.requested_at,
        "updated_at": report.updated_at,
        "status": report.status.value,
        "status_note": report.status_note,
        "description": report.description,
        "address": report.address,
        "attributes": dict(report.attributes),
        "client": report.client,
        "fingerprint": report.fingerprint,
        "cluster": report.cluster,
        "duplicate_of": report.duplicate_of,
        "incident": report.incident,
        "has_photo": report.has_photo,
        "has_contact": report.has_contact,
        **reminder_columns(report.reminders, due_column="reminder_due_at"),
    }


def report_of(row: Mapping[Any, Any]) -> Report:
    """The report of a row."""
    dup = row["duplicate_of"]
    return Report(
        id=ReportId(row["id"]),
        service=row["service"],
        point=Point(float(row["lat"]), float(row["lon"])),
        region=row["region"],
        unit=row["unit"],
        requested_at=must(row["requested_at"]),
        updated_at=must(row["updated_at"]),
        status=ReportStatus(row["status"]),
        status_note=row["status_note"],
        description=row["description"],
        address=row["address"],
        attributes=dict(row["attributes"] or {}),
        client=row["client"],
        fingerprint=row["fingerprint"],
        cluster=row["cluster"],
        duplicate_of=ReportId(dup) if dup is not None else None,
        incident=row["incident"],
        has_photo=bool(row["has_photo"]),
        has_contact=bool(row["has_contact"]),
        reminders=reminders_of(row, due_column="reminder_due_at"),
    )


TAKE_IN = "tocsin.reports.take_in"  # the lock of taking reports in
_OPEN = ", ".join(f"'{s.value}'" for s in sorted(OPEN_STATES))  # enum values: plain words
# the reads of taking a report in, on the driver's cursor (see driver.py). Clustering reads the
# reports near each report of a group, nearest first on a flat projection (cos² of the
# latitude scales longitude). On PostgreSQL one statement asks for many reports: a sub-select
# each in a UNION ALL ordered by the report asked for, the distance and the id; each statement
# is a round trip after which the group's thread waits for the interpreter (16 reports of a
# gas-smell hot spot: 3.0 ms in one statement, 5.6 ms one by one, 7,000 reports stored).
_NEAR = (
    "SELECT {k} AS q, id, lat, lon, cluster, requested_at, "
    "(lat - ?) * (lat - ?) + (lon - ?) * (lon - ?) * ? AS d FROM reports "
    "WHERE service IN ({services}) AND requested_at BETWEEN ? AND ? "
    "AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? AND cluster IS NOT NULL "
    "ORDER BY d, id LIMIT ?"
)
# SQLite is in the process (a read is no round trip), and its plan of such a union sorts each
# part in a temporary B-tree: 0.09 ms a report against 0.01 ms read alone (7,000 reports)
NEAR_PER_READ = {"postgresql": 16, "sqlite": 1}  # sub-selects in one statement
_NEAREST: dict[tuple[int, int], DriverStatement] = {}  # by sub-selects and services each
_CLUSTER_STATE = DriverStatement(
    "SELECT (SELECT count(*) FROM reports WHERE cluster = ? AND requested_at >= ? "  # noqa: S608 - the statuses are the enum's
    f"AND status IN ({_OPEN})), "
    "(SELECT incident FROM reports WHERE cluster = ? AND requested_at >= ? "
    f"AND status = '{ReportStatus.LINKED.value}' AND incident IS NOT NULL "
    "ORDER BY requested_at DESC, id DESC LIMIT 1)"
)


_REPORTS = DriverTable(t.reports)
_UPDATES = DriverTable(t.report_updates)


def _nearest(reads: int, services: int) -> DriverStatement:
    """The statement of `reads` sub-selects of `services` services each (a query of fewer
    services repeats one: the number of distinct statements stays small)."""
    found = _NEAREST.get((reads, services))
    if found is None:
        marks = ", ".join("?" * services)
        parts = [_NEAR.format(k=k, services=marks) for k in range(reads)]
        if reads == 1:
            found = DriverStatement(parts[0])
        else:
            each = [f"SELECT * FROM ({x}) AS near{k}" for k, x in enumerate(parts)]  # noqa: S608
            found = DriverStatement(" UNION ALL ".join(each) + " ORDER BY 1, 7, 2")
        _NEAREST[(reads, services)] = found
    return found


def _width(services: int) -> int:
    """The services of one sub-select: the next power of two."""
    return 1 << max(services - 1, 0).bit_length()


_INSERT_UPDATE = insert(t.report_updates)


def _near_params(drv: Driver, query: ReportQuery, to: Point, width: int, limit: int) -> list[Any]:
    """One sub-select's parameters: its services padded to `width` with the first."""
    if query.box is None or query.start_at is None or query.end_at is None:
        raise ValueError("nearest needs a box and a requested-at range")
    south, west, north, east = query.box
    services = list(query.services)
    services += services[:1] * (width - len(services))
    k2 = math.cos(math.radians(to.lat)) ** 2
    lat, lon = to.lat, to.lon
    window = [drv.time(query.start_at), drv.time(query.end_at)]
    return [lat, lat, lon, lon, k2, *services, *window, south, north, west, east, limit]


def _filtered(query: ReportQuery) -> Select[Any]:
    c = t.reports.c
    sql = select(t.reports)
    if query.ids:
        return sql.where(c.id.in_(query.ids))
    if query.services:
        sql = sql.where(c.service.in_(query.services))
    if query.statuses:
        sql = sql.where(c.status.in_([s.value for s in query.statuses]))
    if query.start_at is not None:
        sql = sql.where(c.requested_at >= query.start_at)
    if query.end_at is not None:
        sql = sql.where(c.requested_at <= query.end_at)
    if query.unit is not None:
        sql = sql.where(c.unit == query.unit)
    if query.region is not None:
        sql = sql.where(c.region == query.region)
    if query.cluster is not None:
        sql = sql.where(c.cluster == query.cluster)
    if query.due_by is not None:
        sql = sql.where(c.reminder_due_at <= query.due_by)
    if query.box is not None:
        south, west, north, east = query.box
        sql = sql.where(c.lat.between(south, north), c.lon.between(west, east))
    return sql


def _update_row(report_id: str, update: ReportUpdate) -> dict[str, Any]:
    return {
        "report_id": report_id,
        "at": update.at,
        "status": update.status.value,
        "note": update.note,
    }


class SqlReports:
    """The ReportStore port in one transaction."""

    def __init__(self, conn: Connection, writer: DialectWriter) -> None:
        self.conn = conn
        self.writer = writer

    def take_in(self) -> None:
        """SQLite's write lock taken at once (polled: SQLite's own busy handler sleeps up to
        100 ms between tries while the pipeline writes); PostgreSQL's advisory lock."""
        self.writer.exclusive(self.conn, TAKE_IN)

    def add(self, report: Report, *, photo: Photo | None, update: ReportUpdate) -> None:
        """Store a new report with its first public update (and its photo)."""
        self.add_all([(report, photo, update)])

    def add_all(self, added: Sequence[tuple[Report, Photo | None, ReportUpdate]]) -> None:
        """Store new reports, each with its first public update (and its photo): one
        statement per table."""
        if not added:
            return
        drv = Driver(self.conn)  # every report comes in here: on the driver (see driver.py)
        _REPORTS.insert_rows(drv, [report_row(r) for r, _, _ in added])
        _UPDATES.insert_rows(drv, [_update_row(r.id, u) for r, _, u in added])
        photos = [
            {"report_id": r.id, "media_type": p.media_type, "data": p.data}
            for r, p, _ in added
            if p is not None
        ]
        if photos:
            self.conn.execute(insert(t.report_photos), photos)

    def save(self, report: Report, *, update: ReportUpdate | None) -> None:
        """Store a changed report and the public update that records the change (None: a
        change the reporter does not see, such as a reminder step)."""
        row = report_row(report)
        self.conn.execute(sql_update(t.reports).where(t.reports.c.id == report.id).values(**row))
        if update is not None:
            self._update(report.id, update)

    def _update(self, report_id: str, update: ReportUpdate) -> None:
        self.conn.execute(_INSERT_UPDATE, [_update_row(report_id, update)])

    def get(self, report_id: str) -> Report | None:
        """One report."""
        row = self.conn.execute(select(t.reports).where(t.reports.c.id == report_id))
        found = row.mappings().first()
        return report_of(found) if found is not None else None

    def find(self, query: ReportQuery) -> list[Report]:
        """Reports matching the query, newest first."""
        c = t.reports.c
        sql = _filtered(query).order_by(c.requested_at.desc(), c.id.desc()).limit(query.limit)
        return [report_of(r) for r in self.conn.execute(sql).mappings()]

    def count(self, query: ReportQuery) -> int:
        """How many reports match the query (its limit aside): counted by the database."""
        counted = select(func.count()).select_from(_filtered(query).subquery())
        return int(self.conn.execute(counted).scalar_one())

    def nearest(
        self, asked: Sequence[tuple[ReportQuery, Point]], *, limit: int
    ) -> list[list[Nearby]]:
        """For each (query, point): up to `limit` clustered reports matching the query (its
        services, requested-at range and box), nearest to the point first on a flat
        projection (the database orders; only five columns are read). One statement for up
        to `NEAR_PER_READ` of them, by dialect."""
        found: list[list[Nearby]] = [[] for _ in asked]
        wanted = [(i, query, to) for i, (query, to) in enumerate(asked) if query.services]
        drv = Driver(self.conn)
        share = NEAR_PER_READ.get(drv.dialect, 1)
        for first in range(0, len(wanted), share):
            part = wanted[first : first + share]
            width = _width(max(len(query.services) for _, query, _ in part))
            params = [x for _, q, to in part for x in _near_params(drv, q, to, width, limit)]
            for k, ident, y, x, cluster, at, _d in drv.rows(_nearest(len(part), width), params):
                found[part[int(k)][0]].append(
                    Nearby(ident, Point(float(y), float(x)), cluster, drv.read_time(at))
                )
        return found

    def cluster_state(self, cluster: str, *, since: datetime) -> ClusterState:
        """The cluster's open reports since `since`; its newest linked report's incident."""
        drv = Driver(self.conn)
        at = drv.time(since)
        ((open_reports, incident),) = drv.rows(_CLUSTER_STATE, [cluster, at, cluster, at])
        return ClusterState(int(open_reports), incident)

    def with_fingerprints(self, fingerprints: Sequence[str], *, since: datetime) -> list[Report]:
        """The reports with any of these fingerprints requested at or after `since`, oldest
        first."""
        if not fingerprints:
            return []
        drv = Driver(self.conn)
        where = "requested_at >= ? AND fingerprint IN"
        keys = sorted(fingerprints)
        rows = _REPORTS.read(drv, where, [drv.time(since)], keys=keys)
        found = [report_of(r) for r in rows]
        return sorted(found, key=lambda r: (r.requested_at, r.id))

    def updates(self, report_id: str) -> list[ReportUpdate]:
        """A report's public updates, oldest first."""
        c = t.report_updates.c
        sql = select(t.report_updates).where(c.report_id == report_id).order_by(c.id)
        return [
            ReportUpdate(must(r["at"]), ReportStatus(r["status"]), r["note"])
            for r in self.conn.execute(sql).mappings()
        ]

    def photo(self, report_id: str) -> Photo | None:
        """A report's photo."""
        c = t.report_photos.c
        row = self.conn.execute(select(t.report_photos).where(c.report_id == report_id))
        found = row.mappings().first()
        return Photo(found["media_type"], bytes(found["data"])) if found is not None else None

    def seal_contact(self, contact: SealedContact) -> None:
        """Store a reporter's sealed contact."""
        row = {"report_id": contact.report_id, "sealed": contact.sealed}
        self.conn.execute(insert(t.report_contacts), [{**row, "delete_at": contact.delete_at}])

    def contact(self, report_id: str) -> SealedContact | None:
        """A report's sealed contact, if it has not been deleted."""
        c = t.report_contacts.c
        row = self.conn.execute(select(t.report_contacts).where(c.report_id == report_id))
        found = row.mappings().first()
        if found is None:
            return None
        return SealedContact(report_id, bytes(found["sealed"]), must(found["delete_at"]))

    def delete_contacts(self, now: datetime) -> list[str]:
        """Delete every contact due by `now`; the reports keep `has_contact` False; their ids."""
        c = t.report_contacts.c
        due = [r[0] for r in self.conn.execute(select(c.report_id).where(c.delete_at <= now))]
        self._forget(due)
        return due

    def delete_contact(self, report_id: str) -> bool:
        """Delete one report's contact now (the reporter stopped updates); whether it had one."""
        c = t.report_contacts.c
        had = self.conn.execute(select(c.report_id).where(c.report_id == report_id)).first()
        self._forget([report_id] if had is not None else [])
        return had is not None

    def _forget(self, due: list[str]) -> None:
        if due:
            c = t.report_contacts.c
            self.conn.execute(delete(t.report_contacts).where(c.report_id.in_(due)))
            ids = t.reports.c.id
            self.conn.execute(sql_update(t.reports).where(ids.in_(due)).values(has_contact=False))
