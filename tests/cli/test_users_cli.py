"""`tocsin users`: a unit is required, tokens are named, limited, expiring, listed, revoked and
rotated, adding a user again revokes its tokens; `tocsin keys new` prints a usable key."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from tocsin.adapters.storage.sealing import Sealer
from tocsin.bootstrap import build
from tocsin.cli.main import app
from tocsin.config import Settings
from tocsin.testing.scenario import write_small_config

runner = CliRunner()
SECRET = re.compile(r"token (tk_[0-9a-f]+)(?: replaces tk_[0-9a-f]+)?: (tcs_\S+)")


def _run(*args: str) -> str:
    done = runner.invoke(app, list(args))
    assert done.exit_code == 0, done.output
    return done.output


def test_users_and_their_tokens(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    build(Settings(database_url=db, config_dir=write_small_config(tmp_path / "c"))).close()
    refused = runner.invoke(app, ["users", "add", "ana", "--role", "analyst", "--db", db])
    assert refused.exit_code == 2
    assert "must belong to a unit" in " ".join(refused.output.split())
    first = SECRET.search(
        _run("users", "add", "ana", "--role", "analyst", "--unit", "P1-CP", "--db", db)
    )
    assert first is not None
    made = _run(
        "users",
        "token",
        "ana",
        "--name",
        "feeder",
        "--expires",
        "2d",
        "--permission",
        "read",
        "--region",
        "D11",
        "--db",
        db,
    )
    feeder = SECRET.search(made)
    assert feeder is not None
    listed = " ".join(_run("users", "list", "--db", db).split())
    assert "ana analyst P1-CP 2" in listed
    assert f"{feeder[1]} ana feeder valid" in listed
    assert "may: read; regions:" in listed  # shortened to the terminal's width
    assert feeder[2] not in listed  # secrets are shown once
    rotated = SECRET.search(_run("users", "rotate", feeder[1], "--db", db))
    assert rotated is not None
    assert rotated[1] != feeder[1]
    _run("users", "revoke", rotated[1], "--db", db)
    again = _run(
        "users", "add", "ana", "--role", "analyst", "--unit", "P1-CP", "--no-token", "--db", db
    )
    assert "its tokens were revoked" in again
    states = re.findall(
        r"(tk_[0-9a-f]+) ana \S+ (\w+)", " ".join(_run("users", "list", "--db", db).split())
    )
    assert {state for _, state in states} == {"revoked"}
    bad = runner.invoke(app, ["users", "token", "ana", "--name", "x", "--region", "P2", "--db", db])
    assert bad.exit_code == 2
    assert "P2 is outside the scope of ana" in " ".join(bad.output.split())


def test_keys_new_prints_a_key_the_sealer_takes() -> None:
    key = _run("keys", "new").strip()
    assert Sealer(key.encode()).unseal(Sealer(key.encode()).seal("x")) == "x"
