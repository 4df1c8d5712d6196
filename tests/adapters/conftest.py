"""Stores for the contract suites: memory, SQLite and PostgreSQL, with the small catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tocsin.adapters.config_yaml import load_catalog
from tocsin.bootstrap import Stores, open_stores
from tocsin.testing.scenario import write_small_config


@pytest.fixture
def stores(store_url: str, tmp_path: Path) -> Iterator[Stores]:
    """Both stores of one database of the parameter's kind, holding the small catalogue."""
    opened = open_stores(store_url)
    with opened.store.transaction() as tx:
        tx.catalog.sync(load_catalog(write_small_config(tmp_path / "cfg")))
    yield opened
    opened.close()
