"""The leases table (created by migration 0006), on its own MetaData.

Process coordination, not data: kept apart from the foundation and pipeline tables, so that
what a request stored is counted without it. Expiry is epoch microseconds, compared only in
Python (the claim is decided in `core.leases`); the row changes only by compare-and-set.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, MetaData, String, Table

lease_metadata = MetaData()

leases = Table(
    "leases",
    lease_metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(256), nullable=False),
    Column("address", String(256), nullable=False),
    Column("token", BigInteger, nullable=False),  # the fencing token: + 1 at each takeover
    Column("expires_us", BigInteger, nullable=False),
)
