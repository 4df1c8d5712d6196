"""Imported CAP messages and polled sources on SQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, select, tuple_, update

from tocsin.adapters.storage import cap_tables as ct
from tocsin.adapters.storage.times import aware, must
from tocsin.core.cap.imports import ImportedAlert, Key
from tocsin.core.cap.message import MsgType, Status
from tocsin.core.levels import Level
from tocsin.ports.cap_imports import SourceState

C = ct.cap_imports
KEYS_PER_QUERY = 400


def import_row(record: ImportedAlert) -> dict[str, Any]:
    """An imported message as a row."""
    return {
        "sender": record.sender,
        "identifier": record.identifier,
        "sent": record.sent,
        "msg_type": record.msg_type.value,
        "status": record.status.value,
        "thread": record.thread,
        "source": record.source,
        "received_at": record.received_at,
        "event": record.event,
        "headline": record.headline,
        "regions": list(record.regions),
        "domain": record.domain,
        "level": record.level.value if record.level else None,
        "expires_at": record.expires_at,
        "references": list(record.references),
        "rule": record.rule,
        "ended_at": record.ended_at,
        "xml": record.xml,
    }


def import_of(row: Mapping[Any, Any]) -> ImportedAlert:
    """An imported message from its row."""
    return ImportedAlert(
        sender=row["sender"],
        identifier=row["identifier"],
        sent=must(row["sent"]),
        msg_type=MsgType(row["msg_type"]),
        status=Status(row["status"]),
        thread=row["thread"],
        source=row["source"],
        received_at=must(row["received_at"]),
        event=row["event"],
        headline=row["headline"],
        regions=tuple(row["regions"]),
        domain=row["domain"],
        level=Level(row["level"]) if row["level"] else None,
        expires_at=aware(row["expires_at"]),
        references=tuple(row["references"]),
        rule=row["rule"],
        ended_at=aware(row["ended_at"]),
        xml=row["xml"],
    )


class SqlCapImports:
    """The CapImportStore port in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def known(self, keys: Sequence[Key]) -> dict[Key, ImportedAlert]:
        """The messages already imported among these keys."""
        unique = list(dict.fromkeys(keys))
        out: dict[Key, ImportedAlert] = {}
        for i in range(0, len(unique), KEYS_PER_QUERY):
            chunk = unique[i : i + KEYS_PER_QUERY]
            q = select(C).where(tuple_(C.c.sender, C.c.identifier).in_(chunk))
            for row in self.conn.execute(q).mappings():
                record = import_of(row)
                out[record.key] = record
        return out

    def live_head(self, thread: str) -> ImportedAlert | None:
        """The thread's latest message whose warnings stand."""
        q = (
            select(C)
            .where(C.c.thread == thread, C.c.ended_at.is_(None))
            .order_by(C.c.sent.desc())
            .limit(1)
        )
        row = self.conn.execute(q).mappings().first()
        return import_of(row) if row else None

    def add(self, records: Sequence[ImportedAlert]) -> None:
        """Store new messages."""
        if records:
            self.conn.execute(insert(C), [import_row(r) for r in records])

    def end(self, keys: Sequence[Key], *, at: datetime) -> None:
        """Mark messages ended."""
        for sender, identifier in keys:
            self.conn.execute(
                update(C)
                .where(C.c.sender == sender, C.c.identifier == identifier, C.c.ended_at.is_(None))
                .values(ended_at=at)
            )

    def find(self, *, limit: int, live_only: bool = False) -> list[ImportedAlert]:
        """Imported messages, newest received first."""
        q = select(C).order_by(C.c.received_at.desc(), C.c.sent.desc()).limit(limit)
        if live_only:
            q = q.where(C.c.ended_at.is_(None))
        return [import_of(r) for r in self.conn.execute(q).mappings()]

    def expired(self, now: datetime, *, limit: int) -> list[ImportedAlert]:
        """Live messages past their expiry."""
        q = (
            select(C)
            .where(and_(C.c.ended_at.is_(None), C.c.expires_at.is_not(None), C.c.expires_at <= now))
            .order_by(C.c.expires_at)
            .limit(limit)
        )
        return [import_of(r) for r in self.conn.execute(q).mappings()]

    def source(self, name: str) -> SourceState | None:
        """A polled source's state."""
        s = ct.cap_sources
        row = self.conn.execute(select(s).where(s.c.name == name)).mappings().first()
        if row is None:
            return None
        return SourceState(
            name=row["name"],
            url=row["url"],
            etag=row["etag"],
            last_modified=row["last_modified"],
            checked_at=aware(row["checked_at"]),
            entries=dict(row["entries"]),
            error=row["error"],
        )

    def save_source(self, state: SourceState) -> None:
        """Store a polled source's state."""
        s = ct.cap_sources
        values = {
            "url": state.url,
            "etag": state.etag,
            "last_modified": state.last_modified,
            "checked_at": state.checked_at,
            "entries": dict(state.entries),
            "error": state.error,
        }
        done = self.conn.execute(update(s).where(s.c.name == state.name).values(**values))
        if done.rowcount == 0:
            self.conn.execute(insert(s), [{"name": state.name, **values}])
