"""Alembic environment: runs migrations on the connection handed in by `migrate()`."""

from __future__ import annotations

from alembic import context

from tocsin.adapters.storage.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
