"""The matrix rows of public alerts, the response, public reports and cyber exposure (merged
into `matrix.MATRIX`): what each route is, who may call it, and how a write names its
resource."""

from __future__ import annotations

import itertools
from typing import Any

from tests.access.concepts import ASSETS, SHARED_EVENT, incoming_cap, kev
from tests.access.kinds import (
    Body,
    Entry,
    Filtered,
    Item,
    Listing,
    Public,
    Write,
)
from tests.access.world import Thing

_serial = itertools.count()
OK = frozenset({200, 409})  # done, or done before by another principal
UNIT_OF = {"D11": "D11-FLOOD", "P1": "P1-CP", "P2": "P2-CP", "D21": "P2-CP"}  # a unit there
PLAN_OF = {"D11": ("flood", "red"), "D21": ("water", "yellow")}  # incident region: plan, level
UNIT_REGION = {"NAT": "N", "P1-CP": "P1", "P2-CP": "P2", "D11-FLOOD": "D11", "GRID": "N"}
CYBER = "cyber"


def _region_of_asset(code: str) -> str:
    return ASSETS[code][0]


def _reason(path: str) -> Any:
    return lambda t: (path.format(key=t.key), {"reason": "matrix"})


def _incident(thing: Thing) -> tuple[str, Body]:
    n = next(_serial)
    body = {"title": f"opened {n}", "region": thing.region, "domain": thing.domain}
    return "/api/v1/incidents", body | {"reason": "matrix"}


def _activate(thing: Thing) -> tuple[str, Body]:
    plan, level = PLAN_OF[str(thing.region)]
    body = {"plan": plan, "level": level, "reason": "matrix"}
    return f"/api/v1/incidents/{thing.key}/activate", body


def _link(thing: Thing) -> tuple[str, Body]:
    links = [{"kind": "event", "ref": f"matrix-link-{next(_serial)}"}]
    return f"/api/v1/incidents/{thing.key}/links", {"links": links, "reason": "matrix"}


def _lead(thing: Thing) -> tuple[str, Body]:
    unit = UNIT_OF[str(thing.region)]
    return f"/api/v1/incidents/{thing.key}/lead", {"unit": unit, "reason": "matrix"}


def _split(thing: Thing) -> tuple[str, Body]:
    return f"/api/v1/incidents/{thing.key}/split", {"title": "split off", "reason": "matrix"}


def _merge(thing: Thing) -> tuple[str, Body]:
    return f"/api/v1/incidents/{thing.key}/merge", {"into": thing.key, "reason": "matrix"}


def _reassign(thing: Thing) -> tuple[str, Body]:
    body = {"unit": UNIT_OF[str(thing.region)], "reason": "matrix"}
    return f"/api/v1/tasks/{thing.key}/reassign", body


def _draft(thing: Thing) -> tuple[str, Body]:
    return "/api/v1/cap/alerts", {"warning_id": thing.key, "reason": "matrix"}


def _push(thing: Thing) -> tuple[str, Body]:
    return "/api/v1/cap/imports", incoming_cap(f"matrix-push-{next(_serial)}", str(thing.region))


def _validate(_: Thing) -> tuple[str, Body]:
    return "/api/v1/cap/validate", incoming_cap("matrix-validate", "D11")


def _report_action(thing: Thing) -> tuple[str, Body]:
    return f"/api/v1/reports/{thing.key}/actions", {"action": "acknowledge"}


def _cluster_attach(thing: Thing) -> tuple[str, Body]:
    """A report alone is its own cluster; the incident does not exist, so a principal the
    policy lets through gets 404 for the incident, one it does not 403 before any look-up."""
    return f"/api/v1/reports/clusters/{thing.key}/incident", {"incident": "no-such-incident"}


def _feed(_: Thing) -> tuple[str, Body]:
    return "/api/v1/exposure/advisories?feed=kev", kev()


def _inventory(thing: Thing) -> tuple[str, Body]:
    return "/api/v1/exposure/inventory", f"asset,software\n{thing.key},{ASSETS[thing.key][1]}\n"


