"""Alertmanager's API v2 reads: GET /api/v2/alerts (open warnings as gettableAlert, with
Alertmanager's filters), GET /api/v2/silences, DELETE /api/v2/silence/{id}; POST
/api/v2/silences is refused with a string saying why. `tests/e2e/test_amtool.py` drives the same
routes with the real amtool."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.conftest import Api, assert_problem, obs
from tocsin.core.users import Role

ZERO = "0001-01-01T00:00:00Z"
FLOOD = {"region": "D11", "domain": "natural.flood"}


def _post(api: Api, *alerts: dict[str, Any]) -> None:
    response = api.client.post("/api/v2/alerts", json=list(alerts), headers=api.headers)
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == []


def _alerts(api: Api, headers: dict[str, str] | None = None, **params: Any) -> list[Any]:
    response = api.client.get("/api/v2/alerts", params=params, headers=headers or api.headers)
    assert response.status_code == 200, response.text
    body: list[Any] = response.json()
    return body


def _names(alerts: list[Any]) -> list[str]:
    return sorted(a["labels"]["alertname"] for a in alerts)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_a_posted_alert_is_listed_as_alertmanager_lists_it(api: Api) -> None:
    now = api.clock.now()
    labels = {"alertname": "GaugeHigh", **FLOOD, "severity": "critical", "station": "G7"}
    _post(
        api,
        {
            "labels": labels,
            "annotations": {"summary": "river above 5 m", "runbook_url": "http://rb/1"},
            "startsAt": _iso(now),
            "endsAt": _iso(now + timedelta(minutes=4)),
            "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
        },
    )
    (alert,) = _alerts(api)
    (warning,) = api.client.get("/api/v1/warnings").json()
    assert alert == {
        "labels": labels,  # as posted, not relabelled
        "annotations": {
            "summary": "river above 5 m",
            "description": "river above 5 m",
            "runbook_url": "http://rb/1",
        },
        "startsAt": warning["first_seen_at"].replace("+00:00", "Z"),
        "endsAt": _iso(now + timedelta(minutes=4)),  # when it is lifted unless posted again
        "updatedAt": warning["last_seen_at"].replace("+00:00", "Z"),
        "fingerprint": warning["fingerprint"],
        "receivers": [{"name": "D11-FLOOD"}],  # the responsible unit of D11's floods
        "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
        "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
    }
    # posted again later without an end: the resolve timeout (5 min) from that post
    api.clock.advance(timedelta(minutes=1))
    _post(api, {"labels": labels})
    (alert,) = _alerts(api)
    assert alert["endsAt"] == _iso(api.clock.now() + timedelta(minutes=5))
    # past its end (before the expiry lifts it) it is not listed, as Alertmanager leaves it out
    api.clock.advance(timedelta(minutes=6))
    assert _alerts(api) == []


def test_other_open_warnings_are_listed_with_the_labels_of_tocsins_notifications(
    api: Api,
) -> None:
    body = {"observations": [obs("D11.river_level", 0, 4.5)]}
    assert api.client.post("/api/v1/observations", json=body).status_code == 202
    (alert,) = _alerts(api)
    (warning,) = api.client.get("/api/v1/warnings").json()
    assert alert["labels"] == {
        "indicator": "D11.river_level",  # the warning's own labels, then the usual ones
        "alertname": "D11.river_level",
        "region": "D11",
        "domain": "natural.flood",
        "level": "orange",
        "severity": "severe",
        "source": warning["source"],
    }
    assert alert["annotations"]["summary"] == "orange warning: D11.river_level in D11"
    assert alert["endsAt"] == ZERO  # no end is known: it holds until it is lifted
    assert alert["generatorURL"] == f"http://testserver/api/v1/warnings/{warning['id']}"
    assert alert["status"]["state"] == "active"
    assert _names(_alerts(api, filter='alertname="D11.river_level"')) == ["D11.river_level"]


def test_filters_are_alertmanagers(api: Api) -> None:
    _post(
        api,
        {"labels": {"alertname": "A", **FLOOD, "team": "river"}},
        {"labels": {"alertname": "B", **FLOOD, "team": 'say "hi"'}},
        {"labels": {"alertname": "C", "region": "D21", "domain": "supply.water"}},
    )
    assert _names(_alerts(api)) == ["A", "B", "C"]
    assert _names(_alerts(api, filter="alertname=A")) == ["A"]  # amtool sends them unquoted
    assert _names(_alerts(api, filter='alertname="A"')) == ["A"]
    assert _names(_alerts(api, filter=r'team="say \"hi\""')) == ["B"]
    assert _names(_alerts(api, filter='alertname=~"A|C"')) == ["A", "C"]
    assert _names(_alerts(api, filter='alertname!="A"')) == ["B", "C"]
    assert _names(_alerts(api, filter="team!~r.*")) == ["B", "C"]  # no label: the empty string
    assert _names(_alerts(api, filter=["region=D11", "team=river"])) == ["A"]  # every one
    assert _names(_alerts(api, filter="team=")) == ["C"]  # an absent label is the empty one
    # receivers: the responsible unit (D11's flood service, P2's civil protection)
    assert _names(_alerts(api, receiver="D11-.*")) == ["A", "B"]
    assert _names(_alerts(api, receiver="P2-CP|nobody")) == ["C"]
    assert _names(_alerts(api, receiver="P2")) == []  # the whole name must match
    assert _names(_alerts(api, receiver="")) == ["A", "B", "C"]  # amtool's "not given"
    # active, silenced, inhibited: nothing is suppressed, so only `active` keeps them
    assert _names(_alerts(api, active="false")) == []
    assert _names(_alerts(api, silenced="false", inhibited="false", unprocessed="false")) == [
        "A",
        "B",
        "C",
    ]


@pytest.mark.parametrize(
    ("params", "said"),
    [
        ({"filter": "alertname"}, "bad matcher format: alertname"),
        ({"filter": 'a="b'}, "matcher value contains unescaped double quote"),
        ({"filter": "a=~(x"}, "bad regular expression in a=~(x"),
        ({"filter": "a=~x\\1"}, "bad regular expression"),
        ({"receiver": "(unit"}, "failed to parse receiver param"),
    ],
)
def test_a_filter_alertmanager_refuses_is_a_400_with_a_string(
    api: Api, params: dict[str, str], said: str
) -> None:
    response = api.client.get("/api/v2/alerts", params=params)
    assert response.status_code == 400
    assert isinstance(response.json(), str)
    assert said in response.json()


def test_silenced_and_inhibited_alerts_are_suppressed_and_filtered(api: Api) -> None:
    _post(
        api,
        {"labels": {"alertname": "Low", **FLOOD, "level": "yellow"}},
        {"labels": {"alertname": "Gauge", "region": "D12", "domain": "natural.flood"}},
    )
    # a red flood warning for P1 inhibits the lower flood warnings of its districts
    _post(api, {"labels": {"alertname": "Province", "region": "P1", "domain": "natural.flood"}})
    assert _names(_alerts(api)) == ["Gauge", "Low", "Province"]
    _post(
        api,
        {"labels": {"alertname": "Province", "region": "P1", "domain": "natural.flood"}},
        {"labels": {"alertname": "Red", "region": "P1", "domain": "natural.flood", "level": "red"}},
    )
    ends = _iso(api.clock.now() + timedelta(hours=1))
    silence = api.client.post(
        "/api/v1/silences",
        json={**FLOOD, "matchers": ["alertname=Low"], "ends_at": ends, "reason": "works"},
    ).json()
    alerts = {a["labels"]["alertname"]: a for a in _alerts(api)}
    red = next(w for w in api.client.get("/api/v1/warnings").json() if w["subject"] == "Red")
    assert alerts["Low"]["status"] == {
        "state": "suppressed",
        "silencedBy": [silence["id"]],
        "inhibitedBy": [red["id"]],
    }
    assert alerts["Gauge"]["status"] == {
        "state": "suppressed",
        "silencedBy": [],
        "inhibitedBy": [red["id"]],
    }
    assert alerts["Red"]["status"]["state"] == "active"
    # amtool's default (active only), and each flag alone, as Alertmanager filters them
    assert _names(_alerts(api, silenced="false", inhibited="false")) == ["Province", "Red"]
    assert _names(_alerts(api, active="false", inhibited="false")) == []
    assert _names(_alerts(api, active="false", silenced="false")) == ["Gauge"]
    assert _names(_alerts(api, active="false")) == ["Gauge", "Low"]


def test_a_reader_sees_only_its_scope_and_names_only_what_it_sees(api: Api) -> None:
    _post(
        api,
        {"labels": {"alertname": "Low", **FLOOD, "level": "yellow"}},
        {"labels": {"alertname": "Red", "region": "P1", "domain": "natural.flood", "level": "red"}},
        {"labels": {"alertname": "Water", "region": "D21", "domain": "supply.water"}},
    )
    flood = api.token_for("flood", Role.ANALYST, unit="D11-FLOOD")  # D11's floods only
    (low,) = _alerts(api, headers=flood)
    assert low["labels"]["alertname"] == "Low"
    # inhibited by P1's red warning, which this reader may not see: suppressed, not named
    assert low["status"] == {"state": "suppressed", "silencedBy": [], "inhibitedBy": []}
    assert _alerts(api, headers=flood, inhibited="false") == []
    assert api.anonymous.get("/api/v2/alerts").status_code == 401


def test_silences_are_listed_as_alertmanager_lists_them(api: Api) -> None:
    now = api.clock.now()
    later = _iso(now + timedelta(hours=2))
    body = {**FLOOD, "levels": ["yellow"], "matchers": ["alertname=~Gauge.*"], "ends_at": later}
    made = api.client.post("/api/v1/silences", json={**body, "reason": "gauge works"}).json()
    response = api.client.get("/api/v2/silences")
    assert response.status_code == 200, response.text
    assert response.json() == [
        {
            "id": made["id"],
            "status": {"state": "active"},
            "updatedAt": made["created_at"].replace("+00:00", "Z"),
            "matchers": [
                {"name": "region_district", "value": "D11", "isRegex": False, "isEqual": True},
                {
                    "name": "domain",
                    "value": r"natural\.flood(\..+)?",
                    "isRegex": True,
                    "isEqual": True,
                },
                {"name": "level", "value": "yellow", "isRegex": True, "isEqual": True},
                {"name": "alertname", "value": "Gauge.*", "isRegex": True, "isEqual": True},
            ],
            "startsAt": made["starts_at"].replace("+00:00", "Z"),
            "endsAt": later,
            "createdBy": "duty",
            "comment": "gauge works",
        }
    ]
    # expired through Alertmanager's API: as POST /api/v1/silences/{id}/expire, audited
    gone = api.client.delete(f"/api/v2/silence/{made['id']}")
    assert gone.status_code == 200, gone.text
    (listed,) = api.client.get("/api/v2/silences").json()
    assert listed["status"] == {"state": "expired"}
    trail = api.client.get(f"/api/v1/silences/{made['id']}").json()["history"]
    assert trail[-1]["reason"] == "expired through Alertmanager's API (amtool silence expire)"
    assert_problem(api.client.delete(f"/api/v2/silence/{made['id']}"), 409)
    assert_problem(api.client.delete("/api/v2/silence/nope"), 404)
    member = api.token_for("member", Role.UNIT_MEMBER, unit="P2-CP")  # may read, not silence
    assert api.client.get("/api/v2/silences", headers=member).json() == []  # P1's: not seen
    assert_problem(api.client.delete("/api/v2/silence/x", headers=member), 403)


def test_creating_a_silence_through_alertmanagers_api_is_refused_saying_where(api: Api) -> None:
    silence = {
        "matchers": [{"name": "alertname", "value": "X", "isRegex": False}],
        "startsAt": _iso(api.clock.now()),
        "endsAt": _iso(api.clock.now() + timedelta(hours=1)),
        "createdBy": "amtool",
        "comment": "test",
    }
    response = api.client.post("/api/v2/silences", json=silence)
    assert response.status_code == 400
    assert "POST /api/v1/silences" in response.json()
    assert api.client.get("/api/v1/silences", params={"state": "all"}).json() == []
