"""`tocsin cap` as a duty officer runs it: draft from a warning, submit, have a colleague
approve, list, show; validate files; import a neighbour's alert. Every failure is a sentence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cap_support import read_independently
from tests.conftest import BENCHDATA
from tocsin.adapters.config_yaml import dump_yaml
from tocsin.cli.main import app
from tocsin.testing.scenario import small_cap_config, write_small_config

runner = CliRunner()
CAP = BENCHDATA / "cap"


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"TOCSIN_BENCHDATA": str(BENCHDATA)})
    return result.exit_code, result.output


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, Path]:
    config = write_small_config(tmp_path / "config")
    (config / "cap.yaml").write_text(dump_yaml(small_cap_config()), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    data = tmp_path / "obs.csv"
    data.write_text("indicator,time,value\nD11.river_level,2026-01-01T00:00:00Z,5.5\n")
    assert invoke("ingest", str(data), "--db", url, "--config", str(config))[0] == 0
    for name in ("alice", "bob"):
        code, _ = invoke(
            "users", "add", name, "--role", "duty_officer", "--unit", "NAT", "--db", url
        )
        assert code == 0
    return url, config


def test_a_warning_is_drafted_approved_by_a_colleague_and_published(db: tuple[str, Path]) -> None:
    url, config = db
    code, out = invoke("warnings", "--db", url, "--json")
    warning = re.search(r'"id": "([0-9a-f]+)"', out)
    assert code == 0
    assert warning is not None
    code, out = invoke(
        "cap",
        "draft",
        warning.group(1)[:8],
        "--by",
        "alice",
        "--db",
        url,
        "--config",
        str(config),
        "--headline",
        "en-GB=River flood in D11",
    )
    assert code == 0, out
    ident = re.search(r"drafted (\S+):", out)
    assert ident is not None
    alert = ident.group(1)
    assert invoke("cap", "submit", alert[-12:], "--by", "alice", "--db", url)[0] == 0
    code, out = invoke("cap", "approve", alert, "--by", "alice", "--db", url)
    assert code == 1
    assert "second person" in out
    code, out = invoke("cap", "approve", alert, "--by", "bob", "--db", url, "--reason", "ok")
    assert code == 0, out
    assert f"/cap/{alert}.xml" in out
    code, out = invoke("cap", "list", "--db", url, "--state", "published")
    assert code == 0
    assert alert in out
    code, xml = invoke("cap", "show", alert, "--xml", "--db", url)
    assert code == 0
    read_independently(xml)
    assert "River flood in D11" in xml
    code, out = invoke("cap", "show", alert, "--db", url)
    assert "approved" in out
    assert "bob" in out


def test_validate_reads_the_schema_and_the_rules_and_says_what_and_where() -> None:
    code, out = invoke("cap", "validate", str(CAP / "oasis-spec-examples" / "example4.xml"))
    assert (code, "valid:" in out) == (0, True)
    code, out = invoke("cap", "validate", str(CAP / "invalid" / "invalid.cap"))
    assert code == 2
    assert "schema" in out
    assert "scope" in out
    code, out = invoke("cap", "validate", "/nonexistent/file.xml")
    assert code == 2
    assert "No such file" in out


def test_import_reads_a_file_and_refuses_an_invalid_one_whole(db: tuple[str, Path]) -> None:
    url, _ = db
    code, out = invoke("cap", "import", str(CAP / "valid-1.2" / "canada.cap"), "--db", url)
    assert code == 0, out
    assert "imported 1 new of 1" in out
    code, out = invoke("cap", "import", str(CAP / "invalid" / "xee.cap"), "--db", url)
    assert code == 2
    assert "DTD" in out
    code, out = invoke("cap", "list", "--imported", "--db", url)
    assert "2.49.0.1.124.6bddbc91.2012" in out
    assert "Traceback" not in out