def _patch(thing: Thing) -> tuple[str, Body]:
    return "/api/v1/exposure/patches", {"asset": thing.key, "advisory": ASSETS[thing.key][2]}


def _security_alert(thing: Thing) -> tuple[str, Body]:
    n = next(_serial)
    host = f"{thing.key.lower()}.matrix.test"
    line = f"CEF:0|Matrix|IDS|1.0|sig{n}|matrix alert {n}|5|dvchost={host} rt=1767225630000\n"
    return "/api/v1/security-alerts?format=cef", line


def _known_exploited(body: Any) -> list[tuple[Any, tuple[str, str]]]:
    return [((x["asset"], x["advisory"]), (_region_of_asset(x["asset"]), CYBER)) for x in body]


def _exposure_regions(body: Any) -> list[tuple[Any, tuple[str, str]]]:
    return [(x["region"], (x["region"], CYBER)) for x in body]


def _scorecard(body: Any) -> list[tuple[Any, tuple[str, str]]]:
    return [((x["unit"], x["domain"]), (UNIT_REGION[x["unit"]], x["domain"])) for x in body["rows"]]


PERIOD = {"start": "2025-12-31T00:00:00Z", "end": "2026-01-02T00:00:00Z"}
ALERT = "/api/v1/cap/alerts/{identifier}"
INCIDENT = "/api/v1/incidents/{incident_id}"
CAP_XML = "application/cap+xml"

