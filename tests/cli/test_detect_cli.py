"""``tocsin detect`` and ``tocsin bench nab`` through the Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from tocsin.cli.main import app

runner = CliRunner()


def test_detect_writes_scores(tmp_path: Path) -> None:
    values = np.sin(np.arange(400) / 10.0)
    values[350] = 9.0
    src = tmp_path / "in.csv"
    src.write_text(
        "timestamp,value\n"
        + "".join(f"{1_700_000_000 + 60 * i},{v}\n" for i, v in enumerate(values))
    )
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app, ["detect", "--detector", "robust_z", "--input", str(src), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "timestamp,anomaly_score,is_anomaly"
    assert len(lines) == 401
    assert lines[351].endswith(",1")


def test_detect_reports_a_malformed_file_by_name_and_writes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "bad.csv"
    src.write_text("timestamp,value\n2024-01-01T00:00:00,1\n2024-01-01T00:01:00,oops\n")
    result = runner.invoke(app, ["detect", "--input", str(src), "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2
    assert f"{src}: line 3: column 'value': 'oops' is not a number" in " ".join(
        result.output.split()
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]  # no header-only o.csv


def test_detect_rejects_unknown_detector(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["detect", "--detector", "nope", "--input", "x.csv", "--out", str(tmp_path / "o.csv")]
    )
    assert result.exit_code != 0


def _tiny_nab(root: Path) -> None:
    (root / "data" / "cat").mkdir(parents=True)
    (root / "labels").mkdir()
    rows = ["timestamp,value"]
    rows += [
        f"2014-01-01 {i // 60:02d}:{i % 60:02d}:00,{100 if i == 150 else i % 7}" for i in range(200)
    ]
    (root / "data" / "cat" / "f.csv").write_text("\n".join(rows) + "\n")
    windows = {"cat/f.csv": [["2014-01-01 02:25:00.000000", "2014-01-01 02:35:00.000000"]]}
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows))


def test_bench_nab_writes_layout_and_json(tmp_path: Path) -> None:
    nab_root = tmp_path / "nab"
    _tiny_nab(nab_root)
    out = tmp_path / "results"
    result = runner.invoke(
        app,
        ["bench", "nab", "--detector", "robust_z", "--out", str(out), "--nab-root", str(nab_root)],
    )
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output.strip().splitlines()[-1])
    assert set(scores) == {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}
    written = (out / "robust_z" / "cat" / "robust_z_f.csv").read_text().splitlines()
    assert written[0] == "timestamp,value,anomaly_score,label"
    assert len(written) == 201
    assert written[1].startswith("2014-01-01 00:00:00,0,")
    labels = [int(line.rsplit(",", 1)[1]) for line in written[1:]]
    assert sum(labels) == 11


def _tiny_corpus(root: Path) -> None:
    rng = np.random.default_rng(0)
    values = np.sin(np.arange(1200) / 10.0) + 0.1 * rng.normal(size=1200)
    values[1000:1010] += 6.0
    rows = ["timestamp,value,label"]
    rows += [
        f"{1_600_000_000 + 60 * i},{float(v)!r},{int(1000 <= i < 1010)}"
        for i, v in enumerate(values)
    ]
    root.mkdir()
    (root / "one.csv").write_text("\n".join(rows) + "\n")


def test_bench_detect_reports_each_corpus_and_json(tmp_path: Path) -> None:
    _tiny_corpus(tmp_path / "corpus")
    result = runner.invoke(app, ["bench", "detect", "--corpus", str(tmp_path / "corpus")])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    figures = report["corpora"]["corpus"]
    assert figures["ranges"] == 1
    assert figures["event_recall"] == 1.0
    assert figures["top1"] == 1.0
    assert set(figures["changepoint"]) == {"standard", "low_fp", "low_fn"}


def test_bench_detect_refuses_a_missing_corpus(tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", "detect", "--corpus", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "no such corpus folder" in result.output


def test_detect_explains_which_channels_gave_an_alarm(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    base = np.sin(np.arange(1500) / 20.0)
    rows = ["timestamp,pressure,flow,vibration"]
    for i, b in enumerate(base):
        p, f, v = b + 0.05 * rng.normal(), b + 0.05 * rng.normal(), 0.1 * rng.normal()
        if i >= 1300:
            v += 5.0
        rows.append(f"{1_600_000_000 + i},{p},{f},{v}")
    src = tmp_path / "group.csv"
    src.write_text("\n".join(rows) + "\n")
    out = tmp_path / "scores.csv"
    result = runner.invoke(
        app, ["detect", "--input", str(src), "--out", str(out), "--explain", "--hold", "30"]
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "timestamp,anomaly_score,is_anomaly,explanation"
    alarmed = [ln.split(",") for ln in lines[1301:1400]]
    assert all(cells[2] == "1" for cells in alarmed)
    assert all(cells[3].split(";")[0] == "vibration" for cells in alarmed)


def test_detect_leaves_no_output_behind_on_a_bad_line(tmp_path: Path) -> None:
    rows = ["timestamp,value"] + [f"{1_600_000_000 + i},{i % 7}" for i in range(500)]
    rows.append(f"{1_600_000_000 + 600},oops")
    src = tmp_path / "bad.csv"
    src.write_text("\n".join(rows) + "\n")
    out = tmp_path / "o.csv"
    result = runner.invoke(app, ["detect", "--input", str(src), "--out", str(out)])
    assert result.exit_code == 2
    assert "line 502" in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [src]
