"""Access: password hashes, named and scoped API tokens with expiry, sign-ins, the audit hash
chain, silence approvals.

- `users.password_hash` (argon2id); `api_tokens` gain an id (existing tokens get one), an expiry,
  and the permissions and scope roots a token may carry (null: its user's).
- `sign_ins`: people's sessions (the cookie's secret stored as a hash).
- `audit_log.chain_seq` and `chain_hash`, and the chain's head `audit_chain`: existing records are
  chained here, in id order, with the same function every later append uses.
- `silences.approval`: why a broad silence waits for a second user, and what that user decided
  (approved or refused, by whom, when, why).

A database created from the baseline after these were added to the table definitions already
has them, so each step only does what is missing.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

from tocsin.adapters.storage import alerting_tables as at
from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.sql.audit import CHAIN, audit_record
from tocsin.core.audit_chain import GENESIS, Head, extend

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

NEW_COLUMNS = {
    "users": ["password_hash"],
    "api_tokens": ["id", "expires_at", "permissions", "regions", "domains"],
    "audit_log": ["chain_seq", "chain_hash"],
}
BATCH = 5_000


def _add_missing(inspector: sa.Inspector, table: sa.Table, names: list[str]) -> list[str]:
    present = {c["name"] for c in inspector.get_columns(table.name)}
    missing = [n for n in names if n not in present]
    for name in missing:
        column = table.c[name]
        op.add_column(table.name, sa.Column(name, column.type, nullable=True))
    return missing


def upgrade() -> None:
    """Add what is missing, give old tokens ids, chain the existing audit records."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    tables = {"users": t.users, "api_tokens": t.api_tokens, "audit_log": t.audit_log}
    added = {
        name: _add_missing(inspector, tables[name], cols) for name, cols in NEW_COLUMNS.items()
    }
    if "id" in added["api_tokens"]:
        op.create_index("ix_api_tokens_id", "api_tokens", ["id"], unique=True)
    if "chain_seq" in added["audit_log"]:
        op.create_index("ix_audit_log_chain_seq", "audit_log", ["chain_seq"], unique=True)
    _add_missing(inspector, at.silences, ["approval"])
    t.sign_ins.create(bind, checkfirst=True)
    t.audit_chain.create(bind, checkfirst=True)
    _name_tokens(bind)
    _chain(bind)


def _name_tokens(bind: sa.Connection) -> None:
    k = t.api_tokens
    for (secret_hash,) in bind.execute(sa.select(k.c.token_hash).where(k.c.id.is_(None))).all():
        ident = "tk_" + uuid.uuid4().hex[:16]
        bind.execute(sa.update(k).where(k.c.token_hash == secret_hash).values(id=ident))


def _chain(bind: sa.Connection) -> None:
    """Chain the records that have no position yet, after the current head, in id order."""
    a, c = t.audit_log, t.audit_chain
    row = bind.execute(sa.select(c.c.seq, c.c.head).where(c.c.name == CHAIN)).first()
    if row is None:
        bind.execute(sa.insert(c), [{"name": CHAIN, "seq": 0, "head": GENESIS}])
    head = Head(int(row.seq), row.head) if row else Head()
    while True:
        rows = (
            bind.execute(sa.select(a).where(a.c.chain_seq.is_(None)).order_by(a.c.id).limit(BATCH))
            .mappings()
            .all()
        )
        if not rows:
            break
        links = extend(head, [audit_record(r) for r in rows])
        for r, (seq, digest) in zip(rows, links, strict=True):
            bind.execute(
                sa.update(a).where(a.c.id == r["id"]).values(chain_seq=seq, chain_hash=digest)
            )
        head = Head(*links[-1])
        bind.execute(sa.update(c).where(c.c.name == CHAIN).values(seq=head.seq, head=head.hash))


def downgrade() -> None:
    """Drop what this revision added."""
    op.drop_table("sign_ins")
    op.drop_table("audit_chain")
    # `users` is referenced by api_tokens: SQLite could not copy it in a batch without dropping
    # the original under the foreign key, and its new column is a plain one any ALTER drops
    op.drop_column("users", "password_hash")
    inspector = sa.inspect(op.get_bind())
    for table, index in (
        ("api_tokens", "ix_api_tokens_id"),
        ("audit_log", "ix_audit_log_chain_seq"),
    ):
        if index in {i["name"] for i in inspector.get_indexes(table)}:
            op.drop_index(index, table_name=table)
    for table, columns in NEW_COLUMNS.items():
        if table == "users":
            continue
        with op.batch_alter_table(table) as batch:
            for name in columns:
                batch.drop_column(name)
    with op.batch_alter_table("silences") as batch:
        batch.drop_column("approval")
