"""Public alerts on SQL: a row per message, its regions, its feed entries (writes deferred to the
end of the pipeline session, like the outbox it is published with)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, case, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from tocsin.adapters.storage import cap_tables as ct
from tocsin.adapters.storage.sql.deferred import WriteQueue
from tocsin.adapters.storage.sql.lookups import rows_in
from tocsin.adapters.storage.times import aware, must
from tocsin.core.cap.lifecycle import AlertState, PublicAlert
from tocsin.core.cap.message import alert_from_json, alert_json
from tocsin.core.errors import Conflict
from tocsin.core.levels import LEVEL_STYLES, Level
from tocsin.ports.public_alerts import FIRST_LANGUAGE, AlertQuery, FeedQuery, FeedVersion

P = ct.public_alerts
PUBLISHED = AlertState.PUBLISHED.value
RANK = case({s.level.value: s.rank for s in LEVEL_STYLES.values()}, value=P.c.level, else_=0)


def alert_row(alert: PublicAlert) -> dict[str, Any]:
    """A public alert as a row."""
    return {
        "identifier": alert.identifier,
        "state": alert.state.value,
        "message": alert_json(alert.message),
        "thread": alert.thread,
        "regions": list(alert.regions),
        "domain": alert.domain,
        "level": alert.level.value,
        "authors": list(alert.authors),
        "created_at": alert.created_at,
        "updated_at": alert.updated_at,
        "warning_id": alert.warning_id,
        "approved_by": alert.approved_by,
        "published_at": alert.published_at,
        "expires_at": alert.expires_at,
        "reason": alert.reason,
        "xml": alert.xml,
        "auto": alert.auto,
    }


def alert_of(row: Mapping[Any, Any]) -> PublicAlert:
    """A public alert from its row."""
    return PublicAlert(
        identifier=row["identifier"],
        state=AlertState(row["state"]),
        message=alert_from_json(row["message"]),
        thread=row["thread"],
        regions=tuple(row["regions"]),
        domain=row["domain"],
        level=Level(row["level"]),
        authors=tuple(row["authors"]),
        created_at=must(row["created_at"]),
        updated_at=must(row["updated_at"]),
        warning_id=row["warning_id"],
        approved_by=row["approved_by"],
        published_at=aware(row["published_at"]),
        expires_at=aware(row["expires_at"]),
        reason=row["reason"],
        xml=row["xml"],
        auto=bool(row["auto"]),
    )


def _in_force(now: datetime) -> Any:
    return (P.c.state == PUBLISHED) & or_(P.c.expires_at.is_(None), P.c.expires_at > now)


class SqlPublicAlerts:
    """The PublicAlertStore port in one pipeline session (writes at its end)."""

    def __init__(self, conn: Connection, *, queue: WriteQueue) -> None:
        self.conn = conn
        self.queue = queue

    def get(self, identifier: str) -> PublicAlert | None:
        """One public alert."""
        row = self.conn.execute(select(P).where(P.c.identifier == identifier)).mappings().first()
        return alert_of(row) if row else None

    def add(self, alert: PublicAlert) -> None:
        """Store a new draft (when the session ends)."""
        self.queue.defer(partial(self._insert, alert))

    def _insert(self, alert: PublicAlert) -> None:
        try:
            self.conn.execute(insert(P), [alert_row(alert)])
        except IntegrityError as err:  # the whole session rolls back
            raise Conflict(f"a public alert {alert.identifier} exists already") from err
        rows = [{"identifier": alert.identifier, "region": r} for r in alert.regions]
        if rows:
            self.conn.execute(insert(ct.public_alert_regions), rows)

    def save(self, alert: PublicAlert, *, entries: Mapping[str, str] | None = None) -> None:
        """Store a changed alert and, when it is published, its feed entries."""
        self.queue.defer(partial(self._update, alert, dict(entries or {})))

    def _update(self, alert: PublicAlert, entries: dict[str, str]) -> None:
        row = alert_row(alert)
        self.conn.execute(update(P).where(P.c.identifier == alert.identifier).values(**row))
        if entries:
            e = ct.public_alert_entries
            self.conn.execute(delete(e).where(e.c.identifier == alert.identifier))
            self.conn.execute(
                insert(e),
                [
                    {"identifier": alert.identifier, "language": k, "entry": v}
                    for k, v in entries.items()
                ],
            )

    def find(self, query: AlertQuery) -> list[PublicAlert]:
        """Alerts matching the query, most recently changed first."""
        q = select(P).order_by(P.c.updated_at.desc(), P.c.identifier).limit(query.limit)
        if query.states:
            q = q.where(P.c.state.in_([s.value for s in query.states]))
        if query.warning_id is not None:
            q = q.where(P.c.warning_id == query.warning_id)
        if query.thread is not None:
            q = q.where(P.c.thread == query.thread)
        return [alert_of(r) for r in self.conn.execute(q).mappings()]

    def about(self, warning_ids: Sequence[str]) -> set[str]:
        """The warnings among these that some public alert is about (one indexed lookup per
        chunk of ids)."""
        query = select(P.c.warning_id).distinct()
        return {
            r["warning_id"]
            for r in rows_in(self.conn, query, column=P.c.warning_id, keys=warning_ids)
        }

    def current(self, thread: str) -> PublicAlert | None:
        """The published, not superseded message of a thread."""
        q = (
            select(P)
            .where(P.c.thread == thread, P.c.state == PUBLISHED)
            .order_by(P.c.published_at.desc())
            .limit(1)
        )
        row = self.conn.execute(q).mappings().first()
        return alert_of(row) if row else None

    def active(self, now: datetime, *, limit: int) -> list[PublicAlert]:
        """Alerts in force, most severe and newest first."""
        q = (
            select(P)
            .where(_in_force(now))
            .order_by(RANK.desc(), P.c.published_at.desc(), P.c.identifier)
            .limit(limit)
        )
        return [alert_of(r) for r in self.conn.execute(q).mappings()]

    def feed_page(self, query: FeedQuery, now: datetime) -> list[str]:
        """The identifiers of the active alerts matching the query, newest first."""
        q = (
            select(P.c.identifier)
            .where(_in_force(now))
            .order_by(P.c.published_at.desc(), P.c.identifier)
            .limit(query.limit)
        )
        if query.language != FIRST_LANGUAGE:  # every published alert has its first language's
            e = ct.public_alert_entries
            q = q.where(
                P.c.identifier.in_(select(e.c.identifier).where(e.c.language == query.language))
            )
        if query.levels:
            q = q.where(P.c.level.in_(list(query.levels)))
        if query.domains is not None:
            q = q.where(P.c.domain.in_(list(query.domains)))
        if query.regions is not None:
            r = ct.public_alert_regions
            inside = select(r.c.identifier).where(r.c.region.in_(list(query.regions)))
            q = q.where(P.c.identifier.in_(inside))
        return [str(x) for x in self.conn.execute(q).scalars()]

    def entries_of(self, identifiers: Sequence[str], language: str) -> dict[str, str]:
        """The stored entries of these alerts in a language."""
        e = ct.public_alert_entries
        query = select(e.c.identifier, e.c.entry).where(e.c.language == language)
        rows = rows_in(self.conn, query, column=e.c.identifier, keys=identifiers)
        return {r["identifier"]: r["entry"] for r in rows}

    def documents_of(self, identifiers: Sequence[str]) -> dict[str, str]:
        """The published CAP documents of these alerts."""
        query = select(P.c.identifier, P.c.xml).where(P.c.xml.is_not(None))
        rows = rows_in(self.conn, query, column=P.c.identifier, keys=identifiers)
        return {r["identifier"]: r["xml"] for r in rows}

    def feed_version(self, now: datetime) -> FeedVersion:
        """The active count and the last change of any alert."""
        active = self.conn.execute(select(func.count()).where(_in_force(now))).scalar_one()
        changed = self.conn.execute(select(func.max(P.c.updated_at))).scalar_one()
        return FeedVersion(int(active), aware(changed))
