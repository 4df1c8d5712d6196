"""`tocsin silences`: a nation-wide silence waits for a second person (`list --awaiting`), who
approves or refuses it (with a reason); its creator cannot; each answer is one sentence."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from tocsin.bootstrap import build
from tocsin.cli.alerting import SYSTEM
from tocsin.cli.main import app
from tocsin.config import Settings
from tocsin.core.warnings.silences import SilenceState
from tocsin.testing.scenario import write_small_config

runner = CliRunner()
MADE = re.compile(r"silence ([0-9a-f]{32}) until ")


def _run(*args: str, code: int = 0) -> str:
    done = runner.invoke(app, list(args))
    assert done.exit_code == code, done.output
    return " ".join(done.output.split())


def _create(db: str, config: Path, region: str, lasts: str = "2d") -> tuple[str, str]:
    out = _run(
        "silences", "create", "--by", "ana", "--reason", "drill", "--for", lasts,
        "--region", region, "--db", db, "--config", str(config),
    )  # fmt: skip
    found = MADE.search(out)
    assert found is not None, out
    return found[1], out


def test_a_second_person_approves_or_refuses_a_broad_silence(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    config = write_small_config(tmp_path / "c")
    build(Settings(database_url=db, config_dir=config)).close()
    (first, told), (second, _) = _create(db, config, "N"), _create(db, config, "N")
    assert "(awaiting a second user's approval: wide_region, all_levels_long)" in told
    (alone, told) = _create(db, config, "D11", "2h")
    assert "awaiting" not in told
    assert "2 silence(s)" in _run("silences", "list", "--awaiting", "--db", db)
    own = _run("silences", "approve", first[:10], "--by", "ana", "--db", db, code=1)
    assert "another user" in own
    assert "Traceback" not in own
    assert f"approved {first} by bo" in _run(
        "silences", "approve", first[:10], "--by", "bo", "--db", db
    )
    again = _run("silences", "approve", first[:10], "--by", "cy", "--db", db, code=1)
    assert "not awaiting approval" in again
    assert f"refused {second} by cy" in _run(
        "silences", "refuse", second[:10], "--by", "cy", "--reason", "too wide", "--db", db
    )
    assert "0 silence(s)" in _run("silences", "list", "--awaiting", "--db", db)
    container = build(Settings(database_url=db, config_dir=config))
    try:
        now = container.clock.now()
        states = {
            s.id: s.state(now)
            for s in container.silences.find(include_expired=True, principal=SYSTEM)
        }
    finally:
        container.close()
    assert states == {
        first: SilenceState.ACTIVE,
        second: SilenceState.REFUSED,
        alone: SilenceState.ACTIVE,
    }
