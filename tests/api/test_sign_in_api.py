"""Sign-in for people (password or token into an HttpOnly cookie, CSRF on writes), and API
tokens for machines: named, limited, expiring, listed, revoked, rotated."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.api.conftest import Api, assert_problem, obs, serve_api
from tocsin.core.users import Role

PASSWORD = "correct horse battery staple"


def _person(
    api: Api, name: str = "pia", role: Role = Role.DUTY_OFFICER, unit: str = "P1-CP"
) -> None:
    api.container.admin.add_user(name, role, unit=unit, actor="test")
    api.container.sign_in.set_password(name, PASSWORD, actor="test")


def test_a_password_opens_a_session_whose_cookie_reads_and_whose_csrf_token_writes(
    api: Api,
) -> None:
    _person(api)
    signed = api.anonymous.post("/api/v1/session", json={"user": "pia", "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    cookie = signed.headers["set-cookie"]
    assert "tocsin_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "secure" not in cookie.lower()  # plain HTTP in the test: Secure only over TLS
    who = signed.json()
    assert (who["user"], who["unit"], who["via"]) == ("pia", "P1-CP", "session")
    assert who["scope"].startswith("region P1 and below")
    assert api.anonymous.get("/api/v1/warnings").status_code == 200  # the cookie reads
    body = {"observations": [obs("D11.river_level", 0, 1.0)]}
    refused = api.anonymous.post("/api/v1/observations", json=body)
    assert_problem(refused, 403, [("headers", "x-csrf-token", "X-CSRF-Token")])
    forged = api.anonymous.post("/api/v1/observations", json=body, headers={"X-CSRF-Token": "x"})
    assert forged.status_code == 403
    csrf = {"X-CSRF-Token": who["csrf"]}
    assert api.anonymous.post("/api/v1/observations", json=body, headers=csrf).status_code == 202
    out = api.anonymous.delete("/api/v1/session", headers=csrf)
    assert out.json() == {"user": "pia", "ended": True}
    api.anonymous.cookies.clear()
    assert api.anonymous.get("/api/v1/warnings").status_code == 401


def test_the_cookie_is_secure_over_tls_directly_or_behind_a_proxy(api: Api) -> None:
    _person(api)
    person = {"user": "pia", "password": PASSWORD}
    direct = api.anonymous.post("https://testserver/api/v1/session", json=person)
    assert direct.status_code == 200, direct.text
    proxied = api.anonymous.post(
        "/api/v1/session", json=person, headers={"X-Forwarded-Proto": "https"}
    )
    for signed in (direct, proxied):
        flags = [f.strip().lower() for f in signed.headers["set-cookie"].split(";")]
        assert "secure" in flags
        assert "httponly" in flags


def test_a_wrong_password_or_user_says_the_same_and_signs_nobody_in(api: Api) -> None:
    _person(api)
    for body in (
        {"user": "pia", "password": "wrong password!"},
        {"user": "nobody", "password": PASSWORD},
    ):
        refused = api.anonymous.post("/api/v1/session", json=body)
        assert_problem(refused, 401, [])
        assert refused.json()["detail"] == "the user name or password is not right"
        assert "set-cookie" not in refused.headers
    assert_problem(api.anonymous.post("/api/v1/session", json={"user": "pia"}), 422)


def test_a_session_opened_with_a_token_ends_with_the_token(api: Api) -> None:
    token = api.headers["Authorization"].removeprefix("Bearer ")
    signed = api.anonymous.post("/api/v1/session", json={"token": token})
    assert signed.status_code == 200
    assert api.anonymous.get("/api/v1/warnings").status_code == 200
    (listed,) = api.client.get("/api/v1/tokens").json()
    # a token (or its session) cannot mint or renew tokens
    csrf = {"X-CSRF-Token": signed.json()["csrf"]}
    minted = api.anonymous.post("/api/v1/tokens", json={"name": "more"}, headers=csrf)
    assert_problem(minted, 403, [])
    revoked = api.anonymous.post(f"/api/v1/tokens/{listed['id']}/revoke", headers=csrf)
    assert revoked.json()["state"] == "revoked"
    assert api.anonymous.get("/api/v1/warnings").status_code == 401
    assert api.client.get("/api/v1/warnings").status_code == 401


def test_tokens_are_named_limited_expiring_listed_rotated_and_revoked(api: Api) -> None:
    _person(api)
    signed = api.anonymous.post("/api/v1/session", json={"user": "pia", "password": PASSWORD})
    csrf = {"X-CSRF-Token": signed.json()["csrf"]}
    wanted = {
        "name": "gauge feeder",
        "permissions": ["read", "ingest"],
        "regions": ["D11"],
        "expires_in_days": 1,
    }
    issued = api.anonymous.post("/api/v1/tokens", json=wanted, headers=csrf)
    assert issued.status_code == 201, issued.text
    made = issued.json()
    assert (made["name"], made["permissions"], made["regions"]) == (
        "gauge feeder",
        ["ingest", "read"],
        ["D11"],
    )
    feeder = {"Authorization": f"Bearer {made['secret']}"}
    inside = {"observations": [obs("D11.river_level", 0, 1.0)]}
    outside = {"observations": [obs("D12.river_level", 0, 1.0)]}  # in P1, not in D11
    assert (
        api.anonymous.post("/api/v1/observations", json=inside, headers=feeder).status_code == 202
    )
    refused = api.anonymous.post("/api/v1/observations", json=outside, headers=feeder)
    assert_problem(refused, 403, [])
    assert "D12.river_level" in refused.json()["detail"]
    silence = {"region": "D11", "ends_at": "2030-01-01T00:00:00Z", "reason": "r"}
    assert_problem(api.anonymous.post("/api/v1/silences", json=silence, headers=feeder), 403)
    # more than the user may, or outside the user's scope: refused whole
    too_much = {"name": "x", "permissions": ["configure"], "regions": ["P2"]}
    bad = api.anonymous.post("/api/v1/tokens", json=too_much, headers=csrf)
    reasons = [p["reason"] for p in assert_problem(bad, 422)["problems"]]
    assert any("may not configure" in r for r in reasons)
    assert any("P2 is outside the scope of pia" in r for r in reasons)
    rotated = api.anonymous.post(f"/api/v1/tokens/{made['id']}/rotate", headers=csrf).json()
    assert rotated["name"] == "gauge feeder"
    assert rotated["id"] != made["id"]
    assert (
        api.anonymous.post("/api/v1/observations", json=inside, headers=feeder).status_code == 401
    )
    fresh = {"Authorization": f"Bearer {rotated['secret']}"}
    assert api.anonymous.post("/api/v1/observations", json=inside, headers=fresh).status_code == 202
    states = {k["id"]: k["state"] for k in api.anonymous.get("/api/v1/tokens").json()}
    assert states == {made["id"]: "revoked", rotated["id"]: "valid"}
    api.clock.advance(timedelta(days=1, seconds=1))
    assert api.anonymous.post("/api/v1/observations", json=inside, headers=fresh).status_code == 401
    assert "secret" not in api.client.get("/api/v1/users/pia/tokens").text


def test_adding_a_user_again_revokes_its_old_tokens_unless_kept(api: Api) -> None:
    first = api.token_for("uma", Role.UNIT_MEMBER, unit="P1-CP")
    assert api.client.get("/api/v1/warnings", headers=first).status_code == 200
    kept = api.token_for("uma", Role.UNIT_MEMBER, unit="P1-CP")
    assert api.client.get("/api/v1/warnings", headers=first).status_code == 401
    api.container.admin.add_user("uma", Role.ANALYST, unit="P1-CP", actor="t", keep_tokens=True)
    assert api.client.get("/api/v1/warnings", headers=kept).status_code == 200
    users = {
        u["name"]: u
        for u in api.client.get(
            "/api/v1/users", headers=api.token_for("root", Role.ADMIN, None)
        ).json()
    }
    assert users["uma"] == {"name": "uma", "role": "analyst", "unit": "P1-CP", "tokens": 1}


def test_sign_in_attempts_are_rate_limited_with_retry_after(
    sqlite_url: str, tmp_path: Path
) -> None:
    with serve_api(sqlite_url, tmp_path, sign_in_per_minute=1.0) as api:
        bad = {"user": "x", "password": "y" * 12}
        statuses = [api.anonymous.post("/api/v1/session", json=bad).status_code for _ in range(7)]
        assert statuses[:5] == [401] * 5  # the burst
        limited = api.anonymous.post("/api/v1/session", json=bad)
        assert_problem(limited, 429, [])
        assert int(limited.headers["Retry-After"]) >= 1


def _event(n: int) -> dict[str, object]:
    event = {
        "source": "desk",
        "external_id": f"e{n}",
        "occurred_at": "2026-01-01T00:00:00Z",
        "region": "D11",
        "domain": "natural.flood",
        "severity": "blue",
        "title": f"report {n}",
    }
    return {"events": [event]}


def test_writes_are_rate_limited_per_principal(sqlite_url: str, tmp_path: Path) -> None:
    with serve_api(sqlite_url, tmp_path, writes_per_minute=1.0) as api:
        codes = [api.client.post("/api/v1/events", json=_event(n)).status_code for n in range(61)]
        assert codes[:60] == [202] * 60
        limited = api.client.post("/api/v1/events", json=_event(61))
        assert_problem(limited, 429, [])
        assert int(limited.headers["Retry-After"]) >= 1
        other = api.token_for("ana", Role.ANALYST)
        assert api.client.post("/api/v1/events", json=_event(62), headers=other).status_code == 202
        # observation writes are paced by the ingest gate (writes at once, the commit queue)
        body = {"observations": [obs("D11.river_level", 0, 1.0)]}
        assert api.client.post("/api/v1/observations", json=body).status_code == 202
        # so are Prometheus's alert posts (each waits for its commit): a storm is not refused
        alert = {"labels": {"alertname": "x", "region": "D11", "domain": "natural.flood"}}
        posts = [api.client.post("/api/v2/alerts", json=[alert]) for _ in range(5)]
        assert [p.status_code for p in posts] == [200] * 5, posts[-1].text
        assert api.client.post("/api/v1/events", json=_event(63)).status_code == 429
