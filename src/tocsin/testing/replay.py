"""A clean replay: what the rules should have done with what was stored.

The stored observations of every indicator are fed again, in time order and in one batch,
through a fresh rule engine (threshold and detector rules) on the in-memory store. After kills,
restarts and takeovers, the warning transitions the database holds must equal the replay's: no
transition lost, repeated, or made from a state that was stale.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from tocsin.adapters.storage.memory.store import MemoryStore
from tocsin.bootstrap import Container, Stores, build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.observations import ObservationBatch
from tocsin.testing.clock import FakeClock

SYSTEM = system_principal("replay")

# one warning transition: indicator, kind, level, moment (ISO 8601)
Transition = tuple[str, str, str, str]


def stored_transitions(container: Container) -> list[Transition]:
    """Every warning transition the rules made, per indicator, oldest first."""
    out: list[Transition] = []
    for code in sorted(container.rules.ids):
        for record in container.warnings.transitions(code, principal=SYSTEM):
            level = str(record.details.get("to_level") or "")
            out.append((code, record.kind, level, record.at.isoformat()))
    return out


def stored_observations(container: Container) -> dict[str, tuple[list[int], list[float]]]:
    """Every stored observation by indicator code: (times, values), oldest first."""
    with container.store.transaction() as tx:
        found = {code: tx.observations.read(ident) for code, ident in container.rules.ids.items()}
    return {code: (b.times.tolist(), b.values.tolist()) for code, b in found.items() if len(b)}


def clean_replay(container: Container) -> list[Transition]:
    """The transitions a fresh engine makes from the stored observations."""
    observed = stored_observations(container)
    memory = MemoryStore()
    with memory.transaction() as tx:
        tx.catalog.sync(container.catalog)
    newest = max((max(t) for t, _ in observed.values()), default=0)
    clock = FakeClock(datetime.fromtimestamp(newest, UTC) + timedelta(seconds=1))
    fresh = build(
        Settings(database_url="memory://"),
        stores=Stores(memory, memory, memory.close, memory),
        clock=clock,
    )
    ids = fresh.rules.ids
    series = [np.full(len(t), ids[code], dtype=np.int64) for code, (t, _) in observed.items()]
    if series:
        batch = ObservationBatch(
            np.concatenate(series),
            np.concatenate([np.asarray(t, dtype=np.int64) for t, _ in observed.values()]),
            np.concatenate([np.asarray(v, dtype=np.float64) for _, v in observed.values()]),
        )
        fresh.ingest.ingest_batch(batch.in_time_order())
    replayed = stored_transitions(fresh)
    fresh.close()
    return replayed
