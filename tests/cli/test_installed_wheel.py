"""The demo from an installed wheel, in an empty folder, as a new user runs it after
`pip install`: nothing outside the package (no clone, no benchmark data) may be needed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow
SKIP = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "*.pyc")


def _env() -> dict[str, str]:
    """The environment without PYTHONPATH, so that only the installed wheel is imported."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "TOCSIN_BENCHDATA"}}
    env["TOCSIN_DATABASE_URL"] = "sqlite:///var/tocsin.db"
    return env


def _run(args: list[str], cwd: Path, timeout: float = 600) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    assert "Traceback" not in done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel built from this tree; its bin folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    tree = tmp / "tree"  # a copy, so that building leaves nothing in the checkout
    for part in ("src", "models"):
        shutil.copytree(REPO / part, tree / part, symlinks=True, ignore=SKIP)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, tree / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp), "."], tree)
    (wheel,) = tmp.glob("tocsin-*.whl")
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(tmp / "venv")], check=True
    )
    bin_dir = tmp / "venv" / "bin"
    _run([str(bin_dir / "python"), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], tmp)
    return bin_dir


def test_the_demo_runs_from_the_installed_wheel_in_an_empty_folder(
    installed: Path, tmp_path: Path
) -> None:
    where = _run(
        [str(installed / "python"), "-c", "import tocsin; print(tocsin.__file__)"], tmp_path
    )
    assert where.startswith(str(installed.parent)), where  # the wheel, not this checkout
    out = _run([str(installed / "tocsin"), "demo", "--no-serve", "--quiet"], tmp_path)
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["series"] == 20
    assert summary["observations"] > 100_000
    assert summary["warnings"] > 0
    assert summary["notifications"] > 0
    demo = tmp_path / "var" / "demo"
    assert (demo / "tocsin.db").is_file()
    assert len((demo / "notifications.jsonl").read_text().splitlines()) == summary["notifications"]
    # the what-if it prints runs on the INFORM model and table it unpacked
    what_if = next(line for line in out.splitlines() if line.startswith("what-if: tocsin "))
    result = _run(
        [str(installed / "tocsin"), *what_if.removeprefix("what-if: tocsin ").split()], tmp_path
    )
    assert "ITA: 2.6 → 2.7" in result
    # the data's licences travel with it
    package = Path(where.strip()).parent / "demo" / "data"
    assert "CC BY 4.0" in (package / "README.md").read_text(encoding="utf-8")
    assert "Numenta" in (package / "nab" / "LICENSE.txt").read_text(encoding="utf-8")
