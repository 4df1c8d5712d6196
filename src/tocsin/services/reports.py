"""Public hazard reports: take one in (check, route, cluster, seal the contact), show it to the
public (coarsened, no personal field), let the handling unit act on it, delete contacts on time.

Who may see a report's exact point and contact, and act on it, is decided in one place:
`handles(user, report)` below (the handling unit's members, within their principal's scope).
Every such look is audited.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from threading import Lock
from typing import Protocol

from tocsin.core.access import Placement, Principal, sees, system_principal
from tocsin.core.audit import AuditRecord, from_warning_event
from tocsin.core.catalog import Catalog
from tocsin.core.cluster_incidents import incident_for
from tocsin.core.contacts import is_email
from tocsin.core.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    Overloaded,
    Problem,
    RateLimited,
)
from tocsin.core.incidents.model import Incident
from tocsin.core.report_abuse import RateLimit
from tocsin.core.report_clusters import (
    NEAREST_READ,
    ClusterSignal,
    ClusterState,
    Nearby,
    nearest_cluster,
    signal,
)
from tocsin.core.report_deadlines import ReportDeadlines, first_reminders, scheduled
from tocsin.core.report_photos import clean_photo
from tocsin.core.report_routing import RegionIndex, route
from tocsin.core.report_types import ReportType, attribute_problems
from tocsin.core.report_updates import status_update
from tocsin.core.reports import (
    TRANSITIONS,
    HandlingAction,
    Photo,
    Point,
    Report,
    ReportId,
    ReportStatus,
    ReportUpdate,
    box_around,
    coarsen,
    fingerprint,
    handle,
)
from tocsin.core.warnings.model import WarningEvent
from tocsin.ports import Bus, Clock, Store, StoreSession
from tocsin.ports.reports import ContactCipher, ReportQuery, SealedContact
from tocsin.services.group_commit import GroupCommitter
from tocsin.services.publishing import warning_message
from tocsin.services.report_counts import COUNT_WINDOW, ReportCounts
from tocsin.services.report_incidents import ReportIncidents
from tocsin.services.report_signals import signal_clusters

DESCRIPTION_MAX = 4_000  # GeoReport v2
CONTACT_MAX = 254  # the longest e-mail address (RFC 5321 path limit)
NEIGHBOURS_MAX = 100_000  # reports read to cluster one (far more than any real cluster)
LINK = HandlingAction.LINK_INCIDENT
LINKED = ReportStatus.LINKED
LINKABLE = TRANSITIONS[LINK].allowed_from
FOLLOWER = "system:reports"  # who links a report that joins a cluster attached to an incident

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportPolicy:
    """How reports are taken in and kept (from the settings)."""

    coarsen_m: float = 100.0
    contact_retention: timedelta = timedelta(days=30)
    duplicate_window: timedelta = timedelta(minutes=10)
    photo_max_bytes: int = 2_000_000
    per_client: RateLimit = field(default_factory=lambda: RateLimit(6_000, timedelta(minutes=1)))
    per_range: RateLimit = field(default_factory=lambda: RateLimit(30, timedelta(minutes=10)))
    max_queued: int = 10_000  # reports waiting for the group commit before 503
    deadlines: ReportDeadlines = field(default_factory=ReportDeadlines)


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
class _Checked:
    """A submission checked and routed, its contact sealed: what the group commit stores."""

    report: Report
    rtype: ReportType
    photo: Photo | None
    contact: SealedContact | None
    contact_text: str | None = None  # in memory only: a copy may need it sealed for its report


@dataclass(frozen=True)
class Stored:
    """What storing a report gave: the report (or the earlier identical one), the warning
    transitions its cluster raised, its service's count in its region (when watched)."""

    report: Report
    raised: list[WarningEvent] = field(default_factory=list)
    count: int | None = None
    incident: str | None = None  # it joined a cluster attached to this incident
    linked: tuple[str, ...] = ()  # the reports linked to it now (for the incident's side)


@dataclass(frozen=True)
class _Signal:
    """A cluster that met a rule in the group, the type, and the stored report that made it."""

    found: ClusterSignal
    rtype: ReportType
    stored: Stored


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


