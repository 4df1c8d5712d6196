"""One authentication guard: every request but the declared public ones needs a credential
(401 with `WWW-Authenticate: Bearer` without one), a principal that may not is 403, and a
deployment may open its reads on purpose."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import Api, assert_problem, obs, serve_api, table_counts
from tocsin.core.users import Role

WRITES = [
    ("/api/v1/observations", {"observations": [obs("D11.river_level", 0, 1.0)]}),
    ("/api/v1/events", {"events": []}),
    ("/api/v1/silences", {}),
    ("/api/v1/silences/abc/expire", {}),
    ("/api/v1/warnings/abc/acknowledge", {}),
    ("/api/v2/alerts", []),
]
BAD_HEADERS = [
    ({}, "a bearer token is required"),
    ({"Authorization": "Bearer nope"}, "the bearer token is not valid"),
    ({"Authorization": "Bearer "}, "a bearer token is required"),
    ({"Authorization": "Basic ZHV0eTpkdXR5"}, "a bearer token is required"),
    ({"Authorization": "nope"}, "a bearer token is required"),
]
READS = [
    "/api/v1/warnings",
    "/api/v1/warnings/abc",
    "/api/v1/regions",
    "/api/v1/levels",
    "/api/v1/silences",
    "/api/v1/notifications",
    "/api/v1/indicators/D11.river_level/observations",
    "/metrics",
]


@pytest.mark.parametrize(("url", "body"), WRITES)
@pytest.mark.parametrize(("headers", "detail"), BAD_HEADERS)
def test_every_write_without_a_valid_token_is_401_with_a_bearer_challenge(
    api: Api, url: str, body: object, headers: dict[str, str], detail: str
) -> None:
    before = table_counts(api.container)
    response = api.anonymous.post(url, json=body, headers=headers)
    assert_problem(response, 401, [])
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert detail in response.json()["detail"]
    assert table_counts(api.container) == before


def test_the_scheme_name_is_case_insensitive(api: Api) -> None:
    token = api.headers["Authorization"].removeprefix("Bearer ")
    body = {"observations": [obs("D11.river_level", 0, 1.0)]}
    headers = {"Authorization": f"bearer {token}"}
    assert api.anonymous.post("/api/v1/observations", json=body, headers=headers).status_code == 202


def test_a_role_that_may_not_write_is_403_and_nothing_is_stored(api: Api) -> None:
    member = api.token_for("uma", Role.UNIT_MEMBER)
    before = table_counts(api.container)
    body = {"observations": [obs("D11.river_level", 0, 9.0)]}
    response = api.client.post("/api/v1/observations", json=body, headers=member)
    assert_problem(response, 403, [])
    assert response.json()["detail"] == "role unit_member may not ingest"
    assert "WWW-Authenticate" not in response.headers
    assert table_counts(api.container) == before


def test_reads_are_private_by_default_and_every_read_says_401(api: Api) -> None:
    for url in READS:
        for headers, detail in BAD_HEADERS:
            response = api.anonymous.get(url, headers=headers)
            assert_problem(response, 401, [])
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert detail in response.json()["detail"]
    assert api.client.get("/api/v1/warnings").status_code == 200
    member = api.token_for("uma", Role.UNIT_MEMBER)
    assert api.anonymous.get("/api/v1/regions", headers=member).status_code == 200
    # liveness stays public; the Prometheus scrape needs a token like every read
    assert api.anonymous.get("/healthz").status_code == 200
    assert api.client.get("/metrics").status_code == 200


def test_a_deployment_that_opens_its_reads_reads_anonymously_but_never_writes(
    sqlite_url: str, tmp_path: Path
) -> None:
    with serve_api(sqlite_url, tmp_path, open_reads=True) as api:
        for url in READS:
            assert api.anonymous.get(url).status_code in {200, 404}, url
        # a credential that is presented must still be valid
        stale = {"Authorization": "Bearer revoked"}
        assert_problem(api.anonymous.get("/api/v1/regions", headers=stale), 401, [])
        body = {"observations": [obs("D11.river_level", 0, 1.0)]}
        assert_problem(api.anonymous.post("/api/v1/observations", json=body), 401, [])


def test_the_whole_deployments_source_counts_are_for_national_principals(api: Api) -> None:
    province = api.token_for("pia", Role.DUTY_OFFICER, unit="P1-CP")
    assert "tocsin_source_samples_total" in api.client.get("/metrics").text
    scoped = api.client.get("/metrics", headers=province)
    assert scoped.status_code == 200
    assert "tocsin_open_warnings" in scoped.text or scoped.text.startswith("# HELP")
    assert "tocsin_source_samples_total" not in scoped.text
    assert api.client.get("/api/v1/sources").status_code == 200
    refused = api.client.get("/api/v1/sources", headers=province)
    assert refused.status_code == 403
    assert "outside the scope of pia" in refused.json()["detail"]
