"""The composition root: settings -> adapters -> services."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tocsin.adapters.bus.memory import MemoryBus
from tocsin.adapters.clock import SystemClock
from tocsin.adapters.config_yaml import load_catalog
from tocsin.adapters.storage.engine import make_engine, migrate
from tocsin.adapters.storage.sql import SqlStore
from tocsin.config import Settings
from tocsin.core.catalog import Catalog
from tocsin.core.errors import NotFound
from tocsin.ports import Clock
from tocsin.services.admin import AdminService
from tocsin.services.ingest import EventService, IngestService
from tocsin.services.rules import RuleBook
from tocsin.services.warnings import WarningService


@dataclass
class Container:
    """Everything a delivery layer needs, wired."""

    settings: Settings
    store: SqlStore
    bus: MemoryBus
    clock: Clock
    catalog: Catalog
    rules: RuleBook
    ingest: IngestService
    events: EventService
    warnings: WarningService
    admin: AdminService

    def close(self) -> None:
        """Release the database connections."""
        self.store.close()


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def build(settings: Settings, *, clock: Clock | None = None) -> Container:
    """Open (and migrate) the database, load configuration, wire the services."""
    _ensure_sqlite_dir(settings.database_url)
    store = SqlStore(make_engine(settings.database_url))
    migrate(store.engine)
    clock = clock or SystemClock()
    admin = AdminService(store, clock)
    if settings.config_dir is not None:
        catalog = load_catalog(settings.config_dir)
        ids = admin.apply_catalog(catalog, actor="system:config")
    else:
        with store.transaction() as tx:
            stored = tx.stored_catalog()
            ids = tx.indicator_ids()
        if stored is None:
            raise NotFound(
                "the database holds no configuration: pass --config DIR (or TOCSIN_CONFIG_DIR)"
            )
        catalog = stored
    rules = RuleBook.build(catalog, ids)
    with store.transaction() as tx:
        state = tx.load_threshold_state(rules.size)
    bus = MemoryBus()
    return Container(
        settings=settings,
        store=store,
        bus=bus,
        clock=clock,
        catalog=catalog,
        rules=rules,
        ingest=IngestService(store, bus, clock, rules, state),
        events=EventService(store, bus, clock, set(catalog.regions.regions), set(catalog.domains)),
        warnings=WarningService(store, bus, clock, catalog.regions),
        admin=admin,
    )
