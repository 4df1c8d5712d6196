"""POST /api/v1/events: stored once each, large batches, strict and bounded fields."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, assert_problem, table_counts

URL = "/api/v1/events"
EVENT: dict[str, Any] = {
    "source": "operator",
    "external_id": "F-17",
    "occurred_at": "2026-01-01T10:00:00Z",
    "region": "D12",
    "domain": "fire",
    "severity": "orange",
    "title": "Warehouse fire",
}


def test_events_are_stored_once(api: Api) -> None:
    first = api.client.post(URL, json={"events": [EVENT]}, headers=api.headers)
    assert (first.status_code, first.json()) == (202, {"received": 1, "stored": 1})
    again = api.client.post(URL, json={"events": [EVENT]}, headers=api.headers)
    assert again.json() == {"received": 1, "stored": 0}


def test_a_batch_of_thousands_of_events_is_stored_and_recognised_when_resent(api: Api) -> None:
    # an OR of 1,001 (source, id) pairs once overflowed SQLite's expression depth (a 500)
    events = [
        {**EVENT, "source": f"op{i % 3}", "external_id": f"E-{i}", "attributes": {"n": i}}
        for i in range(2_500)
    ]
    first = api.client.post(URL, json={"events": events}, headers=api.headers)
    assert first.json() == {"received": 2_500, "stored": 2_500}
    more = [*events[:1_200], *({**EVENT, "external_id": f"N-{i}"} for i in range(3))]
    second = api.client.post(URL, json={"events": more}, headers=api.headers)
    assert second.json() == {"received": 1_203, "stored": 3}
    assert table_counts(api.container)["events"] == 2_503


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"region": "MARS"}, ("events[0]", "region", "unknown region 'MARS'")),
        ({"domain": "bogus"}, ("events[0]", "domain", "unknown domain 'bogus'")),
        ({"severity": "purple"}, ("events[0]", "severity", "'blue', 'yellow', 'orange' or 'red'")),
        ({"occurred_at": "2026-01-01T10:00:00"}, ("events[0]", "occurred_at", "RFC 3339")),
        ({"occurred_at": 1767261600}, ("events[0]", "occurred_at", "RFC 3339")),
        ({"title": ""}, ("events[0]", "title", "at least 1 character")),
        ({"title": "x" * 1_001}, ("events[0]", "title", "at most 1000 characters")),
        ({"description": "x" * 10_001}, ("events[0]", "description", "at most 10000")),
        ({"external_id": 17}, ("events[0]", "external_id", "valid string")),
        ({"attributes": {"k": "x" * 20_000}}, ("events[0]", "attributes", "at most 16384")),
        ({"attributes": {f"k{i}": i for i in range(65)}}, ("events[0]", "attributes", "64")),
        ({"attributes": []}, ("events[0]", "attributes", "valid dictionary")),
    ],
)
def test_a_bad_event_rejects_the_batch_whole_naming_it(
    api: Api, change: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    before = table_counts(api.container)
    body = {"events": [{**EVENT, "external_id": "X", **change}, EVENT]}
    assert_problem(api.client.post(URL, json=body, headers=api.headers), 422, [expected])
    assert table_counts(api.container) == before


def test_a_ten_megabyte_title_is_refused_without_storing(api: Api) -> None:
    before = table_counts(api.container)
    body = {"events": [{**EVENT, "title": "x" * 10_000_000}]}
    response = api.client.post(URL, json=body, headers=api.headers)
    assert_problem(response, 422, [("events[0]", "title", "at most 1000 characters")])
    assert table_counts(api.container) == before
