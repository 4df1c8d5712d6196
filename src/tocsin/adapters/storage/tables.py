"""Database tables (SQLAlchemy Core). Times of observations are epoch seconds (BIGINT)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from tocsin.adapters.storage.columns import moment, placement_columns
from tocsin.adapters.storage.sealing import SealedText

metadata = MetaData()

regions = Table(
    "regions",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("level", String(64), nullable=False),
    Column("parent", String(64), nullable=True, index=True),
    Column("population", Float, nullable=True),
    Column("geometry", JSON, nullable=True),
)

domains = Table(
    "domains",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("cap_category", String(16), nullable=False),
    Column("parent", String(64), nullable=True),
)

indicators = Table(
    "indicators",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("code", String(128), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    *placement_columns(region_index=True),
    Column("unit", String(32), nullable=False, default=""),
    Column("direction", String(24), nullable=False),
    Column("thresholds", JSON, nullable=False),
    Column("cadence_s", Integer, nullable=True),
    Column("raise_after_s", Integer, nullable=False, default=0),
    Column("clear_after_s", Integer, nullable=False, default=0),
    Column("hysteresis", Float, nullable=False, default=0.0),
    Column("asset", String(64), nullable=True),
    Column("detector", JSON, nullable=True),
)

observations = Table(
    "observations",
    metadata,
    Column("indicator_id", Integer, primary_key=True),
    Column("ts", BigInteger, primary_key=True),
    Column("value", Float, nullable=False),
    sqlite_with_rowid=False,
    postgresql_partition_by="RANGE (ts)",  # weekly partitions, see partitions.py
)

# SQLite's inbox: observations committed in arrival order (appends touch a few pages), merged
# into `observations` in key order in bulk (see sqlite_writer.py). PostgreSQL leaves it empty.
observation_inbox = Table(
    "observation_inbox",
    metadata,
    Column("seq", Integer, primary_key=True),
    Column("indicator_id", Integer, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("value", Float, nullable=False),
)

threshold_state = Table(
    "threshold_state",
    metadata,
    Column("indicator_id", Integer, primary_key=True, autoincrement=False),
    Column("level", Integer, nullable=False),
    Column("last_ts", BigInteger, nullable=False),
    Column("above", LargeBinary, nullable=False),
    Column("below", LargeBinary, nullable=False),
)

rule_checkpoints = Table(
    "rule_checkpoints",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

assets = Table(
    "assets",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", String(64), nullable=False),
    *placement_columns(),
    Column("depends_on", JSON, nullable=False),
    Column("latitude", Float, nullable=True),
    Column("longitude", Float, nullable=True),
    Column("software", JSON, nullable=False, server_default=text("'[]'")),
    Column("addresses", JSON, nullable=False, server_default=text("'[]'")),
    Column("alerts_indicator", String(128), nullable=True),
)

units = Table(
    "units",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("region", String(64), nullable=False),
    Column("domains", JSON, nullable=False),
    Column("email", SealedText, nullable=True),  # personal data: encrypted at rest
    Column("webhook_url", SealedText, nullable=True),  # may hold credentials: encrypted
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(64), nullable=False),
    Column("external_id", String(256), nullable=False),
    moment("occurred_at", nullable=False),
    moment("received_at", nullable=False),
    *placement_columns(region_index=True),
    Column("severity", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("asset", String(64), nullable=True),
    Column("attributes", JSON, nullable=False),
    UniqueConstraint("source", "external_id", name="uq_events_source_external_id"),
    Index("ix_events_asset_occurred", "asset", "occurred_at"),  # migration 0021
)

warnings = Table(
    "warnings",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("fingerprint", String(32), nullable=False),
    Column("source", String(32), nullable=False),
    Column("subject", String(256), nullable=False, index=True),
    *placement_columns(region_index=True),
    Column("level", String(8), nullable=False),
    Column("state", String(16), nullable=False),
    moment("first_seen_at", nullable=False),
    moment("last_seen_at", nullable=False),
    moment("updated_at", nullable=False),
    Column("cause", JSON, nullable=False),
    Column("explanation", JSON, nullable=False),
    Column("labels", JSON, nullable=False),
    Column("acknowledged_by", String(64), nullable=True),
    moment("lifted_at", nullable=True),
    # counts by level and open warnings by region are index-only scans of this (migration 0005)
    Index("ix_warnings_state_level_region", "state", "level", "region"),
)
# at most one open warning per fingerprint
Index(
    "uq_warnings_open_fingerprint",
    warnings.c.fingerprint,
    unique=True,
    sqlite_where=text("state != 'lifted'"),
    postgresql_where=text("state != 'lifted'"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    moment("at", nullable=False),
    Column("actor", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("subject_type", String(32), nullable=False),
    Column("subject_id", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("details", JSON, nullable=False),
    # the hash chain (migration 0009): position in the chain and hash over the previous record's
    # hash, the position and the record's canonical form (tocsin.core.audit_chain)
    Column("chain_seq", BigInteger, nullable=True, unique=True),
    Column("chain_hash", String(64), nullable=True),
    Index("ix_audit_subject", "subject_type", "subject_id"),
    # the scorecards read the trail by period (migration 0008)
    Index("ix_audit_at", "at"),
    # the warning feed's reads: the next transitions after a position, in id order (0033)
    Index("ix_audit_subject_type_id", "subject_type", "id"),
)

# the head of the audit chain: locked and moved forward in every transaction that appends
audit_chain = Table(
    "audit_chain",
    metadata,
    Column("name", String(16), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("head", String(64), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(24), nullable=False),
    Column("unit", String(64), nullable=True),
    moment("created_at", nullable=False),
    Column("password_hash", Text, nullable=True),  # argon2id (migration 0009)
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_name", String(64), ForeignKey("users.name"), nullable=False),
    Column("label", Text, nullable=False, default=""),
    moment("created_at", nullable=False),
    moment("revoked_at", nullable=True),
    # migration 0009: an id to list, revoke and rotate by; expiry; what the token may do
    Column("id", String(40), nullable=True, unique=True),
    moment("expires_at", nullable=True),
    Column("permissions", JSON, nullable=True),
    Column("regions", JSON, nullable=True),
    Column("domains", JSON, nullable=True),
)

# people's sessions (migration 0009); the cookie's secret is stored as a hash
sign_ins = Table(
    "sign_ins",
    metadata,
    Column("secret_hash", String(64), primary_key=True),
    Column("user_name", String(64), nullable=False, index=True),
    Column("method", String(16), nullable=False),
    Column("token_id", String(40), nullable=True),
    moment("created_at", nullable=False),
    moment("expires_at", nullable=False),
    moment("ended_at", nullable=True),
)
