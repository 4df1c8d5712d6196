"""The bad-input corpus driver: every case of `cases/*.yaml` run against the real thing.

For each case: the answer is exactly the one written in the case (status and every problem's
where, field and reason; the command line's one sentence and exit code), no traceback reaches
the user, and nothing was stored (a digest of every table's rows is the same before and after).
The API cases share one server per database (SQLite; PostgreSQL too), the command-line cases
one configuration, the MQTT cases one Mosquitto broker and the pulled-feed cases one HTTP server.
See docs/testing.md ("The bad-input corpus") for how to add a case.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.api.conftest import Api, serve_api
from tests.badinput.bodies import body_of
from tests.badinput.corpus import (
    Case,
    alert_names,
    changed,
    database_digest,
    load,
    record,
    sqlite_digest,
    tables_holding,
)
from tests.conftest import BENCHDATA
from tests.e2e.collector_harness import eventually, free_port
from tests.e2e.mosquitto import mosquitto, publish
from tocsin.adapters.contact_cipher import new_key
from tocsin.cli.main import app
from tocsin.core.users import Role
from tocsin.testing.postgres import create_database
from tocsin.testing.scenario import (
    exposure_config,
    small_cap_config,
    small_plans,
    write_small_config,
)
from tocsin.web.sources import mqtt_subscriber

NOW = datetime(2026, 3, 1, 10, 5, tzinfo=UTC)  # the exposure fixtures' alerts are of 10:00
OPEN311_KEY = "app-key-0123456789abcdef"
PLACE = {"station": "D11"}
SOURCES = {
    "prometheus": [{"indicator": "D11.river_level", "match": {"__name__": "level", **PLACE}}],
    "influx": [{"indicator": "D11.river_level", "match": {"_measurement": "gauge", **PLACE}}],
}
LEVEL = {"indicator": "D11.river_level", "value": "reading.level", "time": "ts"}
MQTT_TOPICS = [
    {"topic": "corpus/level", **LEVEL},
    {"topic": "corpus/plain", "indicator": "D11.river_level"},
    {
        "topic": "corpus/batch",
        "records": "readings",
        "indicator_field": "indicator",
        "value": "value",
        "time": "time",
    },
]
API_CASES = load("api")
CLI_CASES = load("cli")
MQTT_CASES = load("mqtt")
# `tocsin ingest --config` applies the configuration before it reads a file, good or bad: an
# audit entry, the rules lease taken, the units' contacts sealed anew. Nothing of the file.
APPLIED = {"audit_log", "audit_chain", "leases", "units"}
cli = CliRunner()


def _served(url: str, folder: Path) -> Iterator[tuple[Api, dict[str, dict[str, str]]]]:
    docs = {**exposure_config(), "cap.yaml": small_cap_config()}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TOCSIN_ENV", "dev")
        with serve_api(
            url,
            folder,
            docs=docs,
            sources=SOURCES,
            now=NOW,
            benchdata=BENCHDATA,
            open311_api_keys=f"city-app:{OPEN311_KEY}",
            report_contact_key=new_key(),
            max_body_bytes=1 << 20,
            writes_per_minute=0,
        ) as api:
            roles = {
                "duty": api.headers,
                "analyst": api.token_for("ana", Role.ANALYST),
                "anonymous": {},
            }
            yield api, roles


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Api, dict[str, dict[str, str]]]]:
    """One server over the small scenario (with exposure, CAP, collectors and Open311) per
    database, shared by every API case: each case leaves the database as it found it."""
    folder = tmp_path_factory.mktemp("badinput-api")
    yield from _served(_database(request, folder), folder)


def _database(request: pytest.FixtureRequest, folder: Path) -> str:
    """The URL of a fresh database of the fixture's kind (SQLite in `folder`, or PostgreSQL)."""
    if request.param == "sqlite":
        return f"sqlite:///{folder / 'tocsin.db'}"
    pg: str = request.getfixturevalue("pg_server")
    return create_database(pg, "t_" + uuid.uuid4().hex[:12])


def _answer(response: Any) -> dict[str, Any]:
    """What a case compares: the status and the problems (or Open311's errors)."""
    got: dict[str, Any] = {"status": response.status_code}
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    if isinstance(body, list):  # Open311 GeoReport v2's error form
        got["errors"] = [[e["code"], e["description"]] for e in body]
        return got
    if "rejected" in body:  # the alert receiver's per-alert answer
        got["accepted"] = body["accepted"]
        got["rejected"] = [[p["where"], p["field"], p["reason"]] for p in body["rejected"]]
        return got
    assert set(body) - {"error"} == {"detail", "problems"}, body
    assert body["detail"], body
    got["problems"] = [[p["where"], p["field"], p["reason"]] for p in body["problems"]]
    if "error" in body:  # InfluxDB 1.x's member, on /write
        got["error"] = body["error"]
    return got


@pytest.mark.parametrize("case", API_CASES, ids=[c.id for c in API_CASES])
def test_api_case(server: tuple[Api, dict[str, dict[str, str]]], case: Case) -> None:
    api, roles = server
    fields = case.fields
    headers = {**roles[fields.get("as", "duty")], **fields["headers"]}
    before = database_digest(api.container)
    response = api.anonymous.request(
        fields.get("method", "POST"),
        fields["url"],
        content=body_of(fields["body"]) if "body" in fields else None,
        data=fields.get("form"),
        headers=headers,
    )
    assert response.status_code != 500, response.text
    assert "Traceback" not in response.text
    expected: dict[str, Any] = {
        k: fields[k] for k in ("status", "problems", "errors", "rejected", "error") if k in fields
    }
    if "rejected" in fields:
        expected["accepted"] = fields.get("accepted", 0)
    record(case, _answer(response))
    assert _answer(response) == expected
    if "stored" in fields:  # the alert receiver stored the good alerts of a list, and only them
        _assert_only_good_alerts_stored(api, fields["stored"], before=before)
    else:
        assert changed(before, database_digest(api.container)) == []


