"""The matrix world's later concepts, each with real objects in two provinces so that a leak
can show: incidents (plans activated, tasks to units, situation reports), public alerts
drafted from warnings and imported from another agency, public reports routed to three units,
and assets with software matched by a small vulnerability feed (one advisory per asset, so the
advisory's id marks the asset's exposure)."""

from __future__ import annotations

import json
from typing import Any

from tocsin.adapters.vulnerability_feeds import parse_feed
from tocsin.bootstrap import Container
from tocsin.core.access import Principal
from tocsin.core.exposure.advisories import Feed
from tocsin.core.incidents.model import Link, LinkKind
from tocsin.core.levels import Level
from tocsin.core.reports import Point
from tocsin.services.incident_scope import task_place
from tocsin.services.incidents import incident_place
from tocsin.services.publication import Choices
from tocsin.services.reports import Submission
from tocsin.testing.scenario import small_cap_config, small_plans

# asset: (region, the product it runs, the advisory matching it)
ASSETS = {
    "SUB": ("D11", "cpe:2.3:a:matrix:scada_hmi:3.9:*:*:*:*:*:*:*", "CVE-2026-11001"),
    "HSP": ("D12", "cpe:2.3:a:matrix:historian:1.0:*:*:*:*:*:*:*", "CVE-2026-12001"),
    "PMP": ("D21", "cpe:2.3:a:matrix:pump_panel:2.0:*:*:*:*:*:*:*", "CVE-2026-21001"),
}
# service, point, the unit it is routed to, its domain, its attributes
REPORTS: tuple[tuple[str, Point, str, str, dict[str, list[str]]], ...] = (
    ("dyke_damage", Point(45.5, 10.5), "D11-FLOOD", "natural.flood", {}),
    ("gas_smell", Point(45.5, 11.5), "P1-CP", "supply.energy", {"strength": ["strong"]}),
    ("water_quality", Point(45.5, 12.5), "P2-CP", "supply.water", {}),
)
SHARED_EVENT = "matrix-shared-event"  # every incident links it: the linked listing's ref


def configure(docs: dict[str, Any]) -> None:
    """Plans in P1 (flood) and P2 (water), CAP texts, software on assets in D11, D12, D21."""
    plans = small_plans()
    water = {
        "id": "water",
        "name": "Matrix water supply response",
        "domain": "supply.water",
        "region": "P2",
        "lead": {"level": "province"},
        "levels": [
            {
                "level": "yellow",
                "response": "IV",
                "tasks": [
                    {
                        "id": "tankers",
                        "title": "Send water tankers",
                        "unit": {"level": "province"},
                        "acknowledge_within_s": 600,
                        "complete_within_s": 7200,
                    }
                ],
            }
        ],
    }
    plans["plans"][0]["name"] = "Matrix flood response"
    plans["plans"].append(water)
    docs["plans.yaml"] = plans
    docs["cap.yaml"] = small_cap_config()
    assets = docs["assets.yaml"]["assets"]
    assets.append(
        {"code": "PMP", "name": "Pumping station", "kind": "pump", "region": "D21"}
        | {"domain": "supply.water"}
    )
    for asset in assets:
        found = ASSETS.get(asset["code"])
        asset["software"] = [found[1]] if found else []
        asset["addresses"] = [f"{asset['code'].lower()}.matrix.test"]


def feed() -> str:
    """An NVD CVE JSON 2.0 document with one advisory per asset of ASSETS."""
    records = [
        {
            "cve": {
                "id": advisory,
                "published": "2026-01-01T00:00:00.000",
                "lastModified": "2026-01-01T00:00:00.000",
                "descriptions": [{"lang": "en", "value": f"matrix advisory on {code}"}],
                "metrics": {"cvssMetricV31": [_cvss()]},
                "configurations": [{"nodes": [{"operator": "OR", "cpeMatch": [_match(software)]}]}],
            }
        }
        for code, (_, software, advisory) in ASSETS.items()
    ]
    return json.dumps({"format": "NVD_CVE", "version": "2.0", "vulnerabilities": records})


def _cvss() -> dict[str, Any]:
    vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    data = {"version": "3.1", "vectorString": vector, "baseScore": 9.8, "baseSeverity": "CRITICAL"}
    return {"source": "nvd@nist.gov", "type": "Primary", "cvssData": data}


def _match(software: str) -> dict[str, Any]:
    return {"vulnerable": True, "criteria": software}


def kev() -> str:
    """The known-exploited catalogue (CISA KEV JSON) listing the matrix's advisories."""
    records = [
        {
            "cveID": advisory,
            "vendorProject": "Matrix",
            "product": code,
            "vulnerabilityName": f"matrix {code}",
            "dateAdded": "2026-01-01",
            "shortDescription": "matrix",
            "requiredAction": "patch",
            "dueDate": "2026-01-15",
        }
        for code, (_, _, advisory) in ASSETS.items()
    ]
    return json.dumps({"title": "KEV", "catalogVersion": "1", "vulnerabilities": records})


