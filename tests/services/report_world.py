"""The report service on a store of the small configuration, for the report service tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tocsin.adapters.bus.memory import MemoryBus
from tocsin.adapters.config_yaml import load_catalog
from tocsin.adapters.report_types_yaml import load_report_types
from tocsin.bootstrap import Stores, open_stores
from tocsin.core.catalog import Catalog
from tocsin.core.incidents.plans import PlanBook
from tocsin.ports.reports import ContactCipher
from tocsin.services.reports import ReportPolicy, ReportService
from tocsin.services.response_pass import ResponseContext
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import write_small_config


@dataclass
class ReportWorld:
    """The service, its stores, its catalogue and its fake clock."""

    service: ReportService
    stores: Stores
    catalog: Catalog
    clock: FakeClock


@contextmanager
def report_world(
    store_url: str, folder: Path, *, policy: ReportPolicy, cipher: ContactCipher | None
) -> Iterator[ReportWorld]:
    """A report service over `store_url` (the catalogue synced, the units' chains known)."""
    catalog = load_catalog(write_small_config(folder))
    stores = open_stores(store_url)
    with stores.store.transaction() as tx:
        tx.catalog.sync(catalog)
    clock = FakeClock()
    service = ReportService(
        stores.store,
        clock,
        bus=MemoryBus(),
        catalog=catalog,
        types=load_report_types(None, catalog),
        cipher=cipher,
        policy=policy,
        chain=ResponseContext(catalog, PlanBook()).chain,
    )
    try:
        yield ReportWorld(service, stores, catalog, clock)
    finally:
        service.close()
        stores.close()
