"""The role × scope × endpoint × resource-inside/outside matrix, run against a running server
(uvicorn on a loopback port; one server per database, SQLite and PostgreSQL) with a token of
each principal, generated from the route table: a route without an entry in `matrix.MATRIX`
fails, and every response of every principal is scanned for the markers of every resource it
must not see (zero leaks)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from tests.access import kinds
from tests.access.matrix import MATRIX
from tests.access.probe import Probe
from tests.access.world import SECRETS, SYSTEM, WHO, Thing, Who, World
from tocsin.api.public import is_public
from tocsin.api.write_routes import write_routes
from tocsin.core.access import Placement
from tocsin.web.app import create_web_app

MOUNT_FILES = {
    "/static": "/static/js/api.js",
    "/vendor/leaflet": "/vendor/leaflet/leaflet.js",
    "/docs/assets": "/docs/assets/swagger-ui.css",
}


def route_table(app: Any) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, included routers walked; mounts as ("MOUNT",
    prefix)."""
    out: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        path = str(context.path)
        if isinstance(context.route, Mount):
            out.add(("MOUNT", path))
        else:
            out |= {(m, path) for m in context.methods or () if m != "HEAD"}
    # the ingest gate serves the collectors' writes in front of the application's routes
    return out | {("POST", path) for path in write_routes(app.state.container)}


def test_every_route_has_an_entry_and_every_entry_a_route(world: World) -> None:
    app = create_web_app(world.container, risk=None)
    routes = route_table(app)
    assert routes - set(MATRIX) == set(), "routes without an entry in tests/access/matrix.py"
    assert set(MATRIX) - routes == set(), "entries without a route"


def test_public_entries_are_exactly_the_declared_public_routes(world: World) -> None:
    for (method, path), entry in MATRIX.items():
        probe = MOUNT_FILES.get(path, path) if method == "MOUNT" else path
        verb = "GET" if method == "MOUNT" else method
        assert is_public(verb, probe) == isinstance(entry, kinds.Public), (method, path)


def test_every_private_route_refuses_a_request_without_credentials(world: World) -> None:
    with httpx.Client(base_url=world.url, timeout=30) as client:
        for (method, path), entry in MATRIX.items():
            url = MOUNT_FILES.get(path, path) if method == "MOUNT" else _concrete(path)
            verb = "GET" if method == "MOUNT" else method
            response = client.request(verb, url, json={} if verb in {"POST", "DELETE"} else None)
            if isinstance(entry, kinds.Public):  # sign-in routes answer their own 401/404/422
                assert "bearer token is required" not in response.text, (verb, url)
            else:
                assert response.status_code == 401, (verb, url, response.status_code)
                assert response.headers["www-authenticate"] == "Bearer"


def test_public_routes_show_nothing_private(world: World) -> None:
    """Without credentials: no reporter's contact, no credential of the configuration, and no
    public alert that is not published (the world's are drafts until the writes run)."""
    private = [m for t in world.of("report") + world.of("public_alert") for m in t.markers]
    ids = {
        "{identifier}": [t.key for t in world.of("public_alert")],
        "{report_id}": [t.key for t in world.of("report")],
        "{service_request_id}": [t.key for t in world.of("report")],
        "{service_code}": ["gas_smell"],
        "{token}": ["x"],
    }
    with httpx.Client(base_url=world.url, timeout=30) as client:
        for (method, path), entry in MATRIX.items():
            if (
                method != "GET"
                or not isinstance(entry, kinds.Public)
                or not path.startswith(PUBLIC)
            ):
                continue
            for url in _every(path, ids):
                got = client.get(url)
                assert got.status_code in {200, 404}, (url, got.status_code)
                if "{identifier}" in path:
                    assert got.status_code == 404, url  # a draft is not public
                for secret in (*private, *SECRETS):
                    assert secret in url or secret not in got.text, (url, secret)  # not echoed


PUBLIC = ("/cap/", "/report", "/api/v1/public/", "/open311/")


def _every(path: str, ids: dict[str, list[str]]) -> list[str]:
    urls = (
        [path.replace("{fmt}", "json"), path.replace("{fmt}", "xml")] if "{fmt}" in path else [path]
    )
    for name, values in ids.items():
        urls = [u.replace(name, v) for u in urls for v in values] if name in path else urls
    return sorted(set(urls))


def _concrete(path: str) -> str:
    named = path.replace("{code}", "D11.river_level").replace("{region}", "N")
    return re.sub(r"\{[a-z_]+\}", "x", named.replace("{name}", "root").replace("{fmt}", "json"))


def _expect(who: Who, thing: Thing, permission: str = "read") -> int:
    return 200 if permission in who.may and who.sees_thing(thing) else 403


