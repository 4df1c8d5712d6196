"""`tocsin audit verify` and `tocsin audit head` over a real database, before and after a
direct edit of the audit table."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from tocsin.bootstrap import build
from tocsin.cli.main import app
from tocsin.config import Settings
from tocsin.testing.scenario import write_small_config

runner = CliRunner()


def test_verify_passes_then_names_the_altered_record(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    config = write_small_config(tmp_path / "config")
    build(Settings(database_url=db, config_dir=config)).close()  # audit 1: config applied
    for name in ("ana", "bea"):  # audits 2-5: each user saved and given a token
        added = runner.invoke(
            app, ["users", "add", name, "--role", "analyst", "--unit", "P1-CP", "--db", db]
        )
        assert added.exit_code == 0, added.output
    ok = runner.invoke(app, ["audit", "verify", "--db", db])
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("ok: 5 records, chained to head 5:")
    head = json.loads(runner.invoke(app, ["audit", "head", "--db", db]).output)
    assert head["seq"] == 5
    assert ok.output.strip().endswith(head["hash"])
    engine = create_engine(db)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE id = 4"))
    engine.dispose()
    bad = runner.invoke(app, ["audit", "verify", "--db", db])
    assert bad.exit_code == 1
    assert "record 4 altered at chain position 4" in " ".join(bad.output.split())
