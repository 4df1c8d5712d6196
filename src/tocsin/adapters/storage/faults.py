"""Faults of the database as one sentence each: a full disk, a read-only or immutable file, a
server that cannot be reached. The stores raise them as `Unavailable` (the API answers 503 with
`Retry-After`, the command line exits 1 with the sentence), never as a driver's traceback.

A fault is an error of the environment (the driver's OperationalError or InterfaceError, a lost
connection, a read-only transaction, a pool that ran dry), not of the statement: a constraint
or a syntax error is a bug or a conflict, and is not turned into a fault here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, InterfaceError, InternalError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from tocsin.core.errors import Unavailable

# (text in the driver's message, the sentence shown), first match wins
SENTENCES: tuple[tuple[str, str], ...] = (
    ("disk is full", "the disk holding the database is full (free space, then retry)"),
    ("no space left", "the disk holding the database is full (free space, then retry)"),
    ("disk full", "the disk holding the database is full (free space, then retry)"),
    ("could not extend", "the disk holding the database is full (free space, then retry)"),
    (
        "readonly database",
        "the database cannot be written: its file, folder or file system is read-only or "
        "immutable (check permissions, `lsattr` and the mount)",
    ),
    (
        "read-only",
        "the database cannot be written: it is read-only (a standby server or a read-only "
        "transaction)",
    ),
    (
        "unable to open database file",
        "the database file cannot be opened or written (check that its folder exists and can "
        "be written, and that the file is not immutable)",
    ),
    (
        "disk i/o error",
        "the database files cannot be read or written (an I/O error: a failing disk, or files "
        "made immutable or read-only)",
    ),
    ("database is locked", "the database stayed locked by another writer; retry"),
    ("connection refused", "the database server refuses connections (is it running?)"),
    ("connection", "the connection to the database server failed or was lost"),
    ("terminating", "the database server ended the connection (it is shutting down?)"),
    ("shutting down", "the database server is shutting down"),
    ("starting up", "the database server is starting up"),
)
RETRY_AFTER_S = 5


def is_fault(err: BaseException) -> bool:
    """True for an error of the database's environment rather than of the statement."""
    if isinstance(err, OperationalError | InterfaceError | PoolTimeout):
        return True
    if isinstance(err, DBAPIError) and err.connection_invalidated:
        return True
    return isinstance(err, InternalError) and "read-only" in str(err.orig).lower()


def fault_sentence(err: BaseException) -> str:
    """The one sentence for a database fault (its first line, when no sentence fits)."""
    text = str(getattr(err, "orig", None) or err)
    lowered = text.lower()
    for fragment, sentence in SENTENCES:
        if fragment in lowered:
            return sentence
    return "the database failed: " + (text.strip().splitlines() or [type(err).__name__])[0]


def unavailable(err: BaseException) -> Unavailable:
    """The fault as the error the delivery layers answer with."""
    return Unavailable(fault_sentence(err), retry_after_s=RETRY_AFTER_S)


@contextmanager
def faults_as_unavailable() -> Iterator[None]:
    """Turn a database fault raised inside the block into Unavailable (others pass)."""
    try:
        yield
    except (DBAPIError, PoolTimeout) as err:
        if not is_fault(err):
            raise
        raise unavailable(err) from err
