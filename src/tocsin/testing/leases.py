"""Who holds a lease, as tests and benchmarks of several processes ask it."""

from __future__ import annotations

from sqlalchemy import select

from tocsin.adapters.storage.engine import make_engine
from tocsin.adapters.storage.lease_tables import leases


def holder_pid(db: str, name: str = "dispatch") -> int | None:
    """The process id in lease `name`'s holder id (`host:pid:random`), if it is held."""
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            holder = conn.execute(select(leases.c.holder).where(leases.c.name == name)).scalar()
    finally:
        engine.dispose()
    return int(holder.split(":")[1]) if holder else None
