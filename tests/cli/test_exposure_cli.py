"""`tocsin exposure …` and `tocsin check-config` on software names, end to end on SQLite."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from tocsin.cli.main import app
from tocsin.testing.scenario import exposure_config, write_small_config

FIXTURES = Path(__file__).parent.parent / "fixtures" / "exposure"
runner = CliRunner()


def test_feeds_assets_known_exploited_patch_and_alerts(tmp_path: Path) -> None:
    config = write_small_config(tmp_path / "cfg", **exposure_config())
    db = ["--db", f"sqlite:///{tmp_path / 't.db'}"]
    first = runner.invoke(
        app, ["exposure", "import", "nvd", str(FIXTURES / "nvd.json"), *db, "--config", str(config)]
    )
    assert first.exit_code == 0, first.output
    assert "4 stored; 3 warning change(s)" in first.output
    for feed in ("kev", "osv"):
        done = runner.invoke(app, ["exposure", "import", feed, str(FIXTURES / f"{feed}.json"), *db])
        assert done.exit_code == 0, done.output
    listed = runner.invoke(app, ["exposure", "known-exploited", *db])
    lines = [line.split()[:3] for line in listed.output.splitlines()[1:]]
    assert lines == [
        ["2021-11-17", "CVE-2021-41773", "SUB"],
        ["2026-03-13", "CVE-2099-0001", "SUB"],
    ]
    assets = runner.invoke(app, ["exposure", "assets", *db], env={"COLUMNS": "200"})
    sub = next(line for line in assets.output.splitlines() if line.startswith("SUB"))
    assert "HSP WTR" in sub
    assert "D11 D12" in sub
    patched = runner.invoke(app, ["exposure", "patch", "SUB", "CVE-2021-41773", "--by", "ops", *db])
    assert patched.exit_code == 0, patched.output
    assert "lifted red" in patched.output
    after = runner.invoke(app, ["exposure", "known-exploited", *db])
    assert "CVE-2021-41773" not in after.output
    alerts = runner.invoke(
        app, ["exposure", "alerts", "suricata", str(FIXTURES / "eve.jsonl"), *db]
    )
    assert alerts.exit_code == 0, alerts.output
    assert "2 new on our assets" in alerts.output


def test_mistakes_end_in_one_sentence_and_an_exit_code(tmp_path: Path) -> None:
    config = write_small_config(tmp_path / "cfg", **exposure_config())
    db = ["--db", f"sqlite:///{tmp_path / 't.db'}", "--config", str(config)]
    bad = tmp_path / "inventory.csv"
    bad.write_text("asset,software\nSUB,cpe:2.3:a:vendor:product\n", encoding="utf-8")
    refused = runner.invoke(app, ["exposure", "inventory", str(bad), *db])
    assert refused.exit_code == 2
    assert "inventory.csv:2: software:" in refused.output
    assert "11 attributes" in refused.output
    missing = runner.invoke(app, ["exposure", "import", "kev", str(tmp_path / "none.json"), *db])
    assert missing.exit_code == 2
    assert "cannot read" in missing.output
    wrong = runner.invoke(app, ["exposure", "import", "nvd", str(FIXTURES / "kev.json"), *db])
    assert wrong.exit_code == 2
    assert "format" in wrong.output
    assert "Traceback" not in refused.output + missing.output + wrong.output


def test_check_config_names_bad_software_addresses_and_alert_indicators(tmp_path: Path) -> None:
    docs = exposure_config()
    sub = docs["assets.yaml"]["assets"][0]
    sub["software"] = ["cpe:2.3:a:v:p:1.*:*:*:*:*:*:*:*", "pkg:pypi"]
    sub["addresses"] = ["10.2.0.1", "not a host!"]  # 10.2.0.1 is the water works' address
    sub["alerts_indicator"] = "D11.river_level"
    config = write_small_config(tmp_path / "cfg", **docs)
    result = runner.invoke(app, ["check-config", str(config)])
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    for expected in (
        "assets[SUB].software[0]",
        "no wildcards",
        "assets[SUB].software[1]",
        "assets[SUB].addresses[1]",
        "not a host name or IP address",
        "assets[WTR].addresses[1]",
        "also an address of 'SUB'",
        "assets[SUB].alerts_indicator",
        "not about this asset",
    ):
        assert expected in out, expected


def test_region_exposure_feeds_the_cyber_risk_model(tmp_path: Path) -> None:
    config = write_small_config(tmp_path / "cfg", **exposure_config())
    db = ["--db", f"sqlite:///{tmp_path / 't.db'}"]
    for feed in ("nvd", "kev"):
        path = str(FIXTURES / f"{feed}.json")
        assert (
            runner.invoke(
                app, ["exposure", "import", feed, path, *db, "--config", str(config)]
            ).exit_code
            == 0
        )
    table = tmp_path / "cyber.csv"
    assert runner.invoke(app, ["exposure", "regions", "--out", str(table), *db]).exit_code == 0
    scores = tmp_path / "scores.csv"
    model = Path(__file__).resolve().parents[2] / "models" / "cyber_exposure.yaml"
    args = ["risk", "compute", "--model", str(model), "--input", str(table), "--out", str(scores)]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    with scores.open(newline="", encoding="utf-8") as fh:
        got = {r["region"]: r for r in csv.DictReader(fh)}
    assert set(got) == {"D11", "D12"}
    assert float(got["D11"]["CYBER"]) > float(got["D12"]["CYBER"]) > 0
    assert got["D11"]["rank"] == "1"
