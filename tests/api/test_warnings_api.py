"""Warnings: filters (unknown values refused, lists), one warning, history, acknowledgement."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, assert_problem, obs, table_counts

URL = "/api/v1/warnings"


def _raise_three(api: Api) -> None:
    """Red reservoir (D21), yellow river (D11) and yellow substation (P1)."""
    body = {
        "observations": [
            obs("D11.river_level", 0, 3.5),
            obs("D21.reservoir", 0, 5.0),
            obs("P1.substation_load", 0, 95.0),
        ]
    }
    assert api.client.post("/api/v1/observations", json=body, headers=api.headers).is_success


def _subjects(api: Api, params: Any) -> list[str]:
    response = api.client.get(URL, params=params)
    assert response.status_code == 200, response.text
    return [w["subject"] for w in response.json()]


def test_filters_by_region_subtree_level_and_domain(api: Api) -> None:
    _raise_three(api)
    everything = _subjects(api, {})
    assert everything[0] == "D21.reservoir"  # red first; the two yellows tie on age
    assert sorted(everything[1:]) == ["D11.river_level", "P1.substation_load"]
    assert sorted(_subjects(api, {"region": "P1"})) == ["D11.river_level", "P1.substation_load"]
    assert _subjects(api, {"level": "red"}) == ["D21.reservoir"]
    assert _subjects(api, {"domain": "natural"}) == ["D11.river_level"]


def test_levels_and_domains_take_comma_separated_or_repeated_lists(api: Api) -> None:
    _raise_three(api)
    assert sorted(_subjects(api, {"level": "red,yellow"})) == sorted(_subjects(api, {}))
    assert _subjects(api, [("level", "orange"), ("level", "red")]) == ["D21.reservoir"]
    both = _subjects(api, {"domain": "natural,infrastructure"})
    assert sorted(both) == ["D11.river_level", "P1.substation_load"]
    assert _subjects(api, [("domain", "natural"), ("domain", "natural.flood")]) == [
        "D11.river_level"
    ]
    assert _subjects(api, {"domain": "infrastructure", "limit": 1}) == ["P1.substation_load"]


def test_pages_follow_one_another_in_the_same_order(api: Api) -> None:
    _raise_three(api)
    everything = _subjects(api, {})
    pages = [_subjects(api, {"limit": 2, "offset": k}) for k in (0, 2, 4)]
    assert pages[0] + pages[1] == everything
    assert pages[2] == []
    two = _subjects(api, {"domain": "natural,infrastructure"})
    assert _subjects(api, {"domain": "natural,infrastructure", "limit": 1, "offset": 1}) == two[1:]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"level": "purple"}, ("level", "level", "unknown level 'purple' (one of blue, yellow")),
        ({"level": "red,purple"}, ("level", "level", "unknown level 'purple'")),
        ({"level": "red,"}, ("level", "level", "unknown level ''")),
        ({"domain": "bogus"}, ("domain", "domain", "unknown domain 'bogus' (one of ")),
        ({"domain": "fire,bogus"}, ("domain", "domain", "natural.flood")),
        ({"region": "X"}, ("region", "region", "unknown region 'X' (see GET /api/v1/regions)")),
        ({"state": "closed"}, ("query", "state", "Input should be 'open' or 'all'")),
        ({"limit": 0}, ("query", "limit", "greater than or equal to 1")),
        ({"limit": "ten"}, ("query", "limit", "valid integer")),
        ({"offset": -1}, ("query", "offset", "greater than or equal to 0")),
    ],
)
def test_an_unknown_filter_value_is_a_422_naming_it_and_the_allowed_ones(
    api: Api, params: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    _raise_three(api)
    assert_problem(api.client.get(URL, params=params), 422, [expected])


def test_a_warning_is_lifted_when_back_to_normal_and_keeps_its_history(api: Api) -> None:
    body = {"observations": [obs("D11.river_level", m, v) for m, v in enumerate([3.2, 4.1, 1.0])]}
    api.client.post("/api/v1/observations", json=body, headers=api.headers)
    assert api.client.get(URL).json() == []
    (lifted,) = api.client.get(URL, params={"state": "all"}).json()
    assert lifted["state"] == "lifted"
    history = api.client.get(f"{URL}/{lifted['id']}/history").json()
    assert [h["kind"] for h in history] == ["warning.raised", "warning.upgraded", "warning.lifted"]
    assert all(h["actor"] == "rule:threshold" for h in history)
    assert "back to normal" in history[-1]["reason"]
    assert api.client.get(f"{URL}/{lifted['id']}").json() == lifted


def test_an_unknown_warning_is_a_404_problem(api: Api) -> None:
    for path in ("nope", "nope/history", "nope/delivery"):
        assert_problem(api.client.get(f"{URL}/{path}"), 404, [])
    gone = api.client.post(f"{URL}/nope/acknowledge", json={}, headers=api.headers)
    assert gone.json()["detail"] == "no warning 'nope'"
    assert_problem(gone, 404, [])


def test_acknowledge_records_who_and_why_once(api: Api) -> None:
    api.client.post(
        "/api/v1/observations",
        json={"observations": [obs("D21.reservoir", 0, 15.0)]},
        headers=api.headers,
    )
    (w,) = api.client.get(URL).json()
    assert w["level"] == "orange"  # lower is worse: 15 % is below the orange threshold 20 %
    url = f"{URL}/{w['id']}/acknowledge"
    done = api.client.post(url, json={"reason": "tankers ordered"}, headers=api.headers)
    assert done.status_code == 200
    assert (done.json()["state"], done.json()["acknowledged_by"]) == ("acknowledged", "duty")
    before = table_counts(api.container)
    assert_problem(api.client.post(url, json={}, headers=api.headers), 409, [])
    too_long = api.client.post(url, json={"reason": "x" * 2001}, headers=api.headers)
    assert_problem(too_long, 422, [("body", "reason", "at most 2000 characters")])
    not_text = api.client.post(url, json={"reason": 5}, headers=api.headers)
    assert_problem(not_text, 422, [("body", "reason", "valid string")])
    assert table_counts(api.container) == before
    history = api.client.get(f"{URL}/{w['id']}/history").json()
    assert (history[-1]["actor"], history[-1]["reason"]) == ("duty", "tankers ordered")
