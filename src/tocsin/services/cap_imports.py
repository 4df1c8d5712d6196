"""Reading other agencies' CAP alerts: pushed to us, polled from their feeds, or from a file.

Every document is untrusted: it is read within a size limit, without DTDs or entities, and each
alert in it is checked against the OASIS schema and then CAP 1.2's rules beyond it (polygons
closed, coordinates in range, radius not negative, expires after sent, references well formed and
present for an Update or Cancel: `core/cap/rules.py`, the checks our own alerts pass before they
are published); one invalid alert refuses the document whole (nothing of it is stored), naming
what and where. A message already read (same sender and
identifier) is skipped. Each new message is kept with its thread (`core/cap/imports.py`),
becomes one event per region it covers (its geocodes naming our regions, else its polygons and
circles meeting the regions' geometry), and, when an import rule matches, raises, changes or
lifts our warnings — so a neighbour's red flood warning appears on our board and goes away when
they cancel it. Messages, events, warning changes and audit records commit together.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any

from tocsin.core.access import Placement, Principal, require, require_places, sees
from tocsin.core.audit import AuditRecord, from_warning_event
from tocsin.core.cap import rules
from tocsin.core.cap.areas import RegionIndex
from tocsin.core.cap.config import CapConfig, CapSource
from tocsin.core.cap.imports import (
    ImportedAlert,
    WarningChange,
    category_domains,
    choose_rule,
    ends_thread,
    level_of,
    main_info,
    reference_keys,
    thread_of,
    warning_changes,
)
from tocsin.core.cap.message import Alert
from tocsin.core.catalog import Catalog
from tocsin.core.domains import DomainCode
from tocsin.core.errors import InvalidInput, Problem, TocsinError
from tocsin.core.events import Event
from tocsin.core.levels import Level
from tocsin.core.regions import RegionCode
from tocsin.core.users import Permission
from tocsin.core.warnings.model import Place, WarningEvent
from tocsin.ports import Bus, Clock, Store, StoreSession
from tocsin.ports.cap_imports import CapReader, Fetcher, ReadAlert, SourceState
from tocsin.services.publishing import warning_message
from tocsin.services.warning_changes import WarningChanges

log = logging.getLogger(__name__)

ACTOR = "cap-import"
MAX_REGIONS = 1000  # regions one message may land in


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did."""

    read: int
    new: int
    events: int
    warning_events: tuple[WarningEvent, ...] = ()
    not_modified: bool = False


@dataclass(frozen=True, slots=True)
class Checked:
    """A document checked without storing anything: its alerts and every problem found."""

    alerts: tuple[ReadAlert, ...]
    problems: tuple[Problem, ...]


def check_document(reader: CapReader, data: bytes, *, where: str, max_bytes: int) -> Checked:
    """Read and check a document (schema, then the rules beyond it); nothing is stored."""
    try:
        document = reader.read(data, where=where, max_bytes=max_bytes)
    except InvalidInput as err:
        return Checked((), err.problems)
    return Checked(document.alerts, tuple(rule_problems(document.alerts)))


def rule_problems(alerts: Sequence[ReadAlert]) -> list[Problem]:
    """The problems of CAP 1.2's rules beyond the schema (`core/cap/rules.py`, the same ones
    our own alerts pass before they are published), each where the alert is and inside it."""
    return [
        replace(p, where=f"{found.where}: {p.where}")
        for found in alerts
        for p in rules.check(found.alert)
    ]


