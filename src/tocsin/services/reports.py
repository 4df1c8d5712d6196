"""Public hazard reports: take one in (check, route, cluster, seal the contact), show it to the
public (coarsened, no personal field), let the handling unit act on it, delete contacts on time.

Who may see a report's exact point and contact, and act on it, is decided in one place:
`handles(user, report)` below (the handling unit's members only). Every such look is audited.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from threading import Lock
from typing import Protocol

from tocsin.core.audit import AuditRecord
from tocsin.core.catalog import Catalog
from tocsin.core.errors import Forbidden, InvalidInput, NotFound, Problem, RateLimited
from tocsin.core.report_abuse import RateLimit
from tocsin.core.report_clusters import ClusterSignal, nearest_cluster, related, signal
from tocsin.core.report_photos import clean_photo
from tocsin.core.report_routing import RegionIndex, route
from tocsin.core.report_types import ReportType, attribute_problems
from tocsin.core.reports import (
    HandlingAction,
    Point,
    Report,
    ReportId,
    ReportUpdate,
    box_around,
    coarsen,
    fingerprint,
    handle,
)
from tocsin.ports import Bus, Clock, Store
from tocsin.ports.reports import ContactCipher, ReportQuery, SealedContact
from tocsin.services.publishing import warning_message
from tocsin.services.report_counts import COUNT_WINDOW, ReportCounts
from tocsin.services.report_signals import signal_cluster

DESCRIPTION_MAX = 4_000  # GeoReport v2
CONTACT_MAX = 254  # the longest e-mail address (RFC 5321 path limit)
NEIGHBOURS_MAX = 100_000  # reports read to cluster one (far more than any real cluster)


@dataclass(frozen=True)
class ReportPolicy:
    """How reports are taken in and kept (from the settings)."""

    coarsen_m: float = 100.0
    contact_retention: timedelta = timedelta(days=30)
    duplicate_window: timedelta = timedelta(minutes=10)
    photo_max_bytes: int = 2_000_000
    per_client: RateLimit = field(default_factory=lambda: RateLimit(6_000, timedelta(minutes=1)))
    per_range: RateLimit = field(default_factory=lambda: RateLimit(30, timedelta(minutes=10)))


@dataclass(frozen=True)
class Submission:
    """A report as sent: what, where, optional details; `client` is the app's key label and
    `address_range` the sender's network (for rate limits only; neither is personal data)."""

    service: str
    point: Point
    client: str
    address_range: str
    description: str = ""
    address: str | None = None
    attributes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    contact: str | None = None
    photo: bytes | None = None


@dataclass(frozen=True)
class HandlerView:
    """What only the handling unit sees: the exact report and the reporter's contact."""

    report: Report
    contact: str | None


class Handler(Protocol):
    """Who handles reports: a person of a unit (a principal, or a user in tests and the CLI)."""

    @property
    def name(self) -> str:
        """The person's name (for the audit trail)."""

    @property
    def unit(self) -> str | None:
        """The unit the person belongs to."""


def handles(user: Handler, report: Report) -> bool:
    """Whether the user may see the report's exact point and contact and act on it: members
    of the report's handling unit. (The one scope decision for reports; issue 12's access
    policy replaces it here.)"""
    return user.unit is not None and user.unit == report.unit


def public_view(report: Report, *, coarsen_m: float) -> Report:
    """The report as the public sees it: the point coarsened, no client, no fingerprint."""
    return replace(report, point=coarsen(report.point, coarsen_m), client="", fingerprint="")


