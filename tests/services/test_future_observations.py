"""Issue 11, finding 2: one observation from the future must not mute an indicator.

Before the fix, `{"indicator": "egov.latency", "time": "2100-01-01T00:00:00Z", "value": 1}` was
stored, became the newest time of its indicator, lifted the active warning, and every current
observation after it was answered `evaluated: 0` (before and after a restart). Now a time later
than the server's clock plus `TOCSIN_MAX_CLOCK_SKEW_S` is refused with its row named, on every
ingest path, and nothing of its batch is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.api.conftest import Api, T, assert_problem, obs, serve_api, table_counts
from tocsin.core.access import system_principal
from tocsin.core.errors import InvalidInput
from tocsin.services.ingest import RawObservations

SYSTEM = system_principal("test")

URL = "/api/v1/observations"
IND = "D11.river_level"  # red at 5.0
YEAR_2100 = "2100-01-01T00:00:00Z"
LATER = "is later than the server's clock allows"


def _open_levels(api: Api) -> dict[str, str]:
    return {w["subject"]: w["level"] for w in api.client.get("/api/v1/warnings").json()}


def _red_batch(minutes: range) -> dict[str, Any]:
    return {"observations": [obs(IND, m, 6.0) for m in minutes]}


def test_an_observation_from_2100_is_refused_and_the_indicator_keeps_warning(
    db_url: str, tmp_path: Path
) -> None:
    with serve_api(db_url, tmp_path) as api:
        api.clock.set(datetime.fromtimestamp(T, UTC) + timedelta(hours=2))
        r = api.client.post(URL, json=_red_batch(range(0, 3)), headers=api.headers)
        assert r.json()["evaluated"] == 3
        assert _open_levels(api) == {IND: "red"}
        before = table_counts(api.container)
        future = {"observations": [{"indicator": IND, "time": YEAR_2100, "value": 1.0}]}
        refused = api.client.post(URL, json=future, headers=api.headers)
        assert_problem(refused, 422, [("observations[0]", "time", f"{YEAR_2100} {LATER}")])
        assert table_counts(api.container) == before  # nothing of it stored
        # the 40 red values that followed in the finding are all evaluated; the warning stays
        r = api.client.post(URL, json=_red_batch(range(3, 43)), headers=api.headers)
        assert (r.status_code, r.json()["evaluated"]) == (202, 40)
        assert _open_levels(api) == {IND: "red"}
    with serve_api(db_url, tmp_path) as api:  # after a restart as well
        api.clock.set(datetime.fromtimestamp(T, UTC) + timedelta(hours=2))
        r = api.client.post(URL, json=_red_batch(range(43, 50)), headers=api.headers)
        assert r.json()["evaluated"] == 7
        assert _open_levels(api) == {IND: "red"}


def test_the_allowed_skew_is_a_setting_and_its_edge_is_exact(
    sqlite_url: str, tmp_path: Path
) -> None:
    with serve_api(sqlite_url, tmp_path, max_clock_skew_s=60) as api:
        now = int(api.clock.now().timestamp())
        edge = {"observations": [{"indicator": IND, "time": now + 60, "value": 1.0}]}
        assert api.client.post(URL, json=edge, headers=api.headers).status_code == 202
        over = {"observations": [{"indicator": IND, "time": now + 61, "value": 1.0}]}
        body = assert_problem(api.client.post(URL, json=over, headers=api.headers), 422)
        assert body["problems"][0]["reason"] == (
            f"2026-01-01T00:01:01Z {LATER} (now 2026-01-01T00:00:00Z plus 60 s, "
            "TOCSIN_MAX_CLOCK_SKEW_S)"
        )


def test_a_mixed_batch_names_every_future_row_and_stores_none_of_it(
    sqlite_url: str, tmp_path: Path
) -> None:
    with serve_api(sqlite_url, tmp_path) as api:
        before = table_counts(api.container)
        rows = [obs(IND, -5, 1.0), obs(IND, 600, 1.0), obs(IND, -4, 1.0), obs(IND, 6000, 1.0)]
        r = api.client.post(URL, json={"observations": rows}, headers=api.headers)
        assert_problem(
            r, 422, [("observations[1]", "time", LATER), ("observations[3]", "time", LATER)]
        )
        assert table_counts(api.container) == before


def test_the_largest_epoch_is_refused_by_the_service_itself(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Callers of the ingest service other than the API (files, collectors) get the same check;
    2^63 - 1 seconds was once accepted."""
    with serve_api(sqlite_url, tmp_path) as api:
        before = table_counts(api.container)
        raw = RawObservations(
            [IND, IND],
            np.array([T - 60, 2**63 - 1], dtype=np.int64),
            np.array([1.0, 1.0]),
        )
        with pytest.raises(InvalidInput) as caught:
            api.container.ingest.ingest(raw, principal=SYSTEM, source="feed")
        (problem,) = caught.value.problems
        assert (problem.where, problem.field) == ("feed[1]", "time")
        assert LATER in problem.reason
        assert table_counts(api.container) == before


def test_a_late_observation_never_silences_current_ones(sqlite_url: str, tmp_path: Path) -> None:
    """An observation older than the newest one of its indicator is stored but not evaluated,
    and the current observations after it still are."""
    with serve_api(sqlite_url, tmp_path) as api:
        api.clock.set(datetime.fromtimestamp(T, UTC) + timedelta(hours=2))
        api.client.post(URL, json=_red_batch(range(10, 12)), headers=api.headers)
        late = {"observations": [obs(IND, 0, 1.0)]}
        r = api.client.post(URL, json=late, headers=api.headers)
        assert (r.status_code, r.json()["evaluated"]) == (202, 0)
        assert _open_levels(api) == {IND: "red"}
        r = api.client.post(URL, json={"observations": [obs(IND, 12, 1.0)]}, headers=api.headers)
        assert r.json()["evaluated"] == 1
        assert _open_levels(api) == {}  # the current value lifts it


def test_a_prometheus_alert_starting_in_the_future_is_refused_by_name(
    sqlite_url: str, tmp_path: Path
) -> None:
    good = {"labels": {"alertname": "A", "region": "D12", "domain": "natural.flood"}}
    future = {**good, "labels": {**good["labels"], "alertname": "B"}, "startsAt": YEAR_2100}
    with serve_api(sqlite_url, tmp_path) as api:
        r = api.client.post("/api/v2/alerts", json=[good, future], headers=api.headers)
        subjects = [w["subject"] for w in api.client.get("/api/v1/warnings").json()]
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["accepted"] == 1
    assert [(p["where"], p["field"]) for p in out["rejected"]] == [("alerts[1]", "startsAt")]
    assert out["rejected"][0]["reason"].startswith(f"{YEAR_2100} {LATER}")
    assert subjects == ["A"]
