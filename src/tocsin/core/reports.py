"""Public hazard reports (Open311 GeoReport v2 service requests): types, lifecycle, privacy.

A report is what a member of the public tells us about a hazard at a point. It is routed to the
responsible unit of the smallest region holding the point, handled there step by step (each step
a public update the reporter sees), and never carries a name: a contact given for updates lives
apart, encrypted, and is deleted after its retention while the report stays.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, NewType

from tocsin.core.errors import IllegalTransition
from tocsin.core.incidents.tasks import Reminders

ReportId = NewType("ReportId", str)
Box = tuple[float, float, float, float]  # south, west, north, east (degrees)
METRES_PER_DEGREE = 111_320.0  # a degree of latitude (and of longitude at the equator)


class ReportStatus(StrEnum):
    """Where a report stands in its handling."""

    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    VERIFIED = "verified"
    LINKED = "linked"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    CLOSED = "closed"


# GeoReport v2 knows two statuses; ours map onto them
OPEN311_STATUS: dict[ReportStatus, str] = {
    ReportStatus.RECEIVED: "open",
    ReportStatus.ACKNOWLEDGED: "open",
    ReportStatus.VERIFIED: "open",
    ReportStatus.LINKED: "open",
    ReportStatus.DUPLICATE: "closed",
    ReportStatus.REJECTED: "closed",
    ReportStatus.CLOSED: "closed",
}


class HandlingAction(StrEnum):
    """A step the handling unit takes on a report."""

    ACKNOWLEDGE = "acknowledge"
    VERIFY = "verify"
    MARK_DUPLICATE = "mark_duplicate"
    LINK_INCIDENT = "link_incident"
    REJECT = "reject"
    CLOSE = "close"


class Needs(StrEnum):
    """What an action needs besides the report."""

    NOTHING = "nothing"
    NOTE = "note"  # a public answer or a reason
    REPORT = "report"  # the report it duplicates
    INCIDENT = "incident"  # the incident it belongs to


OPEN_STATES = frozenset(s for s, o in OPEN311_STATUS.items() if o == "open")


@dataclass(frozen=True, slots=True)
class Transition:
    """An action: from which statuses, to which, and what it needs."""

    allowed_from: frozenset[ReportStatus]
    to: ReportStatus
    needs: Needs


TRANSITIONS: dict[HandlingAction, Transition] = {
    HandlingAction.ACKNOWLEDGE: Transition(
        frozenset({ReportStatus.RECEIVED}), ReportStatus.ACKNOWLEDGED, Needs.NOTHING
    ),
    HandlingAction.VERIFY: Transition(
        frozenset({ReportStatus.RECEIVED, ReportStatus.ACKNOWLEDGED}),
        ReportStatus.VERIFIED,
        Needs.NOTHING,
    ),
    HandlingAction.MARK_DUPLICATE: Transition(OPEN_STATES, ReportStatus.DUPLICATE, Needs.REPORT),
    HandlingAction.LINK_INCIDENT: Transition(OPEN_STATES, ReportStatus.LINKED, Needs.INCIDENT),
    HandlingAction.REJECT: Transition(OPEN_STATES, ReportStatus.REJECTED, Needs.NOTE),
    HandlingAction.CLOSE: Transition(OPEN_STATES, ReportStatus.CLOSED, Needs.NOTE),
}
# what the reporter reads for a step without a note of its own
STATUS_NOTES: dict[ReportStatus, str] = {
    ReportStatus.RECEIVED: "received",
    ReportStatus.ACKNOWLEDGED: "acknowledged by the responsible unit",
    ReportStatus.VERIFIED: "verified on site or by other sources",
    ReportStatus.LINKED: "linked to an ongoing incident",
    ReportStatus.DUPLICATE: "duplicate of another report",
    ReportStatus.REJECTED: "rejected",
    ReportStatus.CLOSED: "closed",
}


@dataclass(frozen=True, slots=True)
class Point:
    """A WGS84 point (degrees)."""

    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class ReportUpdate:
    """One public step of a report: when, its status after it, and the unit's public note."""

    at: datetime
    status: ReportStatus
    note: str


