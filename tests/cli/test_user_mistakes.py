"""Every user mistake ends in one clear sentence and a non-zero exit code, never a traceback;
read commands create nothing. Each case runs `python -m tocsin` as a user would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.testing.scenario import write_small_config

UNREACHABLE_PG = "postgresql://tocsin@127.0.0.1:1/tocsin"
DETECT = ["detect", "--input", "{series}", "--out", "out.csv"]
SILENCE = ["silences", "create", "--db", "{small_db}", "--by", "a", "--reason", "r"]
FORMS = "(use sqlite:///FILE, postgresql://USER@HOST:PORT/DATABASE or memory:// (nothing kept))"


def tocsin(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the command line in `cwd`; exit code, stdout, stderr."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    environ["TOCSIN_ENV"] = "dev"  # a development deployment (production needs a secret key)
    environ.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "tocsin", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def small_db(tmp_path: Path) -> str:
    """A database made from the small configuration."""
    db = f"sqlite:///{tmp_path / 'small.db'}"
    build(Settings(database_url=db, config_dir=write_small_config(tmp_path / "config"))).close()
    return db


CASES = {
    "unreachable PostgreSQL (migrate)": (
        ["migrate", "--db", UNREACHABLE_PG],
        "cannot open the database postgresql://tocsin@127.0.0.1:1/tocsin: connection failed",
    ),
    "unreachable PostgreSQL (warnings)": (
        ["warnings", "--db", UNREACHABLE_PG],
        "cannot open the database postgresql://tocsin@127.0.0.1:1/tocsin",
    ),
    "unreachable PostgreSQL (serve)": (
        ["serve", "--db", UNREACHABLE_PG],
        "cannot open the database postgresql://tocsin@127.0.0.1:1/tocsin",
    ),
    "a password is never repeated": (
        ["warnings", "--db", "postgresql://u:s3cret@127.0.0.1:1/d"],
        "cannot open the database postgresql://u:***@127.0.0.1:1/d",
    ),
    "malformed database URL": (
        ["warnings", "--db", "postgresql://u:s3cret@host:notaport/d"],
        f"--db (or TOCSIN_DATABASE_URL): not a database URL {FORMS}",
    ),
    "not a URL at all": (["migrate", "--db", "var/tocsin.db"], "not a database URL"),
    "mysql": (
        ["warnings", "--db", "mysql://a@b/c"],
        f"--db (or TOCSIN_DATABASE_URL): unsupported database 'mysql' {FORMS}",
    ),
    "missing database (warnings)": (
        ["warnings"],
        "no database at var/tocsin.db (create one with --config DIR, or tocsin demo)",
    ),
    "missing database (serve)": (["serve"], "no database at var/tocsin.db"),
    "missing database (history)": (["history", "abc"], "no database at var/tocsin.db"),
    "missing database (notify log)": (["notify", "log"], "no database at var/tocsin.db"),
    "missing database (silences list)": (["silences", "list"], "no database at var/tocsin.db"),
    "missing database (users list)": (["users", "list"], "no database at var/tocsin.db"),
    "unknown detector parameter": (
        [*DETECT, "--param", "nonsense=3"],
        "auto has no parameter 'nonsense' (its parameters: alpha,",
    ),
    "bad detector parameter value": (
        [*DETECT, "--param", "alpha=7"],
        "Invalid value for --param: auto:",
    ),
    "not key=value": (
        [*DETECT, "--param", "alpha"],
        "expected key=value, got 'alpha'",
    ),
    "unknown detector": (
        [*DETECT, "--detector", "crystal_ball"],
        "unknown detector 'crystal_ball' (known: auto,",
    ),
    "a setting from the environment": (
        ["warnings", "--env", "TOCSIN_PORT=eighty"],
        "TOCSIN_PORT: Input should be a valid integer",
    ),
    "the demo cannot write its folder": (
        ["demo", "--no-serve", "--workdir", "{file}/demo"],
        "cannot write the demo into",
    ),
    "NAB data missing": (
        ["bench", "nab", "--out", "results", "--nab-root", "."],
        "cannot run NAB: No such file or directory:",
    ),
    "unknown level": (
        ["warnings", "--db", "{small_db}", "--level", "purple"],
        "unknown level 'purple' (known: blue, yellow, orange, red)",
    ),
    "unknown domain": (
        ["warnings", "--db", "{small_db}", "--domain", "bogus"],
        "unknown domain 'bogus' (known: composite, cyber,",
    ),
    "unknown region": (
        ["warnings", "--db", "{small_db}", "--region", "ATLANTIS"],
        "unknown region 'ATLANTIS' (known: D11, D12, D21, N, P1, P2)",
    ),
    "unknown silence level": (
        [*SILENCE, "--for", "1h", "--level", "red,purple"],
        "unknown level 'purple'",
    ),
    "bad --until": (
        [*SILENCE, "--until", "soon"],
        "--until: time: not an ISO 8601 time: 'soon'",
    ),
    "no such warning": (
        ["acknowledge", "nope", "--by", "ann", "--db", "{small_db}"],
        "0 open warnings match 'nope'",
    ),
    "unknown unit": (
        ["users", "add", "bob", "--role", "analyst", "--unit", "NOPE", "--db", "{small_db}"],
        "unknown unit 'NOPE' (known: D11-FLOOD, GRID, NAT, P1-CP, P2-CP)",
    ),
    "unknown notification status": (
        ["notify", "log", "--db", "{small_db}", "--status", "lost"],
        "unknown status 'lost' (known: delivered, failed, pending)",
    ),
    "a file that is not there": (
        ["ingest", "missing.csv", "--db", "{small_db}"],
        "missing.csv: no such file",
    ),
    "a worker's status address that is no address": (
        ["worker", "--db", "{small_db}", "--listen", "nowhere"],
        "--listen 'nowhere': give HOST:PORT, say 127.0.0.1:9108",
    ),
    "a worker given only half of its share": (
        ["worker", "--db", "{small_db}", "--index", "1"],
        "--index and --workers go together",
    ),
    "a configuration that is not valid UTF-8": (
        ["serve", "--db", "sqlite:///new.db", "--config", "{bad_config}"],
        "units.yaml:1: not UTF-8 text (byte 0xff)",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_mistake_is_one_sentence_and_an_exit_code(
    case: str, tmp_path: Path, small_db: str
) -> None:
    args, expected = CASES[case]
    work = tmp_path / "work"
    work.mkdir()
    (work / "series.csv").write_text("timestamp,value\n2024-01-01T00:00:00,1\n")
    (work / "a-file").write_text("")
    bad = write_small_config(tmp_path / "bad")
    (bad / "units.yaml").write_bytes(b"\xff")
    values = {
        "series": str(work / "series.csv"),
        "small_db": small_db,
        "file": str(work / "a-file"),
        "bad_config": str(bad),
    }
    env = {}
    if "--env" in args:
        key, _, value = args[args.index("--env") + 1].partition("=")
        env[key] = value
        args = args[: args.index("--env")]
    code, out, err = tocsin(*(a.format(**values) for a in args), cwd=work, env=env)
    assert code != 0, out
    assert "Traceback" not in out + err
    assert expected in " ".join(err.split()), err
    assert sorted(p.name for p in work.iterdir()) == ["a-file", "series.csv"]  # nothing created


def test_serve_and_demo_say_where_they_listen_only_once_they_can(
    tmp_path: Path, small_db: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        served = tocsin("serve", "--db", small_db, "--port", str(port), cwd=tmp_path)
        demo = tocsin("demo", "--port", str(port), "--workdir", "demo", cwd=tmp_path)
    for code, out, err in (served, demo):
        assert code == 1
        assert "Tocsin on" not in out
        assert f"cannot listen on 127.0.0.1:{port}: the address is in use" in err
        assert "Traceback" not in err
    assert not (tmp_path / "demo").exists()  # said at once, before the replay


def test_a_bug_is_one_sentence_too(tmp_path: Path) -> None:
    """An exception no command expected still ends as a sentence (exit 70, EX_SOFTWARE)."""
    script = (
        "import sys; from tocsin.cli import main, core_commands\n"
        "def broken(*a, **k): raise KeyError('surprise')\n"
        "core_commands.parse_levels = broken\n"
        "sys.argv = ['tocsin', 'warnings', '--db', 'sqlite:///x.db']\n"
        "main.main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 70
    assert "Traceback" not in done.stderr
    assert "error: unexpected KeyError: 'surprise' — this is a bug in Tocsin" in done.stderr


@pytest.mark.postgres
def test_reading_an_empty_postgresql_database_creates_no_schema(
    tmp_path: Path, pg_url: str
) -> None:
    from sqlalchemy import create_engine, inspect

    code, _, err = tocsin("warnings", "--db", pg_url, cwd=tmp_path)
    assert code == 1
    assert "holds no Tocsin database (run tocsin migrate first)" in " ".join(err.split())
    engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    assert inspect(engine).get_table_names() == []
    engine.dispose()
    code, out, err = tocsin("migrate", "--db", pg_url, cwd=tmp_path)
    assert code == 0, err
    assert "schema is up to date" in out