def handles(user: Handler, report: Report, *, domain: str | None) -> bool:
    """Whether the user may see the report's exact point and contact and act on it: members
    of the report's handling unit and, for a principal, within its scope (a token narrowed to
    other regions or domains than the report's, `domain` its type's, does not handle it)."""
    if user.unit is None or user.unit != report.unit:
        return False
    return not isinstance(user, Principal) or sees(user.scope, Placement(report.region, domain))


ACTING_PROCESS = system_principal("system:reports")


def acting(user: Handler) -> Principal:
    """The principal a handler acts as towards other concepts (an incident it links to): a
    principal as it is; a user without one (tests, the command line) acts as the process."""
    return user if isinstance(user, Principal) else ACTING_PROCESS


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
        chain: Callable[[str, str], Sequence[str]] | None = None,
        incidents: ReportIncidents | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.bus = bus
        self.catalog = catalog
        self.types = dict(types)
        self.cipher = cipher
        self.policy = policy
        self.counts = counts
        self.incidents = incidents
        self.chain = chain or (lambda unit, _domain: [unit])  # a unit, then the units above it
        self.index = RegionIndex.build(catalog.regions)
        self._limits = Lock()
        self._groups = {code: t.cluster_group for code, t in self.types.items()}
        self.committer: GroupCommitter[_Checked, Stored] = GroupCommitter(
            self.store_group,
            what="reports",
            max_queued_rows=policy.max_queued,
            gather_s=0.005,
            gather_rows=64,
        )

    def report_type(self, code: str) -> ReportType:
        """One report type; NotFound when there is none."""
        found = self.types.get(code)
        if found is None:
            raise NotFound(f"no service {code!r} (GET services lists them)")
        return found

    def submit(self, sub: Submission) -> Report:
        """Check, route and store a report (or answer the earlier identical one); InvalidInput
        listing every problem, RateLimited when the sender sends too much, Overloaded when too
        many reports wait to be stored. Answers only after the commit that stores it."""
        stored = self.begin(sub).result()
        self.settle(stored)
        self.follow(stored)
        return stored.report

    def begin(self, sub: Submission) -> Future[Stored]:
        """Check, route and queue a report for the group commit (no I/O: an event loop may
        call it); the future resolves after the commit that stores it. Raises as `submit`."""
        return self.committer.submit(self._checked(sub))

    def settle(self, stored: Stored) -> None:
        """After the commit, without waiting on the database: the report counted (when an
        indicator counts its service) and the warnings its cluster raised published."""
        if stored.count is not None and self.counts is not None:
            try:
                self.counts.observe(stored.report, stored.count)
            except Overloaded:  # the next report counts the window again
                log.warning("report count of %s not queued: ingest overloaded", stored.report.id)
        for event in stored.raised:
            self.bus.publish("warnings", warning_message(event))

    @staticmethod
    def follows(stored: Stored) -> bool:
        """Whether the stored report joined a cluster attached to an incident (`follow` then
        writes the incident's side: a transaction)."""
        return stored.incident is not None and bool(stored.linked)

    def follow(self, stored: Stored) -> None:
        """The incident links the reports that followed their cluster into it."""
        if self.follows(stored) and stored.incident is not None and self.incidents is not None:
            why = f"reports of cluster {stored.report.cluster} (a cluster rule)"
            self.incidents.link(stored.incident, list(stored.linked), reason=why)

    def _checked(self, sub: Submission) -> _Checked:
        """The submission checked, routed, rate-limited and its contact sealed (no I/O)."""
        rtype = self.report_type(sub.service)
        attributes = self._check(sub, rtype)
        photo = clean_photo(sub.photo, max_bytes=self.policy.photo_max_bytes) if sub.photo else None
        where = route(self.index, self.catalog, point=sub.point, domain=rtype.domain)
        if where is None:
            at = f"{sub.point.lat}, {sub.point.lon}"
            raise InvalidInput([Problem("form", "lat/long", f"{at} lies outside every region")])
        self._rate_limit(sub)
        now = self.clock.now()
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
            fingerprint=fingerprint(sub.service, sub.point, description=sub.description),
            has_photo=photo is not None,
            has_contact=bool(sub.contact),
        )
        chain = self.chain(where.unit, rtype.domain) if where.unit else ()
        report = first_reminders(report, self.policy.deadlines, chain=chain)
        sealed, text = None, None
        if sub.contact and self.cipher is not None:
            text = sub.contact.strip()
            box = self.cipher.seal(text, report_id=report.id)
            sealed = SealedContact(report.id, box, now + self.policy.contact_retention)
        return _Checked(report, rtype, photo, sealed, text)

    def store_group(self, group: list[_Checked]) -> list[Stored]:
        """Store checked reports in one transaction, in order (each one's duplicate check and
        clustering see the ones before it); one answer each. The clusters that met a rule
        raise their warnings together at the end, in one pass. Run by the group committer."""
        records: list[AuditRecord] = []
        signals: list[_Signal] = []
        incidents = self._open_incidents(group)  # what the group's clusters may attach to
        with self.store.transaction() as tx:
            tx.reports.take_in()  # one group at a time, across processes too
            seen = self._fingerprints(tx, group)
            asked = [(self._near_query(c.report, c.rtype), c.report.point) for c in group]
            near = tx.reports.nearest(asked, limit=NEAREST_READ)  # one read for the group
            added = _Added(tx, {c.report.id: n for c, n in zip(group, near, strict=True)})
            stored = [
                self._store(
                    added, c, records=records, signals=signals, incidents=incidents, seen=seen
                )
                for c in group
            ]
            added.flush()
            raised = signal_clusters(tx, [(s.found, s.rtype, s.stored.report) for s in signals])
            for sig, events in zip(signals, raised, strict=True):
                sig.stored.raised.extend(events)
                records.extend(from_warning_event(e) for e in events)
            tx.audit.append(records)  # one append: the audit chain's head is locked once
        return stored

    def _store(
        self,
        added: _Added,
        checked: _Checked,
        *,
        records: list[AuditRecord],
        signals: list[_Signal],
        incidents: Sequence[Incident],
        seen: dict[str, list[Report]],
    ) -> Stored:
        report, rtype = checked.report, checked.rtype
        since = report.requested_at - self.policy.duplicate_window
        same = seen.setdefault(report.fingerprint, [])
        earlier = self._copy_of(added, checked, same, since=since)
        if earlier is not None:
            return Stored(earlier)  # the same submission again: one report, one tracking number
        report = self._clustered(added, report, rtype)
        added.add(report, photo=checked.photo)
        tx = added.tx
        if checked.contact is not None:
            tx.reports.seal_contact(checked.contact)
        records.append(_received(report))
        window_start = report.requested_at - timedelta(seconds=rtype.cluster_window_s)
        # a report that starts its own cluster is its only member (no read needed)
        state = (
            ClusterState(1, None)
            if report.cluster == report.id
            else added.cluster_state(report.cluster or report.id, since=window_start)
        )
        incident = state.incident
        linked: tuple[str, ...] = ()
        if incident is not None or rtype.attaches(state.open_reports) or self._counted(report):
            added.flush()  # what follows reads or changes stored reports
        if incident is not None:  # the cluster is attached to an incident: the report follows
            when = report.requested_at
            report, record = self._step(tx, report, LINK, actor=FOLLOWER, now=when, target=incident)
            records.append(record)
            linked = (report.id,)
        elif rtype.attaches(state.open_reports):
            members = self._members(report, rtype, tx.reports.find)
            report, incident, linked = self._attach(
                tx, report, rtype=rtype, members=members, incidents=incidents, records=records
            )
        found = signal(report, state.open_reports, rtype=rtype, domain=rtype.domain)
        stored = Stored(report, [], self._count(report, tx.reports.count), incident, linked)
        signalled = {(s.found.cluster, s.found.level) for s in signals}
        if found is not None and (found.cluster, found.level) not in signalled:
            signals.append(_Signal(found, rtype, stored))  # raised at the end of the group
        same.append(report)  # a copy later in the group answers this one
        return stored

    def _copy_of(
        self, added: _Added, checked: _Checked, same: list[Report], *, since: datetime
    ) -> Report | None:
        """The earlier report (of `same`, since `since`) this submission repeats, or None:
        another reporter's contact makes it a report of its own (each reporter is told of
        progress); a contact given only on the retry is sealed for the earlier report."""
        earlier = [(i, r) for i, r in enumerate(same) if r.requested_at >= since]
        text = checked.contact_text
        if text is None or self.cipher is None:
            return earlier[0][1] if earlier else None
        for report in (r for _, r in earlier if r.has_contact):
            sealed = added.tx.reports.contact(report.id)  # None: deleted on schedule meanwhile
            if sealed and _same_contact(self.cipher.open(sealed.sealed, report_id=report.id), text):
                return report
        for at, report in earlier:
            if not report.has_contact:
                added.flush()  # the earlier report may be one of this group
                box = self.cipher.seal(text, report_id=report.id)
                delete_at = report.requested_at + self.policy.contact_retention
                added.tx.reports.seal_contact(SealedContact(report.id, box, delete_at))
                report = replace(report, has_contact=True)
                added.tx.reports.save(report, update=None)
                same[at] = report
                return report
        return None

    def _fingerprints(self, tx: StoreSession, group: Sequence[_Checked]) -> dict[str, list[Report]]:
        """The stored reports that may be earlier copies of the group's submissions, by
        fingerprint, oldest first (one read for the group; each report then adds itself)."""
        if not group:
            return {}
        since = min(c.report.requested_at for c in group) - self.policy.duplicate_window
        fingerprints = [c.report.fingerprint for c in group]
        seen: dict[str, list[Report]] = {}
        for found in tx.reports.with_fingerprints(fingerprints, since=since):
            seen.setdefault(found.fingerprint, []).append(found)
        return seen

    def _open_incidents(self, group: Sequence[_Checked]) -> list[Incident]:
        """The open incidents, read once per group when one of its types attaches by itself."""
        if self.incidents is None or not any(c.rtype.attaches(NEIGHBOURS_MAX) for c in group):
            return []
        return self.incidents.open_ones()

    def _attach(
        self,
        tx: StoreSession,
        report: Report,
        *,
        rtype: ReportType,
        members: Sequence[Report],
        incidents: Sequence[Incident],
        records: list[AuditRecord],
    ) -> tuple[Report, str | None, tuple[str, ...]]:
        """The cluster, grown to its type's attach rule, linked to the open incident of its
        region and domain (`core.cluster_incidents`), in the report's transaction: each open
        member linked (its reporter told), one audit record saying which incident and why.
        The report, the incident (None: none fits) and the reports linked."""
        choice = incident_for(
            report.region, rtype.domain, incidents=incidents, tree=self.catalog.regions
        )
        if choice is None:
            return report, None, ()
        target, when = choice.incident.id, report.requested_at
        linked: list[str] = []
        for member in members:
            if member.status not in LINKABLE or member.cluster != report.cluster:
                continue
            current = report if member.id == report.id else member
            changed, record = self._step(tx, current, LINK, actor=FOLLOWER, now=when, target=target)
            records.append(record)
            linked.append(changed.id)
            report = changed if member.id == report.id else report
        details = {"incident": target, "candidates": choice.candidates, "reports": linked}
        cluster = report.cluster or report.id
        records.append(
            AuditRecord(
                when,
                FOLLOWER,
                "report.cluster_attached",
                "report_cluster",
                cluster,
                choice.why,
                details,
            )
        )
        return report, target, tuple(linked)

    def close(self) -> None:
        """Store the reports still queued, then stop the group committer's thread."""
        self.committer.close()

    def _check(self, sub: Submission, rtype: ReportType) -> dict[str, object]:
        attributes, problems = attribute_problems(rtype, sub.attributes)
        if len(sub.description) > DESCRIPTION_MAX:
            problems.append(Problem("form", "description", f"over {DESCRIPTION_MAX} characters"))
        named = "email" if sub.contact is None or is_email(sub.contact) else "phone"
        if sub.contact is not None and len(sub.contact) > CONTACT_MAX:
            problems.append(Problem("form", named, f"over {CONTACT_MAX} characters"))
        if sub.contact and self.cipher is None:
            why = "this server takes no contact details (no TOCSIN_REPORT_CONTACT_KEY)"
            problems.append(Problem("form", named, why))
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

    def _clustered(self, added: _Added, report: Report, rtype: ReportType) -> Report:
        """The report with the cluster it joins: the nearest related earlier report's within
        the type's distance and window (the store reads the few nearest; measured here)."""
        recent = added.nearest(report.id, self._near_query(report, rtype))
        return replace(report, cluster=nearest_cluster(report, recent, rtype=rtype))

    def _near_query(self, report: Report, rtype: ReportType) -> ReportQuery:
        """The earlier related reports a report may cluster with: its type's group, window and
        distance."""
        return ReportQuery(
            services=tuple(self._services_of(report)),
            start_at=report.requested_at - timedelta(seconds=rtype.cluster_window_s),
            end_at=report.requested_at,
            box=box_around(report.point, rtype.cluster_distance_m),
        )

    def _members(self, report: Report, rtype: ReportType, find: _Find) -> list[Report]:
        """The reports of the report's cluster within the type's window (itself included)."""
        query = ReportQuery(
            cluster=report.cluster,
            start_at=report.requested_at - timedelta(seconds=rtype.cluster_window_s),
            limit=NEIGHBOURS_MAX,
        )
        return find(query)

    def _count(self, report: Report, count: Callable[[ReportQuery], int]) -> int | None:
        """Reports of the service in the region over the last hour, when an indicator counts
        them (None: none does): counted by the store, none of them read."""
        if not self._counted(report):
            return None
        query = ReportQuery(
            services=(report.service,),
            region=report.region,
            start_at=report.requested_at - COUNT_WINDOW,
        )
        return count(query)

    def _counted(self, report: Report) -> bool:
        """Whether an indicator counts the report's service in its region."""
        return self.counts is not None and self.counts.watched(report)

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
            found = [
                r for r in tx.reports.find(replace(query, unit=user.unit)) if self.handles(user, r)
            ]
            looked = _looked(user, "report.listed", user.unit, now=self.clock.now())
            tx.audit.append([replace(looked, details={"reports": len(found)})])
        return self._shown(user, found)

    def _shown(self, user: Handler, reports: list[Report]) -> list[Report]:
        """The reports with the incident each joined left out where the user may not see that
        incident (a report may follow its cluster into another region's incident)."""
        joined = {r.incident for r in reports if r.incident is not None}
        if not joined or self.incidents is None:
            return reports
        hidden = self.incidents.hidden(joined, by=acting(user))
        return [replace(r, incident=None) if r.incident in hidden else r for r in reports]

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
        return HandlerView(self._shown(user, [report])[0], opened)

    def act(
        self,
        report_id: str,
        action: HandlingAction,
        *,
        user: Handler,
        note: str = "",
        target: str | None = None,
    ) -> Report:
        """One handling step by the report's unit; audited and shown to the reporter. Linking
        to an incident needs an open one, and the incident links the report back."""
        linking = action is HandlingAction.LINK_INCIDENT and target is not None
        if linking and self.incidents is not None and target is not None:
            self.incidents.require_open(target, by=acting(user))
        with self.store.transaction() as tx:
            report = self._handled(tx.reports.get(report_id), report_id, user=user)
            if action is HandlingAction.MARK_DUPLICATE and target and not tx.reports.get(target):
                raise NotFound(f"no report {target!r} to be a duplicate of")
            changed, record = self._step(
                tx, report, action, actor=user.name, now=self.clock.now(), note=note, target=target
            )
            tx.audit.append([record])
        if linking and self.incidents is not None and target is not None:
            self.incidents.link(target, [report_id], reason=f"report linked by {user.name}")
        return self._shown(user, [changed])[0]

    def attach_cluster(
        self, cluster: str, incident_id: str, *, user: Handler, note: str = ""
    ) -> list[Report]:
        """Link every open report of a cluster that the user's unit handles to an open incident
        (each reporter reads it); the incident links them back; reports joining the cluster
        later follow it (see `_follow`). NotFound when the cluster has no report, Forbidden when
        the user's unit handles none of it (before the incident is looked at)."""
        with self.store.transaction() as tx:
            members = tx.reports.find(ReportQuery(cluster=cluster, limit=NEIGHBOURS_MAX))
        if not members:
            raise NotFound(f"no report in cluster {cluster[:64]!r}")
        if not any(self.handles(user, r) for r in members):
            raise Forbidden(f"the reports of cluster {cluster[:64]!r} are handled by another unit")
        if self.incidents is not None:
            self.incidents.require_open(incident_id, by=acting(user))
        with self.store.transaction() as tx:
            members = tx.reports.find(ReportQuery(cluster=cluster, limit=NEIGHBOURS_MAX))
            mine = [r for r in members if self.handles(user, r)]
            now = self.clock.now()
            steps = [
                self._step(tx, r, LINK, actor=user.name, now=now, note=note, target=incident_id)
                for r in mine
                if r.status in LINKABLE and r.incident != incident_id
            ]
            tx.audit.append([record for _, record in steps])
        linked = [report for report, _ in steps]
        if self.incidents is not None:
            why = f"cluster {cluster} attached by {user.name}"
            self.incidents.link(incident_id, [r.id for r in linked], reason=why)
        return linked

    def _step(
        self,
        tx: StoreSession,
        report: Report,
        action: HandlingAction,
        *,
        actor: str,
        now: datetime,
        note: str = "",
        target: str | None = None,
    ) -> tuple[Report, AuditRecord]:
        """Apply one handling step in the transaction: the report, its public update, its
        deadlines and the reporter's e-mail (if a contact is kept) stored; the audit record for
        the caller to append."""
        changed, update = handle(report, action, now=now, note=note, target=target)
        changed = scheduled(changed, self.policy.deadlines, since=report)
        tx.reports.save(changed, update=update)
        mail = status_update(changed, update)
        if mail is not None:
            tx.outbox.add([mail])
        details = {"from": report.status.value, "to": changed.status.value, "target": target}
        kind = f"report.{action.value}"
        return changed, AuditRecord(now, actor, kind, "report", report.id, update.note, details)

    def handles(self, user: Handler, report: Report) -> bool:
        """Whether the user handles the report (`handles`, with the domain of its type)."""
        rtype = self.types.get(report.service)
        return handles(user, report, domain=str(rtype.domain) if rtype else None)

    def _handled(self, report: Report | None, report_id: str, *, user: Handler) -> Report:
        if report is None:
            raise NotFound(f"no report {report_id!r}")
        if not self.handles(user, report):
            raise Forbidden(f"report {report_id} is handled by another unit, or outside your scope")
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


