"""The attacker's check, run against the matrix world's running server: with the token of each
principal (national, regional units, sector units, a read-only token, a user without a unit)
and with none, every GET operation of the OpenAPI document is called with the ids of every
resource inside and outside the caller's scope (resources in province P1 and in province P2,
each with marker strings only it carries). No body may carry a marker, id, code or name of a
resource the caller does not see (other than what the URL itself named); no body and no log
line of the run may carry a secret or personal datum: the receivers' credentials and the
units' e-mail addresses, any principal's token, a user's password, a reporter's contact (shown
to its handling unit's members alone, on the report's own page). Redacted (`***`) is fine."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.access.concepts import SHARED_EVENT
from tests.access.world import SECRETS, WHO, Thing, Who, World
from tocsin.testing.scenario import small_cap_config

# the kinds whose key (id or code) is private to their place; a report's id is not (Open311
# lists every request's id publicly) and a region's code is the shared catalogue
KEYED = frozenset(
    {"warning", "silence", "indicator", "incident", "task", "sitrep", "public_alert", "cap_import"}
)  # an asset's code is the catalogue's too (its exposure's advisories are its markers)
# the values each path parameter is tried with: the keys of these kinds (both provinces)
PARAM_KINDS = {
    "warning_id": ("warning",),
    "silence_id": ("silence",),
    "code": ("indicator",),
    "region": ("region", "risk"),
    "identifier": ("public_alert", "cap_import"),
    "incident_id": ("incident",),
    "report_id": ("report", "sitrep"),
    "service_request_id": ("report",),
    "task_id": ("task",),
    "asset": ("asset",),
}
FIXED = {"fmt": ("json", "xml"), "service_code": ("dyke_damage", "water_quality"), "token": ("x",)}
LINK_KINDS = {"warning": "warning", "public_alert": "public_alert", "report": "report"}
SKIPPED = {"/api/v1/web/live"}  # a stream: the live matrix (test_live_scope.py) covers it
PASSWORD = "Matrix-PassW0rd-p1-secret"
SENDERS = {small_cap_config()["sender"], "neighbour@agency.example"}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _values(world: World, name: str) -> tuple[str, ...]:
    if name in FIXED:
        return FIXED[name]
    if name == "name":
        return tuple(w.name for w in WHO)
    kinds = PARAM_KINDS.get(name)
    things = world.things if kinds is None else [t for t in world.things if t.kind in kinds]
    return tuple(sorted({t.key for t in things}))


def get_paths(openapi: dict[str, Any]) -> set[str]:
    """The paths of the OpenAPI document with a GET operation (the stream left out)."""
    return {p for p, ops in openapi["paths"].items() if "get" in ops and p not in SKIPPED}


def urls(world: World, openapi: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Every GET path of the OpenAPI document with every combination of its parameters' ids,
    as (path, url)."""
    for path in sorted(get_paths(openapi)):
        names = re.findall(r"\{([a-z_]+)\}", path)
        if path == "/api/v1/incidents/linked/{kind}/{ref}":
            for kind, of in LINK_KINDS.items():
                yield from ((path, path.format(kind=kind, ref=t.key)) for t in world.of(of))
            yield path, path.format(kind="event", ref=SHARED_EVENT)
            continue
        for combo in itertools.product(*(_values(world, n) for n in names)):
            yield path, path.format(**dict(zip(names, combo, strict=True)))


def unseen_markers(world: World, who: Who | None) -> dict[str, Thing]:
    """What the caller must never be shown, each with its resource: the markers of what it does
    not see, and the keys of the keyed kinds placed outside its scope."""
    out: dict[str, Thing] = {}
    for thing in world.things:
        if who is None or not who.sees_thing(thing):
            out.update(dict.fromkeys(thing.markers, thing))
        if thing.kind in KEYED and (who is None or not who.sees(thing.region, thing.domain)):
            out[thing.key] = thing
    return out


def secrets(world: World, *, handled: bool = False) -> list[str]:
    """The secrets and personal data of the world: credentials and addresses of the
    configuration, every token, the password, and (unless `handled`) the reporters' contacts."""
    contacts = [] if handled else [m for t in world.of("report") for m in t.markers]
    return [*SECRETS, *world.tokens.values(), PASSWORD, *contacts]


def _addresses(text: str) -> set[str]:
    """The e-mail addresses in a text, but redacted ones (`***@…`) and the senders of public
    alerts, ours and other agencies' (an organisation's address, published in every CAP
    message)."""
    return {a for a in EMAIL.findall(text) if not a.startswith("***@") and a not in SENDERS}


@pytest.fixture(scope="module")
def password(world: World) -> str:
    """p1 gets a password and signs in with it (and once with a wrong one): the password travels
    through the server and its log."""
    world.container.sign_in.set_password("p1", PASSWORD, actor="matrix")
    with httpx.Client(base_url=world.url, timeout=30) as client:
        good = client.post("/api/v1/session", json={"user": "p1", "password": PASSWORD})
        assert good.status_code == 200, good.text
        bad = client.post("/api/v1/session", json={"user": "p1", "password": PASSWORD + "x"})
        assert bad.status_code == 401
    return PASSWORD


@pytest.mark.parametrize("who", [*WHO, None], ids=[*(w.name for w in WHO), "anonymous"])
def test_no_get_of_the_api_shows_what_is_outside_the_caller_scope(
    world: World, who: Who | None, password: str
) -> None:
    headers = {"Authorization": f"Bearer {world.tokens[who.name]}"} if who else {}
    unseen = unseen_markers(world, who)
    with httpx.Client(base_url=world.url, headers=headers, timeout=60) as client:
        openapi = client.get("/openapi.json").json()
        walked = set()
        for path, url in urls(world, openapi):
            got = client.get(url)
            walked.add(path)
            assert got.status_code < 500, (url, got.status_code)
            text = got.text
            leaked = [m for m in unseen if m in text and m not in url]
            assert not leaked, (who and who.name, url, [(unseen[m].kind, m) for m in leaked])
            handled = who is not None and url.startswith("/api/v1/reports/")
            for secret in secrets(world, handled=handled):
                assert secret not in text, (who and who.name, url, "shows a secret")
            assert not _addresses(text) - _allowed(url, who, world), (url, _addresses(text))
    assert walked == get_paths(openapi)  # every GET operation, each with ids of both provinces


def _allowed(url: str, who: Who | None, world: World) -> set[str]:
    """A reporter's contact, on its report's page, to the members of its handling unit."""
    return {
        m
        for t in world.of("report")
        if who is not None and who.sees_thing(t) and url == f"/api/v1/reports/{t.key}"
        for m in t.markers
    }


def test_no_log_line_of_the_run_holds_a_secret_or_an_address(world: World, password: str) -> None:
    """Every line logged from the world's seeding on (the walks above included, when run in
    the same session) through Tocsin's formatter, as `tocsin serve` logs."""
    lines = world.log.getvalue()
    assert "alembic" in lines or "tocsin" in lines  # the capture saw the run
    for secret in secrets(world):
        assert secret not in lines, secret
    assert _addresses(lines) == set(), sorted(_addresses(lines))[:5]