@pytest.mark.parametrize("who", WHO, ids=[w.name for w in WHO])
def test_reads(world: World, who: Who) -> None:
    with Probe(world, who) as probe:
        _reads(probe)


def _reads(probe: Probe) -> None:
    world, who = probe.world, probe.who
    national = _national_notifications(world)
    for (method, path), entry in MATRIX.items():
        if method != "GET":
            continue
        if isinstance(entry, kinds.Reference):
            assert probe.send("GET", _concrete(path)).status_code == 200, path
        elif isinstance(entry, kinds.Listing):
            _check_listing(probe, path, entry, national)
        elif isinstance(entry, kinds.Item):
            for thing in world.of(entry.kind):
                got = probe.send("GET", f"{entry.prefix}{thing.key}{entry.suffix}", about=thing)
                expected = _expect(who, thing, entry.permission)
                assert got.status_code == expected, (who.name, path, thing.key, got.text[:300])
        elif isinstance(entry, kinds.Filtered):
            _check_filtered(probe, path, entry)
        elif isinstance(entry, kinds.Count):
            got = probe.send("GET", path)
            assert got.status_code == 200, path
            count = entry.read(got.text if entry.text else got.json())
            assert count == world.open_warnings(who), (who.name, path)
        elif isinstance(entry, kinds.Stream):
            with probe.client.stream("GET", path) as stream:
                assert stream.status_code == 200
        elif isinstance(entry, kinds.Own):
            _check_own(probe, path)
        elif isinstance(entry, kinds.Admin):
            expected = 200 if "manage_users" in who.may else 403
            assert probe.send("GET", path).status_code == expected
        elif isinstance(entry, kinds.National):
            expected = 200 if who.everything and "read" in who.may else 403
            assert probe.send("GET", path).status_code == expected, (who.name, path)


def _check_listing(
    probe: Probe, path: str, entry: kinds.Listing, national: dict[str, list[Any]]
) -> None:
    who, world = probe.who, probe.world
    got = probe.send("GET", entry.url or path, params=dict(entry.params))
    if entry.permission not in who.may or (entry.unit_only and who.unit is None):
        assert got.status_code == 403, (who.name, path, got.status_code)
        return
    assert got.status_code == 200, (path, got.text)
    body = got.json()
    if entry.kind == "notification":
        keys = {n["key"] for n in body}
        expected = {k for k, about in national.items() if _sees_all(world, who, about)}
        assert keys == expected, (who.name, len(keys), len(expected))
        assert all("@" not in n["address"] or n["address"].startswith("***@") for n in body)
        return
    if entry.kind == "risk":
        assert body["available"] is False  # no risk model in the small scenario
        return
    listed = body if isinstance(body, list) else body["features"]
    shown = {x.get(entry.key) or x.get("code") for x in listed}
    expected = {t.key for t in world.of(entry.kind) if who.sees_thing(t)}
    assert shown == expected, (who.name, path)


def _check_filtered(probe: Probe, path: str, entry: kinds.Filtered) -> None:
    """The rows the principal gets are those an administrator gets that lie in its scope; the
    administrator's rows lie in more than one province, so a leak would show."""
    params = dict(entry.params)
    headers = {"Authorization": f"Bearer {probe.world.tokens['root']}"}
    every = entry.rows(probe.client.get(path, params=params, headers=headers).json())
    provinces = {region[:2].replace("D", "P") for _, (region, _) in every}
    assert {"P1", "P2"} <= provinces, (path, every)
    got = probe.send("GET", path, params=params)
    assert got.status_code == 200, (path, got.text)
    shown = sorted(str(key) for key, _ in entry.rows(got.json()))
    who = probe.who
    expected = sorted(str(key) for key, (r, d) in every if who.sees(r, d))
    assert shown == expected, (who.name, path)


def _check_refused(probe: Probe, method: str, entry: kinds.Refused) -> None:
    """Refused for every principal that may read (with why); forbidden to one that may not."""
    world, who = probe.world, probe.who
    for thing in world.of(entry.kind):
        url, body = entry.build(thing)
        got = probe.send(method, url, json=body, about=thing)
        expected = entry.status if "read" in who.may else 403
        assert got.status_code == expected, (who.name, url, got.status_code, got.text[:300])


