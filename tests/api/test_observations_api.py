"""POST /api/v1/observations: all-or-nothing batches, idempotence, strict and bounded fields."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.api.conftest import Api, T, assert_problem, obs, table_counts

URL = "/api/v1/observations"
RFC3339 = "RFC 3339 date-time with an offset"
NUMBER = "Input should be a valid number"

# (observation fields replaced, expected (where, field, reason part))
BAD_OBSERVATIONS: list[tuple[dict[str, Any], tuple[str, str, str]]] = [
    ({"value": "1.5"}, ("observations[0]", "value", NUMBER)),
    ({"value": True}, ("observations[0]", "value", NUMBER)),
    ({"value": None}, ("observations[0]", "value", NUMBER)),
    ({"value": [1.0]}, ("observations[0]", "value", NUMBER)),
    ({"time": True}, ("observations[0]", "time", RFC3339)),
    ({"time": 1e20}, ("observations[0]", "time", RFC3339)),
    ({"time": 1767225600.5}, ("observations[0]", "time", RFC3339)),
    ({"time": 9_223_372_036_854_775_807}, ("observations[0]", "time", "integer epoch seconds")),
    ({"time": -(2**63)}, ("observations[0]", "time", "integer epoch seconds")),
    ({"time": 253_402_300_800}, ("observations[0]", "time", "integer epoch seconds")),
    ({"time": "1767225600"}, ("observations[0]", "time", RFC3339)),
    ({"time": "2026-01-01T00:00:00"}, ("observations[0]", "time", RFC3339)),
    ({"time": "2026-01-01"}, ("observations[0]", "time", RFC3339)),
    ({"time": "2026-02-30T00:00:00Z"}, ("observations[0]", "time", "day is out of range")),
    ({"time": "0001-01-01T00:00:00+01:00"}, ("observations[0]", "time", RFC3339)),
    ({"time": "1899-12-31T23:59:59Z"}, ("observations[0]", "time", RFC3339)),
    ({"indicator": ""}, ("observations[0]", "indicator", "at least 1 character")),
    ({"indicator": "x" * 257}, ("observations[0]", "indicator", "at most 256 characters")),
    ({"indicator": 7}, ("observations[0]", "indicator", "valid string")),
    ({"unit": "m"}, ("observations[0]", "unit", "Extra inputs are not permitted")),
]


@pytest.mark.parametrize(("change", "expected"), BAD_OBSERVATIONS)
def test_a_bad_field_rejects_the_batch_whole_naming_it(
    api: Api, change: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    before = table_counts(api.container)
    good = obs("D11.river_level", 0, 1.0)
    body = {"observations": [{**obs("D11.river_level", 1, 1.0), **change}, good]}
    assert_problem(api.client.post(URL, json=body, headers=api.headers), 422, [expected])
    assert table_counts(api.container) == before


def test_accepted_times_are_rfc3339_with_offset_or_integer_epoch_seconds(api: Api) -> None:
    body = {
        "observations": [
            obs("D11.river_level", 0, 1),  # an integer value is a number too
            {"indicator": "D11.river_level", "time": "2026-01-01T00:01:00Z", "value": 1.5},
            {"indicator": "D11.river_level", "time": "2026-01-01T02:02:00+02:00", "value": 1.6},
            {"indicator": "D11.river_level", "time": "2026-01-01t00:03:00.250z", "value": 1.7},
        ]
    }
    assert api.client.post(URL, json=body, headers=api.headers).status_code == 202
    series = api.client.get("/api/v1/indicators/D11.river_level/observations").json()
    assert series["times"] == [T, T + 60, T + 120, T + 180]
    assert series["values"] == [1.0, 1.5, 1.6, 1.7]


def test_nan_and_unknown_indicators_are_named_per_row(api: Api) -> None:
    before = table_counts(api.container)
    text = (
        '{"observations": [{"indicator": "D11.river_level", "time": 1767225600, "value": NaN},'
        ' {"indicator": "nope", "time": 1767225660, "value": 1}]}'
    )
    headers = {**api.headers, "Content-Type": "application/json"}
    response = api.client.post(URL, content=text, headers=headers)
    assert_problem(
        response,
        422,
        [
            ("observations[1]", "indicator", "unknown indicator 'nope'"),
            ("observations[0]", "value", "not a finite number"),
        ],
    )
    assert table_counts(api.container) == before


def test_an_empty_batch_and_a_body_that_is_not_json_are_refused(api: Api) -> None:
    before = table_counts(api.container)
    empty = api.client.post(URL, json={"observations": []}, headers=api.headers)
    assert_problem(empty, 422, [("body", "observations", "at least 1 item")])
    headers = {**api.headers, "Content-Type": "application/json"}
    broken = api.client.post(URL, content=b'{"observations": [', headers=headers)
    assert_problem(broken, 422, [("body", "", "not JSON at character 18: Expecting value")])
    assert table_counts(api.container) == before


def test_a_batch_sent_twice_is_stored_once_and_raises_once(api: Api) -> None:
    values = [1.0, 2.5, 3.5, 4.2, 5.5]
    body = {"observations": [obs("D11.river_level", m, v) for m, v in enumerate(values)]}
    first = api.client.post(URL, json=body, headers=api.headers)
    second = api.client.post(URL, json=body, headers=api.headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["warnings_changed"] == 4  # raised blue, upgraded to yellow, orange, red
    assert second.json() == {"received": 5, "evaluated": 0, "warnings_changed": 0}
    with api.container.store.transaction() as tx:
        assert tx.observations.count() == 5  # stored (in the table, or SQLite's inbox)
    (w,) = api.client.get("/api/v1/warnings").json()
    assert (w["level"], w["cap_severity"], w["region"], w["domain"]) == (
        "red",
        "Extreme",
        "D11",
        "natural.flood",
    )
    assert (w["cause"]["value"], w["cause"]["threshold"]) == (5.5, 5.0)
    assert w["first_seen_at"].startswith("2026-01-01T00:01")


def test_series_reads_are_bounded_and_name_unknown_indicators(api: Api) -> None:
    body = {"observations": [obs("D11.river_level", m, 1.0 + m) for m in range(3)]}
    api.client.post(URL, json=body, headers=api.headers)
    url = "/api/v1/indicators/D11.river_level/observations"
    assert api.client.get(url, params={"since": T + 60}).json()["values"] == [2.0, 3.0]
    assert api.client.get(url, params={"limit": 1}).json()["values"] == [1.0]
    too_late = api.client.get(url, params={"until": 10**19})
    assert_problem(too_late, 422, [("query", "until", "less than or equal to 253402300799")])
    unknown = api.client.get("/api/v1/indicators/nope/observations")
    assert_problem(unknown, 404, [])
    assert unknown.json()["detail"] == "unknown indicator 'nope'"


def test_scores_are_numbers_or_null_and_a_bad_detector_is_named(api: Api) -> None:
    body = {"observations": [obs("D11.river_level", m, 1.0 + (m % 3)) for m in range(40)]}
    api.clock.advance(timedelta(hours=1))  # the observations are in the past
    assert api.client.post(URL, json=body, headers=api.headers).status_code == 202
    scores = api.client.get("/api/v1/indicators/D11.river_level/scores").json()
    assert len(scores["scores"]) == 40
    assert all(s is None or isinstance(s, float) for s in scores["scores"])
    bad = api.client.get("/api/v1/indicators/D11.river_level/scores?detector=bogus")
    body_ = assert_problem(bad, 422)
    assert body_["problems"][0]["field"] == "detector"