def _assert_only_good_alerts_stored(
    api: Api, stored: dict[str, list[str]], *, before: dict[str, str]
) -> None:
    """The warnings the post opened are those of the `good` alert names; no row of any table
    holds a `refused` alert name."""
    after = database_digest(api.container)
    assert "warnings" in changed(before, after)
    names = alert_names(api.container)
    assert sorted(n for n in stored["good"] if n in names) == sorted(stored["good"])
    assert [t for n in stored["refused"] for t in tables_holding(api.container, n)] == []


@pytest.fixture(scope="module")
def workbench(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One migrated SQLite database holding one good observation, shared by the CLI cases."""
    folder = tmp_path_factory.mktemp("badinput-cli")
    config = write_small_config(folder / "base", **_cli_docs())
    db = f"sqlite:///{folder / 'tocsin.db'}"
    good = folder / "good.csv"
    good.write_text("indicator,time,value\nD11.river_level,2026-01-01T00:00:00Z,1\n")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TOCSIN_ENV", "dev")
        done = cli.invoke(app, ["ingest", str(good), "--db", db, "--config", str(config)])
    assert done.exit_code == 0, done.output
    return folder, db


def _cli_docs() -> dict[str, Any]:
    return {**exposure_config(), "cap.yaml": small_cap_config(), "plans.yaml": small_plans()}


def _cli_folders(case: Case, root: Path) -> dict[str, str]:
    """The case's configuration (the small scenario with its `config` files replaced and its
    `append` texts appended) and work folder with its `files`; their paths by placeholder."""
    folder = root / case.name
    config = write_small_config(folder / "config", **_cli_docs())
    for name, spec in case.fields.get("config", {}).items():
        (config / name).write_bytes(body_of(spec))
    for name, text in case.fields.get("append", {}).items():
        with (config / name).open("a", encoding="utf-8") as out:
            out.write(text)
    work = folder / "work"
    work.mkdir()
    for name, spec in case.fields.get("files", {}).items():
        (work / name).write_bytes(body_of(spec))
    return {"config": str(config), "work": str(work)}


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.id for c in CLI_CASES])
def test_cli_case(workbench: tuple[Path, str], case: Case) -> None:
    root, db = workbench
    places = {**_cli_folders(case, root), "db": db}
    args = [a.format(**places) for a in case.fields["args"]]
    database = Path(db.removeprefix("sqlite:///"))
    before = sqlite_digest(database)
    result = cli.invoke(app, args)
    output = " ".join(result.output.split())
    for name, place in places.items():
        output = output.replace(place, "{" + name + "}")
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    record(case, {"exit": result.exit_code, "output": output})
    assert {"exit": result.exit_code, "output": output} == {
        "exit": case.fields["exit"],
        "output": case.fields["output"],
    }
    assert result.exit_code != 0
    assert [t for t in changed(before, sqlite_digest(database)) if t not in APPLIED] == []


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def subscribed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Api, int]]:
    """A broker, and Tocsin's API with its MQTT subscriber on the corpus's topics, per
    database, shared by every MQTT case."""
    folder = tmp_path_factory.mktemp("badinput-mqtt")
    url = _database(request, folder)
    port = free_port()
    broker = {"host": "127.0.0.1", "port": port, "client_id": "corpus", "max_payload_bytes": 4096}
    sources = {"mqtt": {"broker": broker, "topics": MQTT_TOPICS}}
    with pytest.MonkeyPatch.context() as env, mosquitto(folder, port):
        env.setenv("TOCSIN_ENV", "dev")
        with serve_api(url, folder, sources=sources, now=NOW) as api:
            subscriber = mqtt_subscriber(api.container)
            assert subscriber is not None
            subscriber.start()
            try:
                assert subscriber.subscribed.wait(30), "the subscriber did not subscribe"
                yield api, port
            finally:
                subscriber.stop()


def _refusals(api: Api) -> list[dict[str, Any]]:
    """The MQTT source's latest refusals as GET /api/v1/sources shows them."""
    response = api.client.get("/api/v1/sources")
    assert response.status_code == 200, response.text
    [mqtt] = [s for s in response.json() if s["kind"] == "mqtt"]
    refusals: list[dict[str, Any]] = mqtt["recent_refusals"]
    return refusals


@pytest.mark.parametrize("case", MQTT_CASES, ids=[c.id for c in MQTT_CASES])
def test_mqtt_case(subscribed: tuple[Api, int], case: Case) -> None:
    api, port = subscribed
    before, seen = database_digest(api.container), _refusals(api)
    publish(port, case.fields["topic"], body_of(case.fields["payload"]), retain=False)
    assert eventually(lambda: _refusals(api) != seen, timeout=30), "the message was not refused"
    latest = _refusals(api)[-1]
    answer = {
        "topic": latest["source"],
        "refused": [[p["where"], p["field"], p["reason"]] for p in latest["problems"]],
    }
    record(case, answer)
    assert answer == {"topic": case.fields["topic"], "refused": case.fields["refused"]}
    assert changed(before, database_digest(api.container)) == []
