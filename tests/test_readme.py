"""Every command block of the README, run in order in an empty folder, as a new user would.

A block runs with bash (`set -euo pipefail`), with `tocsin` meaning this checkout's command
line. Conventions the README states:

- `WARNING_ID` and `SILENCE_ID` stand for the id of an open warning and of the newest silence,
  looked up just before the block runs;
- a command that serves (`tocsin serve`, `tocsin demo` without `--no-serve`) is started, must
  answer `/healthz` on the port it printed, and is then stopped with Ctrl-C (SIGINT);
- `export NAME=value` lines set the environment of every later command;
- a comment `<!-- readme-test: skip: REASON -->` just above a block means the test cannot run
  it, and why; `<!-- readme-test: postgres: … -->` runs it with a fresh database of the test's
  PostgreSQL cluster in place of the URL the block exports.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow
BLOCK = re.compile(
    r"(?:<!-- readme-test: (?P<kind>[a-z]+): (?P<note>[^>]*?) -->\n)?```bash\n(?P<body>.*?)```",
    re.S,
)
SERVES = re.compile(r"^tocsin (serve|demo)\b(?!.*--no-serve)")
PLACEHOLDER = re.compile(r"\b(WARNING_ID|SILENCE_ID)\b")
PRELUDE = 'set -euo pipefail\ntocsin() { "$TOCSIN_TEST_PYTHON" -m tocsin "$@"; }\n'


@dataclass(frozen=True)
class Block:
    """One command block of the README and what the comment above it asks."""

    line: int
    body: str
    kind: str | None
    note: str


def blocks() -> list[Block]:
    """The README's bash blocks, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return [
        Block(text.count("\n", 0, m.start("body")) + 1, m["body"], m["kind"], m["note"] or "")
        for m in BLOCK.finditer(text)
    ]


class Session:
    """The user's shell across blocks: a folder and the exported environment."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
        self.env |= {"TOCSIN_TEST_PYTHON": sys.executable, "TOCSIN_PORT": str(port)}
        src = str(REPO / "src")
        self.env["PYTHONPATH"] = os.pathsep.join(
            p for p in (src, os.environ.get("PYTHONPATH")) if p
        )

    def run(self, block: Block) -> None:
        """Run a block's lines: shell segments with bash, servers and exports here."""
        segment: list[str] = []
        for line in block.body.splitlines():
            command = line.strip()
            if command.startswith("export ") or SERVES.match(command):
                self._bash(segment, block)
                segment = []
                self._export(command) if command.startswith("export ") else self._serve(command)
                continue
            if PLACEHOLDER.search(command):  # its id must exist: run what comes before first
                self._bash(segment, block)
                segment = []
            segment.append(line)
        self._bash(segment, block)

    def _bash(self, lines: list[str], block: Block) -> None:
        if not any(line.strip() for line in lines):
            return
        script = PRELUDE + self._filled("\n".join(lines)) + "\n"
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, (
            f"README line {block.line}:\n{script}\n--- stdout\n{done.stdout[-3000:]}"
            f"\n--- stderr\n{done.stderr[-3000:]}"
        )

    def _export(self, command: str) -> None:
        """`export NAME=value`; a value with `$(…)` is what bash makes of it (a command's
        output, run like the blocks' commands)."""
        name, _, value = command.removeprefix("export ").split("#")[0].strip().partition("=")
        if "$(" not in value:
            self.env[name] = shlex.split(value)[0] if value else ""
            return
        done = subprocess.run(
            ["bash", "-c", f'{PRELUDE}printf %s "{value}"'],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        self.env[name] = done.stdout

    def _serve(self, command: str) -> None:
        """Start a server, check that it answers where it says, stop it with SIGINT."""
        args = shlex.split(self._filled(command), comments=True)[1:]
        server = subprocess.Popen(
            [sys.executable, "-m", "tocsin", *args],
            cwd=self.folder,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            url = None
            for line in server.stdout or ():  # the address is printed once the port is bound
                if line.startswith("Tocsin on "):
                    url = line.split()[2].rstrip("/")
                    break
            assert url is not None, f"{command}: {server.stderr.read() if server.stderr else ''}"
            with urllib.request.urlopen(url + "/healthz", timeout=120) as answer:
                assert answer.status == 200
        finally:
            server.send_signal(signal.SIGINT)
            server.communicate(timeout=60)

    def _filled(self, body: str) -> str:
        """The block with WARNING_ID and SILENCE_ID replaced by real ids."""
        if "WARNING_ID" in body:
            body = body.replace("WARNING_ID", self._first_id("warnings", "--json"))
        if "SILENCE_ID" in body:
            body = body.replace("SILENCE_ID", self._first_id("silences", "list", "--json"))
        return body

    def _first_id(self, *command: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "tocsin", *command],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        lines = done.stdout.strip().splitlines()
        assert lines, f"tocsin {' '.join(command)} listed nothing to stand for an id"
        identifier: str = json.loads(lines[0])["id"]
        return identifier


def test_every_readme_block_is_run_or_says_why_not() -> None:
    found = blocks()
    assert len(found) >= 7
    for block in found:
        assert block.kind in (None, "skip", "postgres"), f"line {block.line}: {block.kind}"
        if block.kind == "skip":
            assert len(block.note) > 20, f"README line {block.line}: a skip needs its reason"


@pytest.mark.postgres
def test_the_readme_runs_from_an_empty_folder(
    tmp_path: Path, unused_tcp_port: int, pg_url: str
) -> None:
    session = Session(tmp_path, unused_tcp_port)
    for block in blocks():
        if block.kind == "skip":
            continue
        if block.kind == "postgres":
            exported = re.search(r"export TOCSIN_DATABASE_URL=(\S+)", block.body)
            assert exported is not None
            block = Block(block.line, block.body.replace(exported[1], pg_url), None, "")
        session.run(block)
    assert (tmp_path / "var" / "demo" / "tocsin.db").is_file()
    assert (tmp_path / "scores.csv").read_text().startswith("timestamp,anomaly_score,is_anomaly")


@pytest.fixture
def unused_tcp_port() -> int:
    """A port nothing listens on now (the servers the README starts take it in turn)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port