class _Added:
    """The reports a group adds, written together when the group ends (or before anything
    reads or changes stored reports); clustering sees them with the stored ones, which were
    read for the whole group when it began (`near`, by report id)."""

    def __init__(self, tx: StoreSession, near: Mapping[str, Sequence[Nearby]]) -> None:
        self.tx = tx
        self.near = near
        self.pending: list[tuple[Report, Photo | None, ReportUpdate]] = []
        self.added: list[Report] = []  # every report of the group, written yet or not

    def add(self, report: Report, *, photo: Photo | None) -> None:
        """A new report (with its first public update) to write."""
        first = ReportUpdate(report.requested_at, report.status, report.status_note)
        self.pending.append((report, photo, first))
        self.added.append(report)

    def flush(self) -> None:
        """Write the pending reports."""
        if self.pending:
            self.tx.reports.add_all(self.pending)
            self.pending = []

    def nearest(self, report_id: str, query: ReportQuery) -> list[Report | Nearby]:
        """The stored clustered reports nearest the report, as read when the group began,
        and the group's earlier reports that match its query (the caller measures each)."""
        found: list[Report | Nearby] = list(self.near.get(report_id, ()))
        found.extend(r for r in self.added if r.cluster and query.matches(r))
        return found

    def cluster_state(self, cluster: str, *, since: datetime) -> ClusterState:
        """The cluster's state, its pending reports counted (a pending report is open and
        linked to nothing: a link writes the pending reports first)."""
        stored = self.tx.reports.cluster_state(cluster, since=since)
        more = sum(
            1 for r, _, _ in self.pending if r.cluster == cluster and r.requested_at >= since
        )
        return replace(stored, open_reports=stored.open_reports + more)


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


def _same_contact(a: str, b: str) -> bool:
    """Whether two contacts name the same reporter (case and outer spaces aside)."""
    return a.strip().casefold() == b.strip().casefold()