@dataclass(frozen=True, slots=True)
class Photo:
    """A photo attached to a report, its metadata already stripped."""

    media_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Report:
    """A public hazard report. It holds no name, e-mail or phone: a contact lives apart."""

    id: ReportId
    service: str
    point: Point
    region: str
    unit: str | None
    requested_at: datetime
    updated_at: datetime
    status: ReportStatus = ReportStatus.RECEIVED
    status_note: str = STATUS_NOTES[ReportStatus.RECEIVED]  # the latest public update's note
    description: str = ""
    address: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    client: str = ""  # which app sent it (an API key's label), for rate limits and abuse
    fingerprint: str = ""  # duplicate-submission detection
    cluster: str | None = None
    duplicate_of: ReportId | None = None
    incident: str | None = None
    has_photo: bool = False
    has_contact: bool = False
    reminders: Reminders = field(default_factory=Reminders)  # overdue steps (report_deadlines)

    @property
    def open311_status(self) -> str:
        """`open` or `closed`."""
        return OPEN311_STATUS[self.status]


def handle(
    report: Report,
    action: HandlingAction,
    *,
    now: datetime,
    note: str = "",
    target: str | None = None,
) -> tuple[Report, ReportUpdate]:
    """The report after `action`, and the public update that records it; IllegalTransition
    when the action is not allowed now or lacks what it needs."""
    step = TRANSITIONS[action]
    if report.status not in step.allowed_from:
        raise IllegalTransition(f"cannot {action.value} a report that is {report.status.value}")
    missing = {
        Needs.NOTE: not note.strip(),
        Needs.REPORT: not target,
        Needs.INCIDENT: not target,
        Needs.NOTHING: False,
    }[step.needs]
    if missing:
        raise IllegalTransition(f"{action.value} needs a {step.needs.value}")
    if step.needs is Needs.REPORT and target == report.id:
        raise IllegalTransition("a report cannot duplicate itself")
    update = ReportUpdate(now, step.to, note.strip() or STATUS_NOTES[step.to])
    changes: dict[str, Any] = {"status": step.to, "updated_at": now, "status_note": update.note}
    if step.needs is Needs.REPORT:
        changes["duplicate_of"] = ReportId(str(target))
    if step.needs is Needs.INCIDENT:
        changes["incident"] = target
    return replace(report, **changes), update


def coarsen(point: Point, metres: float) -> Point:
    """The point moved to the centre of its `metres`-sized cell (0: unchanged): public views
    show this, never the exact point."""
    if metres <= 0:
        return point
    step_lat = metres / METRES_PER_DEGREE
    lat = (math.floor(point.lat / step_lat) + 0.5) * step_lat
    cos = max(math.cos(math.radians(lat)), 1e-6)
    step_lon = metres / (METRES_PER_DEGREE * cos)
    lon = (math.floor(point.lon / step_lon) + 0.5) * step_lon
    return Point(round(min(max(lat, -90.0), 90.0), 6), round(lon, 6))


def distance_m(a: Point, b: Point) -> float:
    """Great-circle distance in metres (haversine, mean Earth radius 6,371 km)."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlam = math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * 6_371_000.0 * math.asin(min(1.0, math.sqrt(h)))


def box_around(point: Point, metres: float) -> Box:
    """The box (south, west, north, east) holding every point within `metres` of `point`."""
    dlat = metres / METRES_PER_DEGREE
    dlon = metres / (METRES_PER_DEGREE * max(math.cos(math.radians(point.lat)), 1e-6))
    return (point.lat - dlat, point.lon - dlon, point.lat + dlat, point.lon + dlon)


def fingerprint(service: str, point: Point, *, description: str) -> str:
    """What makes two submissions the same one: service, the point within about 10 m, and the
    description with case and spacing ignored."""
    near = coarsen(point, 10.0)
    text = " ".join(description.lower().split())
    key = f"{service}|{near.lat:.6f}|{near.lon:.6f}|{text}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]
