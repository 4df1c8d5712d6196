"""The audit trail as a hash chain: each record is bound to the one before it.

Record n (from 1) carries `hash_n = SHA-256(hash_{n-1} ":" n ":" canonical(record_n))` in hex,
with `hash_0` = 64 zeros. The chain's head (n and hash_n) is kept beside the records and moved in
the same transaction as every append, so appends from several transactions form one chain, and
the head can be exported and anchored elsewhere (a notary, a ticket, another system's log): a
trail that matches an anchored head has not been rewritten since.

**Canonical form** (what is hashed): the JSON object of the record's seven fields — `at` (UTC,
ISO 8601 with microseconds and `+00:00`), `actor`, `kind`, `subject_type`, `subject_id`, `reason`,
`details` — with keys sorted at every depth, no whitespace (`,` and `:`), non-ASCII characters as
themselves, encoded as UTF-8. Numbers are written as Python's `json` writes them (shortest
round-trip form of a float).

`verify` walks the stored records in chain order and names the first one that was altered,
deleted or moved.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum
from typing import Final

from tocsin.core.audit import AuditRecord

GENESIS: Final = "0" * 64


def canonical(record: AuditRecord) -> bytes:
    """The record's canonical form (see the module's docstring)."""
    body = {
        "at": record.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": record.actor,
        "kind": record.kind,
        "subject_type": record.subject_type,
        "subject_id": record.subject_id,
        "reason": record.reason,
        "details": record.details,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return text.encode("utf-8")


def link(previous: str, seq: int, record: AuditRecord) -> str:
    """The hash of record number `seq` that follows a record hashed `previous`."""
    digest = hashlib.sha256()
    digest.update(f"{previous}:{seq}:".encode())
    digest.update(canonical(record))
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Head:
    """Where the chain ends: how many records it holds and the last one's hash."""

    seq: int = 0
    hash: str = GENESIS


def extend(head: Head, records: Sequence[AuditRecord]) -> list[tuple[int, str]]:
    """Positions and hashes of records appended after `head` (the new head is the last)."""
    out: list[tuple[int, str]] = []
    previous, seq = head.hash, head.seq
    for record in records:
        seq += 1
        previous = link(previous, seq, record)
        out.append((seq, previous))
    return out


@dataclass(frozen=True, slots=True)
class Stored:
    """A stored record with its row id, chain position and chain hash (None: never chained)."""

    id: int
    seq: int | None
    hash: str | None
    record: AuditRecord


class Tamper(StrEnum):
    """What was done to the trail."""

    ALTERED = "altered"
    DELETED = "deleted"
    REORDERED = "reordered"
    UNCHAINED = "unchained"  # a record without a chain position (inserted around the chain)
    HEAD = "head"  # the chain's head does not match its last record


@dataclass(frozen=True, slots=True)
class Finding:
    """The first place where the trail is not what was written."""

    tamper: Tamper
    seq: int  # the chain position where it shows
    record_id: int | None  # the row id of the record concerned (None: it is gone)
    detail: str


def verify(rows: Sequence[Stored], head: Head) -> Finding | None:
    """The first tampered record of a trail (rows in row-id order), or None when the chain
    holds from the first record to the head."""
    unchained = next((r for r in rows if r.seq is None or r.hash is None), None)
    if unchained is not None:
        return Finding(Tamper.UNCHAINED, 0, unchained.id, "a record outside the chain")
    chained = sorted(rows, key=lambda r: r.seq or 0)
    moved = _first_moved(rows)
    if moved is not None:  # the trail is read in row-id order: rows were renumbered
        seq = next(r.seq or 0 for r in rows if r.id == moved)
        return Finding(Tamper.REORDERED, seq, moved, f"record {moved} is out of its place")
    previous, last_id = GENESIS, None
    for i, row in enumerate(chained):
        expected_seq = i + 1
        if row.seq != expected_seq:
            gone = f"position {expected_seq}, after record {last_id}" if last_id else "position 1"
            return Finding(Tamper.DELETED, expected_seq, None, f"the record at {gone} is missing")
        if link(previous, expected_seq, row.record) != row.hash:
            return _mismatch(chained, i, previous)
        previous, last_id = row.hash or "", row.id
    return _check_head(chained, head, last_id)


def _first_moved(rows: Sequence[Stored]) -> int | None:
    """The row id of the first record whose chain position is out of row-id order."""
    seqs = [r.seq or 0 for r in rows]
    return next((rows[i].id for i in range(1, len(rows)) if seqs[i] < seqs[i - 1]), None)


def _mismatch(chained: Sequence[Stored], i: int, previous: str) -> Finding:
    """Why the record at index i does not link: moved, or altered."""
    row = chained[i]
    seq = i + 1
    later = chained[i + 1 :]
    if any(link(previous, seq, r.record) == r.hash for r in later):
        return Finding(Tamper.REORDERED, seq, row.id, f"record {row.id} is out of its place")
    return Finding(Tamper.ALTERED, seq, row.id, f"record {row.id} does not match its hash")


def _check_head(chained: Sequence[Stored], head: Head, last_id: int | None) -> Finding | None:
    """The chain's end against the stored head: records deleted at the end, or a moved head."""
    seq = chained[-1].seq or 0 if chained else 0
    if head.seq > seq:
        after = f"after record {last_id}" if last_id else "from the start"
        return Finding(
            Tamper.DELETED, seq + 1, None, f"{head.seq - seq} record(s) {after} are missing"
        )
    last_hash = chained[-1].hash if chained else GENESIS
    if head.seq != seq or head.hash != last_hash:
        return Finding(Tamper.HEAD, seq, last_id, "the chain's head does not match its end")
    return None
