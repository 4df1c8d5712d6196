"""Exposure and security alerts over HTTP: imports validated whole, reads, roles."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Api, assert_problem, serve_api, table_counts
from tocsin.core.users import Role
from tocsin.testing.scenario import exposure_config

FIXTURES = Path(__file__).parent.parent / "fixtures" / "exposure"
OLD_MATCH = {"vulnerable": True, "criteria": "cpe:/a:x:y"}  # CPE 2.2 URI, not 2.3
OLD_CPE = {
    "cve": {"id": "CVE-2099-0100", "configurations": [{"nodes": [{"cpeMatch": [OLD_MATCH]}]}]}
}
PYPI_A = {"ecosystem": "PyPI", "name": "a"}
WEIRD = {"type": "WEIRD", "events": [{"introduced": "0"}]}


@pytest.fixture
def api(db_url: str, tmp_path: Path) -> Iterator[Api]:
    now = datetime(2026, 3, 1, 10, 5, tzinfo=UTC)  # the fixtures' alerts are of 10:00
    with serve_api(db_url, tmp_path, docs=exposure_config(), now=now) as served:
        yield served


def post_feed(api: Api, feed: str, body: bytes | str | None = None) -> Any:
    data = body if body is not None else (FIXTURES / f"{feed}.json").read_bytes()
    return api.client.post(
        f"/api/v1/exposure/advisories?feed={feed}",
        content=data,
        headers={**api.headers, "Content-Type": "application/json"},
    )


def test_feeds_in_known_exploited_out_sorted_by_due_date(api: Api) -> None:
    for feed in ("nvd", "kev", "osv"):
        response = post_feed(api, feed)
        assert response.status_code == 200, response.text
    listed = api.client.get("/api/v1/exposure/known-exploited", headers=api.headers).json()
    assert [(e["advisory"], e["asset"], e["due_on"]) for e in listed] == [
        ("CVE-2021-41773", "SUB", "2021-11-17"),
        ("CVE-2099-0001", "SUB", "2026-03-13"),
    ]
    assets = api.client.get("/api/v1/exposure/assets", headers=api.headers).json()
    sub = next(a for a in assets if a["asset"] == "SUB")
    assert sub["consequences"] == {
        "fails_with_it": ["HSP", "WTR"],
        "degraded": [],
        "regions_at_risk": ["D11", "D12"],
    }
    assert {e["advisory"]: e["level"] for e in sub["exposures"]} == {
        "CVE-2021-41773": "red",
        "CVE-2099-0001": "red",
    }


def test_a_patch_lifts_and_leaves_the_known_exploited_list(api: Api) -> None:
    post_feed(api, "nvd")
    post_feed(api, "kev")
    analyst = api.token_for("ana", Role.ANALYST)
    body = {"asset": "SUB", "advisory": "CVE-2021-41773", "note": "upgraded to 2.4.51"}
    done = api.client.post("/api/v1/exposure/patches", json=body, headers=analyst)
    assert done.json() == {"stored": 1, "warnings_changed": 1}
    listed = api.client.get("/api/v1/exposure/known-exploited", headers=api.headers).json()
    assert [e["advisory"] for e in listed] == ["CVE-2099-0001"]
    # a duty officer may not change the inventory or record patches
    refused = api.client.post("/api/v1/exposure/patches", json=body, headers=api.headers)
    assert_problem(refused, 403)
    missing = {**body, "advisory": "CVE-1999-0001"}
    assert_problem(api.client.post("/api/v1/exposure/patches", json=missing, headers=analyst), 404)


@pytest.mark.parametrize(
    ("feed", "body", "expected"),
    [
        ("nvd", b"{not json", ("nvd feed", "", "not JSON")),
        (
            "nvd",
            b'{"format": "NVD_CVE", "version": "1.0", "vulnerabilities": []}',
            ("nvd feed", "version", "2.0"),
        ),
        (
            "nvd",
            json.dumps({"format": "NVD_CVE", "version": "2.0", "vulnerabilities": [OLD_CPE]}),
            (
                "nvd feed",
                "vulnerabilities[0].cve.configurations[0].nodes[0].cpeMatch[0].criteria",
                "cpe:2.3:",
            ),
        ),
        (
            "kev",
            b'{"catalogVersion": "1", "vulnerabilities": '
            b'[{"cveID": "CVE-2099-0101", "dueDate": "soon"}]}',
            ("kev feed", "vulnerabilities[0].dueDate", "date"),
        ),
        (
            "osv",
            json.dumps([{"id": "X", "affected": [{"package": PYPI_A, "ranges": [WEIRD]}]}]),
            ("osv feed", "[0] (X).affected[0].ranges[0].type", "SEMVER"),
        ),
        ("kev", b'{"catalogVersion": "1", "vulnerabilities": []}', ("kev", "", "no advisory")),
    ],
)
def test_a_bad_feed_is_rejected_whole_saying_where(
    api: Api, feed: str, body: bytes | str, expected: tuple[str, str, str]
) -> None:
    before = table_counts(api.container)
    assert_problem(post_feed(api, feed, body), 422, [expected])
    assert table_counts(api.container) == before


def test_an_inventory_import_needs_known_assets_and_valid_names(api: Api) -> None:
    analyst = api.token_for("ana", Role.ANALYST)
    headers = {**analyst, "Content-Type": "text/csv"}
    url = "/api/v1/exposure/inventory"
    before = table_counts(api.container)
    bad = "asset,software\nHSP,pkg:pypi/ok@1\nMARS,pkg:pypi/x@1\n"
    assert_problem(
        api.client.post(url, content=bad, headers=headers),
        422,
        [("inventory:3", "asset", "unknown asset 'MARS'")],
    )
    assert_problem(api.client.post(url, content=b"\xff\xfe", headers=headers), 422)
    assert table_counts(api.container) == before
    good = "asset,software\nHSP,cpe:2.3:a:example_vendor:scada_hmi:3.4:*:*:*:*:*:*:*\n"
    assert api.client.post(url, content=good, headers=headers).json() == {
        "stored": 1,
        "warnings_changed": 0,  # no advisory imported yet
    }
    post_feed(api, "nvd")
    assets = api.client.get("/api/v1/exposure/assets", headers=api.headers).json()
    hsp = next(a for a in assets if a["asset"] == "HSP")
    assert [e["advisory"] for e in hsp["exposures"]] == ["CVE-2099-0001"]


def test_security_alerts_in_each_format(api: Api) -> None:
    url = "/api/v1/security-alerts"
    got = {}
    for fmt, name in (("wazuh", "wazuh.jsonl"), ("suricata", "eve.jsonl"), ("cef", "cef.log")):
        response = api.client.post(
            f"{url}?format={fmt}",
            content=(FIXTURES / name).read_bytes(),
            headers={**api.headers, "Content-Type": "text/plain"},
        )
        assert response.status_code == 202, response.text
        got[fmt] = response.json()
    assert got["wazuh"] == {
        "received": 3,
        "placed": 2,
        "stored": 2,
        "unplaced": 1,
        "observations": 1,
    }
    before = table_counts(api.container)
    rule = {"level": 99, "id": "1", "description": "x"}
    bad = json.dumps({"timestamp": "2026-03-01T10:00:00Z", "rule": rule, "id": "1"}).encode()
    assert_problem(
        api.client.post(f"{url}?format=wazuh", content=bad, headers=api.headers),
        422,
        [("line 1", "rule.level", "0 to 15")],
    )
    assert_problem(api.client.post(f"{url}?format=syslog", content=b"x", headers=api.headers), 422)
    assert table_counts(api.container) == before
