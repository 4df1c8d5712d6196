"""The table of ingest-stream offsets: per partition, the last stream sequence whose
observations and warnings are committed (written in the same transaction as they are)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, MetaData, Table

stream_offset_metadata = MetaData()

stream_offsets = Table(
    "stream_offsets",
    stream_offset_metadata,
    Column("partition", Integer, primary_key=True, autoincrement=False),
    Column("sequence", BigInteger, nullable=False),
)