# the steps of a public alert, in the order a principal tries them, and the permission of each
STEPS = {
    "submit": "draft",
    "approve": "publish",
    "publish": "publish",
    "edit": "draft",
    "reject": "publish",
    "withdraw": "draft",
}
ROWS: dict[tuple[str, str], Entry] = {
    # public alerts: the public side
    ("GET", "/cap/"): Public(),
    ("GET", "/cap/feed.atom"): Public(),
    ("GET", "/cap/offline.js"): Public(),
    ("GET", "/cap/{identifier}.xml"): Public(),
    # public alerts: drafting and approval (in the order a principal tries them)
    ("GET", "/api/v1/cap/alerts"): Listing("public_alert", key="identifier"),
    ("GET", ALERT): Item("public_alert", "/api/v1/cap/alerts/"),
    ("GET", ALERT + "/history"): Item("public_alert", "/api/v1/cap/alerts/", "/history"),
    ("GET", ALERT + "/preview"): Item("public_alert", "/api/v1/cap/alerts/", "/preview"),
    ("POST", "/api/v1/cap/alerts"): Write("warning", "draft", _draft, frozenset({201, 409})),
    **{
        ("POST", f"{ALERT}/{step}"): Write(
            "public_alert", permission, _reason(f"/api/v1/cap/alerts/{{key}}/{step}"), OK
        )
        for step, permission in STEPS.items()
    },
    # other agencies' alerts
    ("GET", "/api/v1/cap/imports"): Listing("cap_import", key="identifier"),
    ("POST", "/api/v1/cap/imports"): Write(
        "cap_import", "ingest", _push, frozenset({200}), media=CAP_XML
    ),
    ("POST", "/api/v1/cap/validate"): Write(
        "deployment", "read", _validate, frozenset({200}), media=CAP_XML, placed=False
    ),
    # the response: incidents, plans, tasks, situation reports, the scorecard
    ("GET", "/api/v1/incidents"): Listing("incident"),
    ("GET", "/api/v1/incidents/linked/{kind}/{ref}"): Listing(
        "incident", url=f"/api/v1/incidents/linked/event/{SHARED_EVENT}"
    ),
    ("GET", INCIDENT): Item("incident", "/api/v1/incidents/"),
    ("GET", INCIDENT + "/situation"): Item("incident", "/api/v1/incidents/", "/situation"),
    ("GET", INCIDENT + "/situation-reports"): Item(
        "incident", "/api/v1/incidents/", "/situation-reports"
    ),
    ("GET", "/api/v1/situation-reports/{report_id}"): Item("sitrep", "/api/v1/situation-reports/"),
    ("GET", "/api/v1/regions/{region}/situation"): Item("region", "/api/v1/regions/", "/situation"),
    ("GET", "/api/v1/plans"): Listing("plan"),
    ("GET", "/api/v1/scorecard"): Filtered(_scorecard, PERIOD),
    ("POST", "/api/v1/incidents"): Write("place", "command", _incident, frozenset({201})),
    ("POST", INCIDENT + "/activate"): Write("incident", "command", _activate, OK),
    ("POST", INCIDENT + "/links"): Write("incident", "command", _link, OK),
    ("POST", INCIDENT + "/lead"): Write("incident", "command", _lead, OK),
    ("POST", INCIDENT + "/situation-reports"): Write(
        "incident",
        "command",
        _reason("/api/v1/incidents/{key}/situation-reports"),
        frozenset({201}),
    ),
    ("POST", INCIDENT + "/split"): Write("incident", "command", _split, frozenset({201, 409})),
    ("POST", INCIDENT + "/merge"): Write("incident", "command", _merge, frozenset({409, 422})),
    ("POST", INCIDENT + "/stand-down"): Write(
        "incident", "command", _reason("/api/v1/incidents/{key}/stand-down"), OK
    ),
    ("POST", INCIDENT + "/close"): Write(
        "incident", "command", _reason("/api/v1/incidents/{key}/close"), OK
    ),
    ("GET", "/api/v1/tasks"): Listing("task"),
    ("GET", "/api/v1/tasks/{task_id}"): Item("task", "/api/v1/tasks/"),
    ("POST", "/api/v1/tasks/{task_id}/{action}"): Write(
        "task", "respond", _reason("/api/v1/tasks/{key}/accept"), OK
    ),
    ("POST", "/api/v1/tasks/{task_id}/reassign"): Write(
        "task", "command", _reassign, frozenset({200, 409, 422})
    ),
    # public reports: the public side, then the handling unit's
    ("GET", "/report"): Public(),
    ("GET", "/report/unsubscribe"): Public(),
    ("POST", "/report/unsubscribe"): Public(),
    ("GET", "/api/v1/public/regions.geojson"): Public(),
    ("GET", "/api/v1/public/reports/{report_id}"): Public(),
    ("GET", "/open311/v2/discovery.{fmt}"): Public(),
    ("GET", "/open311/v2/services.{fmt}"): Public(),
    ("GET", "/open311/v2/services/{service_code}.{fmt}"): Public(),
    ("GET", "/open311/v2/requests.{fmt}"): Public(),
    ("POST", "/open311/v2/requests.{fmt}"): Public(),
    ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"): Public(),
    ("GET", "/open311/v2/tokens/{token}.{fmt}"): Public(),
    ("GET", "/open311/v2/media/{service_request_id}"): Public(),
    ("GET", "/api/v1/reports"): Listing("report", permission="acknowledge", unit_only=True),
    ("GET", "/api/v1/reports/{report_id}"): Item(
        "report", "/api/v1/reports/", permission="acknowledge"
    ),
    ("POST", "/api/v1/reports/{report_id}/actions"): Write(
        "report", "acknowledge", _report_action, OK
    ),
    ("POST", "/api/v1/reports/clusters/{cluster}/incident"): Write(
        "report", "acknowledge", _cluster_attach, frozenset({404})
    ),
    # cyber exposure: placed at the asset's region, in the cyber domain
    ("GET", "/api/v1/exposure/assets"): Listing("asset", key="asset"),
    ("GET", "/api/v1/exposure/known-exploited"): Filtered(_known_exploited),
    ("GET", "/api/v1/exposure/regions"): Filtered(_exposure_regions),
    ("GET", "/api/v1/web/exposure/{asset}"): Item("asset", "/api/v1/web/exposure/"),
    ("POST", "/api/v1/exposure/advisories"): Write(
        "deployment", "ingest", _feed, frozenset({200}), national=True
    ),
    ("POST", "/api/v1/exposure/inventory"): Write(
        "asset", "configure", _inventory, frozenset({200}), media="text/csv"
    ),
    ("POST", "/api/v1/exposure/patches"): Write("asset", "configure", _patch, frozenset({200})),
    ("POST", "/api/v1/security-alerts"): Write(
        "asset", "ingest", _security_alert, frozenset({202}), media="text/plain"
    ),
}