def incoming_cap(identifier: str, region: str) -> bytes:
    """A CAP 1.2 alert of another agency naming one of our regions by geocode."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>neighbour@agency.example</sender>
  <sent>2026-01-01T00:00:00+00:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Met</category>
    <event>Flood</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <expires>2026-01-03T00:00:00+00:00</expires>
    <headline>{identifier} headline</headline>
    <area>
      <areaDesc>{region}</areaDesc>
      <geocode><valueName>TOCSIN</valueName><value>{region}</value></geocode>
    </area>
  </info>
</alert>
""".encode()


def seed(container: Container, system: Principal, thing: Any) -> list[Any]:
    """Create the objects as the system and return them as the matrix's things (`thing`
    builds one: kind, key, region, domain, markers, unit)."""
    return [
        *_response(container, system, thing),
        *_public_alerts(container, system, thing),
        *_reports(container, thing),
        *_exposure(container, system, thing),
    ]


def _response(container: Container, system: Principal, thing: Any) -> list[Any]:
    response = container.response
    warnings = {str(w.domain): w for w in container.warnings.find(principal=system)}
    out = []
    for region, domain, plan, level in (
        ("D11", "natural.flood", "flood", Level.ORANGE),
        ("D21", "supply.water", "water", Level.YELLOW),
    ):
        title = f"matrix incident {region} secret"
        links = [Link(LinkKind.EVENT, SHARED_EVENT), Link(LinkKind.WARNING, warnings[domain].id)]
        x = response.incidents.open(
            principal=system, title=title, region=region, domain=domain, reason="m", links=links
        )
        response.incidents.activate(x.id, principal=system, plan_id=plan, level=level, reason="m")
        report = response.situation.issue("incident", x.id, principal=system, reason="matrix")
        place = incident_place(x)
        out += [
            thing("incident", x.id, place.region, place.domain, (x.id, title)),
            thing(
                "sitrep",
                report.id,
                place.region,
                place.domain,
                (),  # its id is named on the incident's timeline; what it holds is marked
                holds=tuple(
                    (x["region"], x["domain"])
                    for k in ("warnings", "tasks")
                    for x in report.facts[k]
                ),
            ),
        ]
        for t in response.incidents.tasks(x.id, principal=system):
            where = task_place(t)
            out.append(thing("task", t.id, where.region, where.domain, (t.id, t.title)))
    for p in response.incidents.plans(principal=system):
        out.append(thing("plan", p.id, p.region, p.domain))  # it runs incidents below it
    return out


def _public_alerts(container: Container, system: Principal, thing: Any) -> list[Any]:
    out = []
    for w in container.warnings.find(principal=system):
        if w.region in {"D11", "D21"} and w.domain in {"natural.flood", "supply.water"}:
            alert = container.cap.alerts.draft_from_warning(
                w.id, principal=system, choices=Choices(), reason="m"
            )
            key = alert.identifier
            out.append(thing("public_alert", key, w.region, w.domain, (key,)))
            _link_elsewhere(container, system, Link(LinkKind.PUBLIC_ALERT, key), str(w.region))
    for region in ("D11", "D21"):
        ident = f"matrix-import-{region}"
        container.cap.imports.push(incoming_cap(ident, region), principal=system)
    for record in container.cap.imports.find(principal=system, limit=100, live_only=False):
        (region,) = record.regions
        out.append(
            thing("cap_import", record.identifier, region, record.domain, (record.headline,))
        )
    return out


def _link_elsewhere(container: Container, system: Principal, link: Link, region: str) -> None:
    """Link the public alert to the incidents of the other province: their readers must not
    learn its id from them (an incident may link things outside its reader's scope)."""
    for x in container.response.incidents.find(principal=system):
        if x.region != region:
            container.response.incidents.link(x.id, principal=system, links=[link], reason="m")


def _reports(container: Container, thing: Any) -> list[Any]:
    out = []
    for i, (service, point, unit, domain, attributes) in enumerate(REPORTS):
        contact = f"matrix-reporter-{i}@example.test"
        sent = Submission(
            service=service,
            point=point,
            client="matrix",
            address_range=f"198.51.100.{i}/32",
            description=f"matrix report {i}",
            attributes=attributes,
            contact=contact,
        )
        report = container.reports.submit(sent)
        assert report.unit == unit, (service, report.unit)
        out.append(thing("report", report.id, report.region, domain, (contact,), unit))
    return out


def _exposure(container: Container, system: Principal, thing: Any) -> list[Any]:
    for kind, text in ((Feed.NVD, feed()), (Feed.KEV, kev())):
        advisories = parse_feed(kind, text, where="matrix feed")
        container.exposure.import_advisories(advisories, principal=system, where="matrix")
    return [
        thing("asset", code, region, "cyber", (advisory,))
        for code, (region, _, advisory) in ASSETS.items()
    ]
