"""Tables of exposure (advisories, imported inventory, patches), on their own MetaData.

Created by migration 0021 (`0021_exposure.py`), which also gives `assets` its software, addresses
and alert-count indicator columns; kept apart from `tables.py` so the baseline stays as it was.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, MetaData, String, Table, Text

from tocsin.adapters.storage.columns import moment

exposure_metadata = MetaData()

# one row per (feed, advisory id): the parsed advisory as JSON (see sql/exposure.py)
advisories = Table(
    "advisories",
    exposure_metadata,
    Column("feed", String(8), primary_key=True),
    Column("id", String(128), primary_key=True),
    Column("data", JSON, nullable=False),
    moment("imported_at", nullable=False),
)

# software imported from CSV/JSON inventories, one row per (asset, name)
asset_software = Table(
    "asset_software",
    exposure_metadata,
    Column("asset", String(64), primary_key=True),
    Column("software", String(1024), primary_key=True),
    moment("imported_at", nullable=False),
)

# a patch recorded on an asset settles one advisory there
patches = Table(
    "patches",
    exposure_metadata,
    Column("asset", String(64), primary_key=True),
    Column("advisory", String(128), primary_key=True),
    moment("patched_at", nullable=False),
    Column("actor", Text, nullable=False),
    Column("note", Text, nullable=False),
)
