"""The table of observation summaries left by retention (core/observation_rollups.py)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Integer, MetaData, Table

rollup_metadata = MetaData()

observation_rollups = Table(
    "observation_rollups",
    rollup_metadata,
    Column("indicator_id", Integer, primary_key=True),
    Column("interval_s", Integer, primary_key=True),
    Column("ts", BigInteger, primary_key=True),  # the interval's start, epoch seconds
    Column("n", BigInteger, nullable=False),
    Column("minimum", Float, nullable=False),
    Column("maximum", Float, nullable=False),
    Column("total", Float, nullable=False),
    sqlite_with_rowid=False,
)
