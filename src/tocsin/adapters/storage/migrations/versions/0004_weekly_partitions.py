"""PostgreSQL: the observations table partitioned by week of `ts`.

A database created from the baseline after the table definition gained its partitioning has it
already; an older one has a plain table, which is renamed, replaced by the partitioned table
with one partition per week that holds data, copied over and dropped. SQLite is unchanged.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tocsin.adapters.storage.partitions import WEEK_S, create_partition_sql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_KIND = "SELECT relkind FROM pg_class WHERE oid = 'observations'::regclass"


def upgrade() -> None:
    """Partition a plain PostgreSQL observations table by week."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or bind.execute(sa.text(_KIND)).scalar_one() == "p":
        return
    op.execute("ALTER TABLE observations RENAME TO observations_unpartitioned")
    op.execute("ALTER INDEX observations_pkey RENAME TO observations_unpartitioned_pkey")
    op.execute(
        "CREATE TABLE observations (indicator_id integer NOT NULL, ts bigint NOT NULL, "
        "value double precision NOT NULL, PRIMARY KEY (indicator_id, ts)) "
        "PARTITION BY RANGE (ts)"
    )
    weeks = bind.execute(
        sa.text("SELECT DISTINCT floor(ts::numeric / :w)::bigint FROM observations_unpartitioned"),
        {"w": WEEK_S},
    ).scalars()
    for week in weeks:
        op.execute(create_partition_sql(int(week)))
    op.execute(
        "INSERT INTO observations SELECT indicator_id, ts, value FROM observations_unpartitioned"
    )
    op.execute("DROP TABLE observations_unpartitioned")


def downgrade() -> None:
    """Back to one plain table."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE observations RENAME TO observations_partitioned")
    op.execute("ALTER INDEX observations_pkey RENAME TO observations_partitioned_pkey")
    op.execute(
        "CREATE TABLE observations (indicator_id integer NOT NULL, ts bigint NOT NULL, "
        "value double precision NOT NULL, PRIMARY KEY (indicator_id, ts))"
    )
    op.execute(
        "INSERT INTO observations SELECT indicator_id, ts, value FROM observations_partitioned"
    )
    op.execute("DROP TABLE observations_partitioned")