class ReportService:
    """Public hazard reports, from submission to deletion of the contact."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        bus: Bus,
        catalog: Catalog,
        types: Mapping[str, ReportType],
        cipher: ContactCipher | None,
        policy: ReportPolicy,
        counts: ReportCounts | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.bus = bus
        self.catalog = catalog
        self.types = dict(types)
        self.cipher = cipher
        self.policy = policy
        self.counts = counts
        self.index = RegionIndex.build(catalog.regions)
        self._limits = Lock()
        self._groups = {code: t.cluster_group for code, t in self.types.items()}

    def report_type(self, code: str) -> ReportType:
        """One report type; NotFound when there is none."""
        found = self.types.get(code)
        if found is None:
            raise NotFound(f"no service {code!r} (GET services lists them)")
        return found

    def submit(self, sub: Submission) -> Report:
        """Check, route and store a report (or answer the earlier identical one); InvalidInput
        listing every problem, RateLimited when the sender sends too much."""
        rtype = self.report_type(sub.service)
        attributes = self._check(sub, rtype)
        photo = clean_photo(sub.photo, max_bytes=self.policy.photo_max_bytes) if sub.photo else None
        where = route(self.index, self.catalog, point=sub.point, domain=rtype.domain)
        if where is None:
            at = f"{sub.point.lat}, {sub.point.lon}"
            raise InvalidInput([Problem("form", "lat/long", f"{at} lies outside every region")])
        self._rate_limit(sub)
        now = self.clock.now()
        key = fingerprint(sub.service, sub.point, description=sub.description)
        report = Report(
            id=ReportId(secrets.token_hex(8)),
            service=sub.service,
            point=sub.point,
            region=where.region,
            unit=where.unit,
            requested_at=now,
            updated_at=now,
            description=sub.description.strip(),
            address=sub.address,
            attributes=attributes,
            client=sub.client,
            fingerprint=key,
            has_photo=photo is not None,
            has_contact=bool(sub.contact),
        )
        with self.store.transaction() as tx:
            earlier = tx.reports.with_fingerprint(key, since=now - self.policy.duplicate_window)
            if earlier is not None:
                return earlier  # the same submission again: one report, the same tracking number
            report = self._clustered(report, rtype, tx.reports.find)
            first = ReportUpdate(now, report.status, report.status_note)
            tx.reports.add(report, photo=photo, update=first)
            if sub.contact and self.cipher is not None:
                sealed = self.cipher.seal(sub.contact.strip(), report_id=report.id)
                due = now + self.policy.contact_retention
                tx.reports.seal_contact(SealedContact(report.id, sealed, due))
            tx.audit.append([_received(report)])
            found = self._signal(report, rtype, tx.reports.find)
            raised = signal_cluster(tx, found, rtype=rtype, report=report) if found else []
            count = self._count(report, tx.reports.find)
        if count is not None and self.counts is not None:
            self.counts.observe(report, count)
        for event in raised:
            self.bus.publish("warnings", warning_message(event))
        return report

    def _check(self, sub: Submission, rtype: ReportType) -> dict[str, object]:
        attributes, problems = attribute_problems(rtype, sub.attributes)
        if len(sub.description) > DESCRIPTION_MAX:
            problems.append(Problem("form", "description", f"over {DESCRIPTION_MAX} characters"))
        if sub.contact is not None and len(sub.contact) > CONTACT_MAX:
            problems.append(Problem("form", "email", f"over {CONTACT_MAX} characters"))
        if sub.contact and self.cipher is None:
            why = "this server takes no contact details (no TOCSIN_REPORT_CONTACT_KEY)"
            problems.append(Problem("form", "email", why))
        if not (-90 <= sub.point.lat <= 90 and -180 <= sub.point.lon <= 180):
            problems.append(Problem("form", "lat/long", "not a WGS84 point"))
        if problems:
            raise InvalidInput(problems)
        return attributes

    def _rate_limit(self, sub: Submission) -> None:
        now = self.clock.now()
        with self._limits:
            wait = self.policy.per_client.retry_after(sub.client, now=now)
            if not wait:
                wait = self.policy.per_range.retry_after(sub.address_range, now=now)
        if wait:
            raise RateLimited("too many reports from this sender", retry_after_s=int(wait) + 1)

    def _clustered(self, report: Report, rtype: ReportType, find: _Find) -> Report:
        """The report with the cluster it joins (its related neighbours within the window)."""
        query = ReportQuery(
            services=tuple(self._services_of(report)),
            start_at=report.requested_at - timedelta(seconds=rtype.cluster_window_s),
            box=box_around(report.point, rtype.cluster_distance_m),
            limit=NEIGHBOURS_MAX,
        )
        recent = related(report, find(query), groups=self._groups)
        return replace(report, cluster=nearest_cluster(report, recent, rtype=rtype))

    def _signal(self, report: Report, rtype: ReportType, find: _Find) -> ClusterSignal | None:
        """The signal of the report's cluster, counted over the window, if it meets a rule."""
        query = ReportQuery(
            cluster=report.cluster,
            start_at=report.requested_at - timedelta(seconds=rtype.cluster_window_s),
            limit=NEIGHBOURS_MAX,
        )
        return signal(report, find(query), rtype=rtype, domain=rtype.domain)

    def _count(self, report: Report, find: _Find) -> int | None:
        """Reports of the service in the region over the last hour, when an indicator counts
        them (None: none does)."""
        if self.counts is None or not self.counts.watched(report):
            return None
        query = ReportQuery(
            services=(report.service,),
            region=report.region,
            start_at=report.requested_at - COUNT_WINDOW,
            limit=NEIGHBOURS_MAX,
        )
        return len(find(query))

    def _services_of(self, report: Report) -> list[str]:
        group = self._groups.get(report.service, report.service)
        return [code for code, g in self._groups.items() if g == group]

    def public(self, report_id: str) -> tuple[Report, list[ReportUpdate]]:
        """A report as the public sees it, and its public updates."""
        with self.store.transaction() as tx:
            report = tx.reports.get(report_id)
            if report is None:
                raise NotFound(f"no report {report_id!r}")
            updates = tx.reports.updates(report_id)
        return public_view(report, coarsen_m=self.policy.coarsen_m), updates

    def find(self, query: ReportQuery) -> list[Report]:
        """Reports as the public sees them."""
        with self.store.transaction() as tx:
            found = tx.reports.find(query)
        return [public_view(r, coarsen_m=self.policy.coarsen_m) for r in found]

    def photo(self, report_id: str) -> tuple[str, bytes]:
        """A report's photo (its metadata was stripped when it came in)."""
        with self.store.transaction() as tx:
            photo = tx.reports.photo(report_id)
        if photo is None:
            raise NotFound(f"report {report_id!r} has no photo")
        return photo.media_type, photo.data

    def for_unit(self, user: Handler, query: ReportQuery) -> list[Report]:
        """The reports the user's unit handles (exact points: the listing is audited)."""
        if user.unit is None:
            raise Forbidden("only members of a unit see the reports it handles")
        with self.store.transaction() as tx:
            found = tx.reports.find(replace(query, unit=user.unit))
            looked = _looked(user, "report.listed", user.unit, now=self.clock.now())
            tx.audit.append([replace(looked, details={"reports": len(found)})])
        return found

    def handler_view(self, report_id: str, *, user: Handler) -> HandlerView:
        """The exact report and the reporter's contact, for the handling unit; audited."""
        with self.store.transaction() as tx:
            report = self._handled(tx.reports.get(report_id), report_id, user=user)
            sealed = tx.reports.contact(report_id)
            tx.audit.append(
                [_looked(user, "report.contact_viewed", report_id, now=self.clock.now())]
            )
        opened = None
        if sealed is not None and self.cipher is not None:
            opened = self.cipher.open(sealed.sealed, report_id=report_id)
        return HandlerView(report, opened)

    def act(
        self,
        report_id: str,
        action: HandlingAction,
        *,
        user: Handler,
        note: str = "",
        target: str | None = None,
    ) -> Report:
        """One handling step by the report's unit; audited and shown to the reporter."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            report = self._handled(tx.reports.get(report_id), report_id, user=user)
            if action is HandlingAction.MARK_DUPLICATE and target and not tx.reports.get(target):
                raise NotFound(f"no report {target!r} to be a duplicate of")
            changed, update = handle(report, action, now=now, note=note, target=target)
            tx.reports.save(changed, update=update)
            details = {"from": report.status.value, "to": changed.status.value, "target": target}
            kind = f"report.{action.value}"
            record = AuditRecord(now, user.name, kind, "report", report_id, update.note, details)
            tx.audit.append([record])
        return changed

    def _handled(self, report: Report | None, report_id: str, *, user: Handler) -> Report:
        if report is None:
            raise NotFound(f"no report {report_id!r}")
        if not handles(user, report):
            raise Forbidden(f"report {report_id} is handled by another unit")
        return report

    def delete_due_contacts(self) -> int:
        """Delete every contact past its retention (the reports stay); how many."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            gone = tx.reports.delete_contacts(now)
            if gone:
                kind, why = "report.contacts_deleted", f"{len(gone)} contacts past retention"
                tx.audit.append([AuditRecord(now, "system:retention", kind, "report", "*", why)])
        return len(gone)


class _Find(Protocol):
    """`ReportStore.find`."""

    def __call__(self, query: ReportQuery) -> list[Report]:
        """Reports matching the query."""


def _received(report: Report) -> AuditRecord:
    details = {"service": report.service, "region": report.region, "unit": report.unit}
    actor = f"public:{report.client}"
    at = report.requested_at
    return AuditRecord(at, actor, "report.received", "report", report.id, "", details)


def _looked(user: Handler, kind: str, subject: str, *, now: datetime) -> AuditRecord:
    return AuditRecord(now, user.name, kind, "report", subject, "")