def _national_notifications(world: World) -> dict[str, list[Any]]:
    """Every notification of the log, with what it is about (warning places, the task's
    place, or the silence's selector), read as the system."""
    out: dict[str, list[Any]] = {}
    for note in world.container.dispatcher.notification_log(principal=SYSTEM, limit=10_000):
        if note.warning_ids:
            out[note.key] = [t for t in world.of("warning") if t.key in note.warning_ids]
        elif "task" in note.payload:  # a task's notice: where the task sits
            task = note.payload["task"]
            out[note.key] = [Placement(task["region"], task["domain"])]
        else:
            selector = note.payload["silence"]["selector"]
            out[note.key] = [Placement(selector["region"], selector["domain"])]
    return out


def _sees_all(world: World, who: Who, about: list[Any]) -> bool:
    return bool(about) and all(who.sees(a.region, a.domain) for a in about)


def _check_own(probe: Probe, path: str) -> None:
    owner = "desk" if probe.who.name == "narrow" else probe.who.name
    if path == "/api/v1/session":
        got = probe.send("GET", path)
        assert got.status_code == 200
        assert got.json()["user"] == owner
    elif path == "/api/v1/tokens":
        got = probe.send("GET", path)
        assert got.status_code == 200
        users = {k["user"] for k in got.json()}
        assert users == {owner} if "manage_users" not in probe.who.may else users >= {owner}
        assert "secret" not in got.text
    elif path == "/api/v1/users/{name}/tokens":
        assert probe.send("GET", f"/api/v1/users/{owner}/tokens").status_code == 200
        others = probe.send("GET", "/api/v1/users/root/tokens").status_code
        assert others == (200 if "manage_users" in probe.who.may else 403)


@pytest.mark.parametrize("who", WHO, ids=[w.name for w in WHO])
def test_reassigning_a_task_needs_the_scope_of_both_units(world: World, who: Who) -> None:
    """Every task to every unit: done (200, or 409/422 for a task past reassigning) when the
    principal may command and its scope holds the task and the unit it goes to (in the task's
    domain); otherwise 403 saying why, and the task and its history stay as they were. A task
    moved to another region is moved back, so the world stays as the other tests expect."""
    tasks = world.container.response.tasks
    units = {str(code): str(u.region) for code, u in world.container.catalog.units.items()}
    with Probe(world, who) as probe:
        for task in world.of("task"):
            for unit, region in sorted(units.items()):
                before = tasks.get(task.key, principal=SYSTEM)
                trail = len(tasks.history(task.key, principal=SYSTEM))
                url, body = f"/api/v1/tasks/{task.key}/reassign", {"unit": unit, "reason": "m"}
                got = probe.send("POST", url, json=body, about=task)
                inside = who.sees_thing(task) and who.sees(region, task.domain)
                if "command" in who.may and inside:
                    assert got.status_code in {200, 409, 422}, (who.name, task.key, unit, got.text)
                    if got.status_code == 200 and unit != before.unit:
                        tasks.reassign(task.key, principal=SYSTEM, unit=before.unit, reason="back")
                    continue
                assert got.status_code == 403, (who.name, task.key, unit, got.status_code)
                assert re.search(_WHY_NOT, got.json()["detail"]), got.json()
                assert tasks.get(task.key, principal=SYSTEM) == before, (who.name, unit)
                assert len(tasks.history(task.key, principal=SYSTEM)) == trail


_WHY_NOT = r"may not command|reassigning task \S+: outside|giving a task to \S+: outside"


@pytest.mark.parametrize("who", WHO, ids=[w.name for w in WHO])
def test_writes(world: World, who: Who) -> None:
    with Probe(world, who) as probe:
        _writes(probe)


def _writes(probe: Probe) -> None:
    world, who = probe.world, probe.who
    for (method, _), entry in MATRIX.items():
        if isinstance(entry, kinds.Refused):
            _check_refused(probe, method, entry)
            continue
        if not isinstance(entry, kinds.Write):
            continue
        for thing in world.of(entry.kind):
            url, body = entry.build(thing)
            if isinstance(body, str | bytes):
                media = {"Content-Type": entry.media}
                got = probe.send(method, url, content=body, headers=media, about=thing)
            else:
                got = probe.send(method, url, json=body, about=thing)
            inside = who.sees_thing(thing) or not entry.placed
            if entry.national:
                inside = who.everything
            allowed = entry.permission in who.may and inside
            if allowed:
                assert got.status_code in entry.ok, (who.name, url, thing.key, got.text[:300])
            else:
                assert got.status_code == 403, (who.name, url, thing.key, got.status_code, got.text)
    # tokens cannot mint tokens; nobody but an administrator manages another's token
    assert probe.send("POST", "/api/v1/tokens", json={"name": "x"}).status_code == 403
    others = [k for k in world.container.access.tokens() if k.user not in {who.name, "desk"}]
    revoked = probe.send("POST", f"/api/v1/tokens/{others[0].id}/rotate")
    assert revoked.status_code == 403
