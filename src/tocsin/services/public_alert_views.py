"""Reading public alerts: for people (scoped lists, one alert, its history, its XML and checks)
and for the public (a published document, the Atom feed of active alerts, the active list).

The feed is cached per filter and rendered again only when the active set changes (a
publication, a supersession, an expiry: `feed_version`); its ETag names that version, so a
client that sends it back in `If-None-Match` gets `304 Not Modified` without a render.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from tocsin.core.access import Principal, domain_subtrees, require, require_places, sees
from tocsin.core.audit import AuditRecord
from tocsin.core.cap.lifecycle import SUBJECT, AlertState, PublicAlert
from tocsin.core.catalog import Catalog
from tocsin.core.errors import Conflict, InvalidInput, NotFound, Problem
from tocsin.core.regions import RegionCode
from tocsin.core.users import Permission
from tocsin.ports import AlertingSession, AlertingStore, Clock
from tocsin.ports.public_alerts import FIRST_LANGUAGE, AlertQuery, CapCodec, FeedQuery
from tocsin.services.public_alerts import alert_places
from tocsin.services.publication import Publisher, missing

FEED_CACHE = 64  # rendered feeds kept (one per filter asked for)
ENTRY_CACHE = 200_000  # feed entries kept in memory (about 1 kB each)
GZIP_LEVEL = 1  # fast: a feed of 10,000 alerts compresses about 8 to 1 even so
PUBLIC_STATES = frozenset({AlertState.PUBLISHED, AlertState.SUPERSEDED})


@dataclass(frozen=True, slots=True)
class Preview:
    """An alert's CAP document as it would leave now, and what its checks say."""

    xml: str
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class FeedFilter:
    """What a feed is limited to (None or empty: no limit)."""

    region: str | None = None
    domains: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    language: str | None = None
    full: bool = False  # each entry embeds its CAP alert


@dataclass(frozen=True, slots=True)
class FeedAnswer:
    """A feed (None when the client's copy is current), the same gzip-compressed (made once
    per version of the feed, so each client does not pay for it), and its ETag."""

    body: bytes | None
    etag: str
    gzipped: bytes | None = None


