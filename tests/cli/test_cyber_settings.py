"""The cyber settings at the command line: `check-config` validates TOCSIN_CYBER_MODEL naming
the file and the place, a bad TOCSIN_SYSLOG_LISTEN is one sentence, and `risk compute --db`
fills a composite model's live cyber domain from the database."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from tocsin.cli.main import app
from tocsin.testing.scenario import exposure_config, write_small_config

FIXTURES = Path(__file__).parent.parent / "fixtures" / "exposure"
runner = CliRunner()


def test_check_config_names_the_cyber_model_file_and_place(tmp_path: Path) -> None:
    config = write_small_config(tmp_path / "cfg", **exposure_config())
    model = tmp_path / "cyber.yaml"
    model.write_text(
        "id: c\nroot: R\ninputs: [CY_KEV, FOO]\nnodes:\n  - {id: R, expr: '{CY_KEV}'}\n"
    )
    bad = runner.invoke(app, ["check-config", str(config)], env={"TOCSIN_CYBER_MODEL": str(model)})
    assert bad.exit_code == 1
    assert f"{model}: inputs[1] (FOO): not a column of the exposure table" in bad.output
    model.write_text("id: c\nroot: R\ninputs: [CY_KEV\n")
    broken = runner.invoke(
        app, ["check-config", str(config)], env={"TOCSIN_CYBER_MODEL": str(model)}
    )
    assert f"{model}:4: not valid YAML" in broken.output
    assert broken.exit_code == 1
    listen = runner.invoke(app, ["check-config", str(config)], env={"TOCSIN_SYSLOG_LISTEN": "x"})
    assert listen.exit_code == 1
    assert "TOCSIN_SYSLOG_LISTEN: entry 1 ('x'): not udp://HOST:PORT" in listen.output
    assert "Traceback" not in broken.output + bad.output + listen.output
    good = runner.invoke(app, ["check-config", str(config)])
    assert good.exit_code == 0, good.output


def test_risk_compute_fills_the_live_cyber_domain_from_the_database(tmp_path: Path) -> None:
    config = write_small_config(tmp_path / "cfg", **exposure_config())
    db = ["--db", f"sqlite:///{tmp_path / 't.db'}"]
    for feed in ("nvd", "kev"):
        done = runner.invoke(
            app,
            [
                "exposure",
                "import",
                feed,
                str(FIXTURES / f"{feed}.json"),
                *db,
                "--config",
                str(config),
            ],
        )
        assert done.exit_code == 0, done.output
    (tmp_path / "base.yaml").write_text(
        "id: b\nroot: RISK\ntable: {id_column: region}\ninputs: [HAZ]\n"
        "nodes:\n  - {id: HA.NAT, expr: '{HAZ}'}\n"
        "  - {id: RISK, aggregate: {method: inform_geometric, children: [HA.NAT]}}\n"
    )
    (tmp_path / "cyber.yaml").write_text(
        "extends: base.yaml\nid: c\ninputs: [{id: CY, live: cyber_exposure}]\n"
        "nodes:\n  - {id: HA.CYB, expr: '{CY}'}\n"
        "  - {id: RISK, aggregate: {method: inform_geometric, children: [HA.NAT, HA.CYB]}}\n"
    )
    (tmp_path / "t.csv").write_text("region,HAZ\nP1,3\nP2,3\n")
    args = [
        "risk",
        "compute",
        "--model",
        str(tmp_path / "cyber.yaml"),
        "--input",
        str(tmp_path / "t.csv"),
    ]
    out = tmp_path / "scores.csv"
    offline = runner.invoke(app, [*args, "--out", str(out)])
    assert offline.exit_code == 0, offline.output
    assert "live inputs (CY) are missing: give --db" in offline.output
    assert {r["region"]: r["HA.CYB"] for r in _rows(out).values()} == {"P1": "", "P2": ""}
    live = runner.invoke(app, [*args, "--out", str(out), *db, "--config", str(config)])
    assert live.exit_code == 0, live.output
    rows = _rows(out)
    assert float(rows["P1"]["HA.CYB"]) > 0  # the substation and water works are exposed
    assert float(rows["P1"]["RISK"]) > float(rows["P2"]["RISK"])
    assert rows["P2"]["HA.CYB"] == ""  # no asset in P2


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return {r["region"]: r for r in csv.DictReader(f)}
