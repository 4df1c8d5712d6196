"""The bad-input corpus: every case file under `cases/`, read into cases a driver runs.

A case file names its `runner` (`api`, `cli`, `mqtt`, `pull`), the `defaults` its cases share
and its `cases`, each a name, the bad input and the exact answer expected (see
docs/testing.md, "The bad-input corpus"). Names are unique within a file; a case's id is
`file/name`.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from tests.api.conftest import every_table
from tocsin.adapters.storage.sql.store import SqlStore
from tocsin.adapters.storage.tables import warnings
from tocsin.bootstrap import Container

CASES = Path(__file__).parent / "cases"


@dataclass(frozen=True)
class Case:
    """One bad input: its file, name, and its fields merged over the file's defaults."""

    file: str
    name: str
    fields: dict[str, Any]

    @property
    def id(self) -> str:
        """`file/name`, the test id."""
        return f"{self.file}/{self.name}"


def load(runner: str) -> list[Case]:
    """Every case of the files whose runner is `runner`, in file and case order."""
    found: list[Case] = []
    for path in sorted(CASES.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if doc["runner"] != runner:
            continue
        defaults = doc.get("defaults", {})
        names = [c["name"] for c in doc["cases"]]
        assert len(names) == len(set(names)), f"{path.name}: a case name is repeated"
        for case in doc["cases"]:
            fields = {**defaults, **case}
            fields["headers"] = {**defaults.get("headers", {}), **case.get("headers", {})}
            found.append(Case(path.stem, case["name"], fields))
    return found


def database_digest(container: Container) -> dict[str, str]:
    """A digest of every table's rows (sorted), by table: equal before and after a refused
    input when it stored, changed or deleted nothing."""
    store = container.store
    assert isinstance(store, SqlStore)
    digests = {}
    with store.engine.connect() as conn:
        for table in every_table():
            rows = sorted(repr(tuple(row)) for row in conn.execute(select(table)))
            digests[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]
    return digests


def alert_names(container: Container) -> set[str]:
    """The `alertname` labels of the warnings Prometheus alerts opened."""
    store = container.store
    assert isinstance(store, SqlStore)
    query = select(warnings.c.labels).where(warnings.c.source == "prometheus")
    with store.engine.connect() as conn:
        return {str(labels.get("alertname")) for (labels,) in conn.execute(query)}


def tables_holding(container: Container, text: str) -> list[str]:
    """The tables one of whose rows holds `text` (a refused input's marker)."""
    store = container.store
    assert isinstance(store, SqlStore)
    with store.engine.connect() as conn:
        return [
            table.name
            for table in every_table()
            if any(text in repr(tuple(row)) for row in conn.execute(select(table)))
        ]


def sqlite_digest(path: Path) -> dict[str, str]:
    """`database_digest` of a SQLite file read directly (the command line's database)."""
    if not path.exists():
        return {}
    with closing(sqlite3.connect(path)) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        digests = {}
        for name in names:
            rows = sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{name}"'))
            digests[name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]
    return digests


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The tables whose rows differ."""
    return sorted(name for name in before if before[name] != after.get(name))


def record(case: Case, answer: dict[str, Any]) -> None:
    """With BADINPUT_RECORD=FILE, append the answer a case got to FILE (one JSON line): how a
    new case's expected answer is first seen; read it, judge it, then write it in the case."""
    target = os.environ.get("BADINPUT_RECORD")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps({"id": case.id, **answer}, ensure_ascii=False) + "\n")