@dataclass
class PublicAlertViews:
    """Reads of public alerts, scoped for people and public for published ones."""

    store: AlertingStore
    clock: Clock
    catalog: Catalog
    publisher: Publisher
    codec: CapCodec
    _cache: OrderedDict[str, FeedAnswer] = field(default_factory=OrderedDict)
    _entry_cache: OrderedDict[tuple[str, str], bytes] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def find(
        self,
        *,
        principal: Principal,
        states: Sequence[AlertState] = (),
        warning_id: str | None = None,
        limit: int = 200,
    ) -> list[PublicAlert]:
        """The alerts the principal may see (every region in scope), newest change first;
        `warning_id` finds the alerts issued about a warning."""
        require(principal, Permission.READ)
        wide = limit if principal.scope.national else min(limit * 10, 10_000)
        query = AlertQuery(states=tuple(states), warning_id=warning_id, limit=wide)
        with self.store.transaction() as tx:
            found = tx.public_alerts.find(query)
        return [a for a in found if self.sees(principal, a)][:limit]

    @staticmethod
    def sees(principal: Principal, alert: PublicAlert) -> bool:
        """True when the principal's scope holds every region of the alert."""
        return all(sees(principal.scope, place) for _, place in alert_places(alert))

    def get(self, identifier: str, *, principal: Principal) -> PublicAlert:
        """One alert (Forbidden outside the principal's scope)."""
        require(principal, Permission.READ)
        with self.store.transaction() as tx:
            alert = tx.public_alerts.get(identifier)
        if alert is None:
            raise missing(identifier)
        require_places(principal, alert_places(alert), action=f"reading {identifier}")
        return alert

    def history(self, identifier: str, *, principal: Principal) -> list[AuditRecord]:
        """Every step of an alert: who drafted, edited, approved, published it, and why."""
        self.get(identifier, principal=principal)
        with self.store.transaction() as tx:
            return tx.audit.trail(SUBJECT, identifier)

    def preview(self, identifier: str, *, principal: Principal) -> Preview:
        """The document as it would leave now (or as it left), with every check's problem."""
        alert = self.get(identifier, principal=principal)
        if alert.xml is not None:
            return Preview(alert.xml, ())
        extra: tuple[Problem, ...] = ()
        with self.store.transaction() as tx:
            try:
                message = self.publisher.stamped(tx, alert, now=self.clock.now())
            except Conflict as err:  # an Update whose thread has nothing published: say so
                problem = Problem("alert.references", "references", str(err))
                message, extra = alert.message, (problem,)
        xml, problems = self.publisher.check(message)
        return Preview(xml, (*extra, *problems))

    # -- the public ----------------------------------------------------------------------------

    def document(self, identifier: str) -> str:
        """A published alert's CAP document, as it left (superseded and expired ones too:
        a reference must keep resolving). NotFound for anything not published."""
        with self.store.transaction() as tx:
            alert = tx.public_alerts.get(identifier)
        if alert is None or alert.state not in PUBLIC_STATES or alert.xml is None:
            raise NotFound(f"no published alert {identifier!r}")
        return alert.xml

    def active(self, *, limit: int = 500) -> list[PublicAlert]:
        """Alerts in force now, most severe and newest first."""
        with self.store.transaction() as tx:
            return tx.public_alerts.active(self.clock.now(), limit=limit)

    def feed(self, chosen: FeedFilter, *, self_url: str, if_none_match: str | None) -> FeedAnswer:
        """The Atom feed of active alerts within the filter (None body: the client's copy,
        named by its ETag, is current)."""
        query = self._query(chosen)
        now = self.clock.now()
        with self.store.transaction() as tx:
            version = tx.public_alerts.feed_version(now)
            key = repr((query, chosen.full, self_url))
            etag = '"' + hashlib.sha256(f"{key}|{version}".encode()).hexdigest()[:32] + '"'
            if if_none_match is not None and _etags(if_none_match) & {etag, "*"}:
                return FeedAnswer(None, etag)
            with self._lock:
                cached = self._cache.get(key)
            if cached is not None and cached.etag == etag:
                return cached
            page = tx.public_alerts.feed_page(query, now)
            entries = self._entries(tx, page, language=query.language)
            if chosen.full:
                entries = self._embedded(tx, page, entries=entries)
        body = self.codec.feed(entries, self_url=self_url, updated=version.changed_at or now)
        answer = FeedAnswer(body, etag, gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0))
        self._remember(key, answer)
        return answer

    def _entries(
        self, tx: AlertingSession, identifiers: list[str], *, language: str
    ) -> list[bytes]:
        """The entries of these alerts in a language: kept from earlier renders (an entry
        never changes once published), the others read from the store."""
        with self._lock:
            known = {
                i: self._entry_cache[(i, language)]
                for i in identifiers
                if (i, language) in self._entry_cache
            }
        missing = [i for i in identifiers if i not in known]
        if missing:
            read = {
                i: e.encode() for i, e in tx.public_alerts.entries_of(missing, language).items()
            }
            known |= read
            with self._lock:
                self._entry_cache.update(((i, language), e) for i, e in read.items())
                while len(self._entry_cache) > ENTRY_CACHE:
                    self._entry_cache.popitem(last=False)
        return [known[i] for i in identifiers if i in known]

    def _embedded(
        self, tx: AlertingSession, identifiers: list[str], *, entries: list[bytes]
    ) -> list[bytes]:
        """Entries with their CAP documents in them (documents kept like entries)."""
        key = "document"
        with self._lock:
            known = {
                i: self._entry_cache[(i, key)] for i in identifiers if (i, key) in self._entry_cache
            }
        missing = [i for i in identifiers if i not in known]
        if missing:
            read = {i: x.encode() for i, x in tx.public_alerts.documents_of(missing).items()}
            known |= read
            with self._lock:
                self._entry_cache.update(((i, key), x) for i, x in read.items())
        return [
            self.codec.embedded(entry, known[i].decode()) if i in known else entry
            for i, entry in zip(identifiers, entries, strict=False)
        ]

    def _remember(self, key: str, answer: FeedAnswer) -> None:
        with self._lock:
            self._cache[key] = answer
            self._cache.move_to_end(key)
            while len(self._cache) > FEED_CACHE:
                self._cache.popitem(last=False)

    def _query(self, chosen: FeedFilter) -> FeedQuery:
        """The store's query for a filter (region and domains with their subtrees)."""
        regions = None
        if chosen.region is not None:
            if chosen.region not in self.catalog.regions:
                reason = f"unknown region {chosen.region!r}"
                raise InvalidInput([Problem("query", "region", reason)])
            regions = tuple(self.catalog.regions.subtree(RegionCode(chosen.region)))
        domains = None
        if chosen.domains:
            domains = tuple(sorted(domain_subtrees(self.catalog.domains, chosen.domains)))
        return FeedQuery(
            language=(chosen.language or FIRST_LANGUAGE).lower(),
            levels=tuple(sorted(chosen.levels)),
            domains=domains,
            regions=regions,
        )


def _etags(header: str) -> set[str]:
    """The ETags of an If-None-Match header (weak ones compared by their value)."""
    return {part.strip().removeprefix("W/") for part in header.split(",")}