@dataclass
class CapImportService:
    """Imports CAP documents into events and warnings."""

    store: Store
    bus: Bus
    clock: Clock
    catalog: Catalog
    config: CapConfig
    reader: CapReader
    fetcher: Fetcher
    _index: RegionIndex | None = field(default=None, repr=False)

    @property
    def index(self) -> RegionIndex:
        """The regions' shapes (built on first use)."""
        if self._index is None:
            self._index = RegionIndex.build(self.catalog.regions)
        return self._index

    # -- checking ------------------------------------------------------------------------------

    def check(self, data: bytes, *, where: str) -> Checked:
        """Read and check a document (schema, then the rules beyond it) without storing it."""
        return check_document(self.reader, data, where=where, max_bytes=self.config.max_feed_bytes)

    # -- importing -----------------------------------------------------------------------------

    def push(self, data: bytes, *, principal: Principal, where: str = "body") -> ImportResult:
        """Import a document sent to us (a CAP alert, or a feed embedding its alerts)."""
        require(principal, Permission.INGEST)
        document = self.reader.read(data, where=where, max_bytes=self.config.max_feed_bytes)
        if document.links:
            reason = "a pushed feed must embed its alerts (links are not followed)"
            raise InvalidInput([Problem(where, "content", reason)])
        return self.store_alerts(document.alerts, source="push", principal=principal)

    def from_source(self, url: str, *, principal: Principal) -> ImportResult:
        """Import a file or URL once (a CAP document or a feed, following its links)."""
        require(principal, Permission.INGEST)
        fetched = self.fetcher.fetch(url, max_bytes=self.config.max_feed_bytes)
        alerts, _ = self._read(fetched.url, fetched.body or b"", seen={})
        return self.store_alerts(alerts, source=url, principal=principal)

    def poll(self, source: CapSource, *, principal: Principal) -> ImportResult:
        """Poll a configured source with conditional GET; import what is new. A failure is
        recorded with the source (and raised)."""
        require(principal, Permission.INGEST)
        with self.store.transaction() as tx:
            state = tx.cap_imports.source(source.name) or SourceState(source.name, source.url)
        now = self.clock.now()
        try:
            fetched = self.fetcher.fetch(
                source.url,
                max_bytes=self.config.max_feed_bytes,
                etag=state.etag,
                last_modified=state.last_modified,
            )
            if fetched.not_modified or fetched.body is None:
                self._save_source(replace(state, checked_at=now, error=None))
                return ImportResult(0, 0, 0, not_modified=True)
            alerts, entries = self._read(fetched.url, fetched.body, seen=dict(state.entries))
            result = self.store_alerts(alerts, source=source.name, principal=principal)
        except TocsinError as err:
            self._save_source(replace(state, checked_at=now, error=str(err)[:2000]))
            raise
        kept = replace(
            state,
            url=source.url,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            checked_at=now,
            entries=entries,
            error=None,
        )
        self._save_source(kept)
        return result

    def poll_due(self, *, principal: Principal) -> int:
        """Poll every source whose interval has passed; the number of new messages (a source
        that fails is logged and tried again at its next interval)."""
        now = self.clock.now()
        new = 0
        for source in self.config.sources:
            with self.store.transaction() as tx:
                state = tx.cap_imports.source(source.name)
            if state is not None and state.checked_at and state.checked_at + source.every > now:
                continue
            try:
                new += self.poll(source, principal=principal).new
            except TocsinError as err:
                log.warning("CAP source failed", extra={"source": source.name, "error": str(err)})
        return new

    def _save_source(self, state: SourceState) -> None:
        with self.store.transaction() as tx:
            tx.cap_imports.save_source(state)

    def _read(
        self, url: str, data: bytes, *, seen: dict[str, str]
    ) -> tuple[list[ReadAlert], dict[str, str]]:
        """A document's alerts, fetching the linked ones that are new or changed since `seen`
        (entry id -> updated); also the entries now listed."""
        document = self.reader.read(data, where=url, max_bytes=self.config.max_feed_bytes)
        alerts = list(document.alerts)
        links = document.links[: self.config.max_feed_entries]
        entries = {entry_id or href: updated for href, entry_id, updated in links}
        for href, entry_id, updated in links:
            if seen.get(entry_id or href) == updated and updated:
                continue
            target = self.fetcher.resolve(url, href)
            got = self.fetcher.fetch(target, max_bytes=self.config.max_document_bytes)
            linked = self.reader.read(
                got.body or b"", where=target, max_bytes=self.config.max_document_bytes
            )
            alerts += linked.alerts
        return alerts, entries

    def store_alerts(
        self, alerts: Sequence[ReadAlert], *, source: str, principal: Principal
    ) -> ImportResult:
        """Store the new ones of schema-checked alerts, their events and warning changes; one
        alert breaking a rule beyond the schema refuses them all (nothing is stored)."""
        problems = rule_problems(alerts)
        if problems:
            raise InvalidInput(problems)
        now = self.clock.now()
        unique = {(a.alert.sender, a.alert.identifier): a for a in alerts}
        with self.store.transaction() as tx:
            known = tx.cap_imports.known(list(unique))
            fresh = sorted(
                (a for k, a in unique.items() if k not in known), key=lambda a: a.alert.sent
            )
            batch = _Batch(WarningChanges({}))
            for found in fresh:
                self._one(tx, found, source=source, batch=batch, now=now)
            require_places(principal, batch.placed, action="importing CAP alerts")
            warning_events = batch.changes.save(tx)
            tx.events.insert(batch.events, received_at=now)
            tx.audit.append([*batch.records, *(from_warning_event(e) for e in warning_events)])
        for event in warning_events:
            self.bus.publish("warnings", warning_message(event))
        if batch.events:
            self.bus.publish("events", {"count": len(batch.events)})
        return ImportResult(len(unique), len(fresh), len(batch.events), tuple(warning_events))

    def _one(
        self, tx: StoreSession, found: ReadAlert, *, source: str, batch: _Batch, now: datetime
    ) -> None:
        """One new message: its record, events and warning changes."""
        alert = found.alert
        info = main_info(alert, self.config.languages)
        level = level_of(info) if info is not None else None
        rule = choose_rule(alert, info, self.config.import_rules)
        category = info.categories[0] if info and info.categories else "Other"
        domain = rule.domain if rule else self._domain_of(category)
        known = tx.cap_imports.known(reference_keys(alert))
        thread = thread_of(alert, known)
        previous = tx.cap_imports.live_head(thread)
        record = ImportedAlert(
            sender=alert.sender,
            identifier=alert.identifier,
            sent=alert.sent,
            msg_type=alert.msg_type,
            status=alert.status,
            thread=thread,
            source=source,
            received_at=now,
            event=info.event if info else "",
            headline=(info.headline or "") if info else "",
            regions=tuple(self.regions_of(alert, where=found.where)),
            domain=domain,
            level=level,
            expires_at=alert.expires,
            references=alert.references,
            rule=rule.name if rule else None,
            xml=found.xml,
        )
        stale = previous is not None and alert.sent < previous.sent
        ends = ends_thread(alert, level, rule)
        if stale or ends:
            record = replace(record, ended_at=now)
        if not stale:
            changes = warning_changes(record, previous=previous, ends=ends, actor=ACTOR)
            batch.apply(tx, changes, now=now)
            if previous is not None:
                tx.cap_imports.end([previous.key], at=now)
        tx.cap_imports.add([record])
        batch.note(record, self._events(record, alert), actor=ACTOR, now=now)

    def _domain_of(self, category: str) -> str:
        chosen = self.config.import_categories.get(category)
        if chosen is None:
            defaults = category_domains(self.catalog.domains)
            chosen = (
                defaults.get(category) or defaults.get("Other") or next(iter(self.catalog.domains))
            )
        return chosen

    def regions_of(self, alert: Alert, *, where: str) -> list[str]:
        """The regions a message covers: named by geocodes, else met by its shapes."""
        out: list[str] = []
        for i, info in enumerate(alert.infos):
            for j, area in enumerate(info.areas):
                named = self.index.by_geocode(area.geocodes, self.config.geocodes_read)
                try:
                    out += named or self.index.covered(area)
                except ValueError as err:
                    at = f"{where}: alert.info[{i}].area[{j}]"
                    raise InvalidInput([Problem(at, "area", str(err))]) from None
        return list(dict.fromkeys(out))[:MAX_REGIONS]

    def _events(self, record: ImportedAlert, alert: Alert) -> list[Event]:
        info = main_info(alert, self.config.languages)
        occurred = (info.onset or info.effective) if info else None
        title = (record.headline or record.event or record.identifier)[:1000]
        return [
            Event(
                source="cap",
                external_id=_external_id(record, region),
                occurred_at=occurred or record.sent,
                region=RegionCode(region),
                domain=DomainCode(record.domain),
                severity=record.level or Level.BLUE,
                title=title,
                description=((info.description or "") if info else "")[:10_000],
                attributes=_attributes(record),
            )
            for region in record.regions
        ]

    # -- expiry and reading ------------------------------------------------------------------

    def expire(self) -> int:
        """Lift the warnings of messages past their expiry; the number of messages ended."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            expired = tx.cap_imports.expired(now, limit=500)
            batch = _Batch(WarningChanges({}))
            for record in expired:
                changes = warning_changes(record, previous=record, ends=True, actor=ACTOR)
                batch.apply(tx, changes, now=now)
            tx.cap_imports.end([r.key for r in expired], at=now)
            warning_events = batch.changes.save(tx)
            tx.audit.append([from_warning_event(e) for e in warning_events])
        for event in warning_events:
            self.bus.publish("warnings", warning_message(event))
        return len(expired)

    def find(
        self, *, principal: Principal, limit: int = 200, live_only: bool = False
    ) -> list[ImportedAlert]:
        """Imported messages the principal may see (every region in scope; a message that
        lands in none of our regions: a national scope only), newest first."""
        require(principal, Permission.READ)
        wide = limit if principal.scope.national else min(limit * 10, 10_000)
        with self.store.transaction() as tx:
            found = tx.cap_imports.find(limit=wide, live_only=live_only)
        if principal.scope.national:
            return found[:limit]
        return [
            r
            for r in found
            if r.regions and all(sees(principal.scope, Placement(x, r.domain)) for x in r.regions)
        ][:limit]


@dataclass
class _Batch:
    """What one import transaction collects: warning changes, events, records, placements."""

    changes: WarningChanges
    events: list[Event] = field(default_factory=list)
    records: list[AuditRecord] = field(default_factory=list)
    placed: list[tuple[str, Placement]] = field(default_factory=list)

    def apply(self, tx: StoreSession, changes: Sequence[WarningChange], *, now: datetime) -> None:
        """Apply warning changes (loading the open warnings they name first)."""
        wanted = [c.fingerprint for c in changes if c.fingerprint not in self.changes.open_by_fp]
        if wanted:
            self.changes.open_by_fp.update(tx.warnings.open_by_fingerprint(wanted))
        for change in changes:
            self.changes.apply(
                change.fingerprint, change.command, at=now, place=partial(_place, change)
            )

    def note(
        self, record: ImportedAlert, events: list[Event], *, actor: str, now: datetime
    ) -> None:
        """Keep a message's events, audit record and placements."""
        self.events += events
        where = f"{record.sender},{record.identifier}"
        self.placed += [(where, Placement(r, record.domain)) for r in record.regions]
        details = {
            "thread": record.thread,
            "regions": list(record.regions),
            "rule": record.rule,
            "level": record.level.value if record.level else None,
            "source": record.source,
        }
        reason = f"{record.msg_type.value} from {record.sender}: {record.headline or record.event}"
        self.records.append(
            AuditRecord(now, actor, "cap.imported", "cap_import", where, reason[:2000], details)
        )


def _place(change: WarningChange) -> Place:
    return change.place


def _external_id(record: ImportedAlert, region: str) -> str:
    text = f"{record.sender} {record.identifier} {region}"
    return text if len(text) <= 250 else hashlib.sha256(text.encode()).hexdigest()


def _attributes(record: ImportedAlert) -> dict[str, Any]:
    return {
        "sender": record.sender,
        "identifier": record.identifier,
        "msg_type": record.msg_type.value,
        "status": record.status.value,
        "thread": record.thread,
        "event": record.event,
        "references": list(record.references),
        "rule": record.rule,
    }
