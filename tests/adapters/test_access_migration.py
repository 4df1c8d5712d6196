"""The access migration on a database an older Tocsin wrote (SQLite and PostgreSQL): its audit
records join the hash chain in order and verify, its tokens get ids and still sign in, its
silences need no approval; and it goes back down cleanly."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from tests.factories import T0, make_silence
from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.engine import MIGRATIONS, make_engine, migrate
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.audit_chain import Tamper
from tocsin.services.access import hash_token
from tocsin.services.audit import AuditService
from tocsin.testing.scenario import write_small_config

OLD_SECRET = "tcs_" + "a1" * 20  # a token an older version issued
OLD_AUDIT = ["at", "actor", "kind", "subject_type", "subject_id", "reason", "details"]


def _config(conn: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def _access_revision() -> tuple[str, str]:
    """The access migration's revision and the one before it (whatever they are numbered)."""
    script = ScriptDirectory(str(MIGRATIONS))
    (found,) = [r for r in script.walk_revisions() if (r.doc or "").startswith("Access:")]
    assert isinstance(found.down_revision, str)
    return found.revision, found.down_revision


def test_an_older_database_is_chained_named_and_kept(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    _, before = _access_revision()
    with engine.begin() as conn:
        command.downgrade(_config(conn), before)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("audit_log")}
    assert not {"chain_seq", "chain_hash"} & columns
    with engine.begin() as conn:  # what the older version wrote
        conn.execute(
            sa.text(
                f"INSERT INTO audit_log ({', '.join(OLD_AUDIT)}) VALUES "
                "(:at, :actor, 'warning.acknowledged', 'warning', :sid, 'seen', '{}')"
            ),
            [{"at": T0 + timedelta(minutes=i), "actor": f"u{i}", "sid": f"w{i}"} for i in range(5)],
        )
        conn.execute(
            sa.text(
                "INSERT INTO users (name, role, unit, created_at) "
                "VALUES ('old', 'admin', NULL, :at)"
            ),
            {"at": T0},
        )
        conn.execute(
            sa.text(
                "INSERT INTO api_tokens (token_hash, user_name, label, created_at) "
                "VALUES (:h, 'old', 'feeder', :at)"
            ),
            {"h": hash_token(OLD_SECRET), "at": T0},
        )
    engine.dispose()
    config = write_small_config(tmp_path / "c")
    container = build(Settings(database_url=db_url, config_dir=config))  # migrates up again
    try:
        audit = AuditService(container.store)
        done = audit.verify()  # the five old records, then what starting up wrote
        assert done.finding is None
        assert done.records == done.head.seq >= 5
        principal = container.access.authenticate(OLD_SECRET)  # the older token still works
        assert principal is not None
        assert principal.name == "old"
        (old,) = container.access.tokens(user="old")
        assert (old.name, old.id.startswith("tk_")) == ("feeder", True)  # named, with an id
        container.access.revoke(old.id, actor="test")
        assert container.access.authenticate(OLD_SECRET) is None
        after = audit.verify()  # the revocation chained after them
        assert (after.finding, after.records) == (None, done.records + 1)
        with container.store.engine.begin() as conn:  # type: ignore[attr-defined]
            a = t.audit_log
            where = a.c.subject_id == "w2"
            row_id = conn.execute(sa.select(a.c.id).where(where)).scalar_one()
            conn.execute(sa.update(a).where(where).values(reason="never seen"))
        found = audit.verify().finding
        assert found is not None
        assert (found.tamper, found.record_id) == (Tamper.ALTERED, row_id)
        with container.stores.alerting.transaction() as tx:
            tx.silences.save(make_silence("s1", ends_in=timedelta(hours=1)), new=True)
        with container.stores.alerting.transaction() as tx:
            kept = tx.silences.get("s1")
        assert kept is not None
        assert kept.approval is None
    finally:
        container.close()
    engine = make_engine(db_url)
    with engine.begin() as conn:
        command.downgrade(_config(conn), before)
    assert "sign_ins" not in sa.inspect(engine).get_table_names()
    assert "approval" not in {c["name"] for c in sa.inspect(engine).get_columns("silences")}
    engine.dispose()
