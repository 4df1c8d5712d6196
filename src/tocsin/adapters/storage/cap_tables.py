"""Tables of public alerts (ours, published as CAP) and of CAP messages read from others, on
their own MetaData. Created by migration 0006.

- `public_alerts`: one row per message (draft to published), its CAP content as JSON and, once
  published, the document as it left; an index on (state, published_at, expires_at, level,
  domain, identifier) answers the feed's active set without reading the rows.
- `public_alert_regions`: the regions of each message, for the feed's region filter.
- `public_alert_entries`: each published message's Atom entry per language (`*`: its first
  info block), rendered once at publication; a feed is their concatenation.
- `cap_imports`: messages read from other agencies by (sender, identifier), with their thread
  and whether their warnings still stand; `cap_sources`: what is remembered per polled source.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Index,
    MetaData,
    String,
    Table,
    Text,
)

from tocsin.adapters.storage.columns import moment

cap_metadata = MetaData()

public_alerts = Table(
    "public_alerts",
    cap_metadata,
    Column("identifier", String(256), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("thread", String(256), nullable=False, index=True),
    Column("regions", JSON, nullable=False),
    Column("domain", String(64), nullable=False),
    Column("level", String(8), nullable=False),
    moment("created_at", nullable=False),
    moment("updated_at", nullable=False, index=True),
    Column("warning_id", String(40), nullable=True, index=True),
    Column("approved_by", String(128), nullable=True),
    moment("published_at", nullable=True),
    moment("expires_at", nullable=True),
    Column("auto", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("authors", JSON, nullable=False),
    # the large values last: SQLite reads a row's columns in order
    Column("message", JSON, nullable=False),
    Column("xml", Text, nullable=True),
    # the feed's active set, newest first, answered from the index alone
    Index(
        "ix_public_alerts_feed",
        "state",
        "published_at",
        "expires_at",
        "level",
        "domain",
        "identifier",
    ),
)

public_alert_regions = Table(
    "public_alert_regions",
    cap_metadata,
    Column("identifier", String(256), primary_key=True),
    Column("region", String(64), primary_key=True),
    Index("ix_public_alert_regions_region", "region"),
)

public_alert_entries = Table(
    "public_alert_entries",
    cap_metadata,
    Column("identifier", String(256), primary_key=True),
    Column("language", String(35), primary_key=True),
    Column("entry", Text, nullable=False),
    sqlite_with_rowid=False,  # one b-tree, clustered by alert: a lookup is one search
)
# which alerts have an entry in a language, from the index alone (the feed's language filter)
Index(
    "ix_public_alert_entries_language",
    public_alert_entries.c.language,
    public_alert_entries.c.identifier,
)

cap_imports = Table(
    "cap_imports",
    cap_metadata,
    Column("sender", String(256), primary_key=True),
    Column("identifier", String(256), primary_key=True),
    moment("sent", nullable=False),
    Column("msg_type", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("thread", String(520), nullable=False, index=True),
    Column("source", Text, nullable=False),
    moment("received_at", nullable=False, index=True),
    Column("event", Text, nullable=False),
    Column("headline", Text, nullable=False),
    Column("regions", JSON, nullable=False),
    Column("domain", String(64), nullable=False),
    Column("level", String(8), nullable=True),
    moment("expires_at", nullable=True),
    Column("references", JSON, nullable=False),
    Column("rule", String(128), nullable=True),
    moment("ended_at", nullable=True),
    Column("xml", Text, nullable=False),
    Index("ix_cap_imports_live", "ended_at", "expires_at"),
)

cap_sources = Table(
    "cap_sources",
    cap_metadata,
    Column("name", String(128), primary_key=True),
    Column("url", Text, nullable=False),
    Column("etag", Text, nullable=True),
    Column("last_modified", Text, nullable=True),
    moment("checked_at", nullable=True),
    Column("entries", JSON, nullable=False),
    Column("error", Text, nullable=True),
)
