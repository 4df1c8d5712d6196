"""Notification bodies: Tocsin JSON and Alertmanager's webhook format; backoff and keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from tests.factories import make_warning as factory_warning

from tocsin.core.levels import Level
from tocsin.core.warnings.dedup import channel_key, escalation_key, group_flush_key
from tocsin.core.warnings.model import Warning, WarningId, WarningState
from tocsin.core.warnings.outbox import (
    BACKOFF_CAP,
    MAX_ATTEMPTS,
    DeliveryStatus,
    Message,
    NotificationKind,
    after_failure,
    backoff,
)
from tocsin.core.warnings.payloads import ZERO_TIME, alertmanager_payload, tocsin_payload

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_warning(**overrides: object) -> Warning:
    """A red flood warning in D11."""
    base: dict[str, object] = {
        "fingerprint": "fp1",
        "level": Level.RED,
        "cause": {"value": 5.5},
        "explanation": {},
        "labels": {"indicator": "D11.river_level"},
    }
    return factory_warning("w1", at=T0, **{**base, **overrides})


def test_alertmanager_payload_has_the_v4_shape() -> None:
    firing = make_warning()
    lifted = make_warning(
        id=WarningId("w2"), fingerprint="fp2", state=WarningState.LIFTED, lifted_at=T0
    )
    message = Message(
        "k", NotificationKind.GROUP, "new", "D11-FLOOD", {"region": "D11"}, (firing,), (lifted,)
    )
    body = alertmanager_payload(message)
    assert (body["version"], body["status"], body["receiver"]) == ("4", "firing", "D11-FLOOD")
    first, second = body["alerts"]
    assert first["status"] == "firing"
    assert first["endsAt"] == ZERO_TIME
    assert first["labels"]["severity"] == "extreme"
    assert first["labels"]["alertname"] == "D11.river_level"
    assert second["status"] == "resolved"
    assert second["endsAt"] == "2026-01-01T00:00:00Z"
    assert body["commonLabels"]["region"] == "D11"
    assert set(first) == {
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
        "fingerprint",
    }


def test_alertmanager_payload_passes_a_prometheus_alerts_own_annotations_on() -> None:
    # a relay behind Tocsin keeps what the sender wrote (runbook links, its own summary), as
    # Alertmanager passes annotations through; Tocsin's own stand where the sender said nothing
    sent = {"summary": "gauge 7 is high", "runbook_url": "http://runbooks/gauge"}
    prom = make_warning(source="prometheus", explanation={"annotations": sent})
    other = make_warning(id=WarningId("w2"), fingerprint="fp2", explanation={"annotations": sent})
    message = Message("k", NotificationKind.GROUP, "new", "U", firing=(prom, other))
    first, second = alertmanager_payload(message)["alerts"]
    assert first["annotations"]["summary"] == "gauge 7 is high"
    assert first["annotations"]["runbook_url"] == "http://runbooks/gauge"
    assert "description" in first["annotations"]
    assert second["annotations"]["summary"] == "red warning: D11.river_level in D11"
    assert "runbook_url" not in second["annotations"]


def test_tocsin_payload_explains_each_warning() -> None:
    message = Message("k", NotificationKind.GROUP, "new", "U", firing=(make_warning(),))
    body = tocsin_payload(message, now=T0)
    (w,) = body["firing"]
    assert (w["level"], w["cap_severity"], w["cause"]) == ("red", "Extreme", {"value": 5.5})
    assert body["summary"].startswith("[RED] natural.flood in D11")


@given(st.integers(min_value=1, max_value=40))
def test_backoff_grows_and_is_capped(attempts: int) -> None:
    delay = backoff("key", attempts)
    assert timedelta(seconds=1.5) <= delay <= BACKOFF_CAP * 1.25
    assert backoff("key", attempts) == delay  # deterministic


def test_give_up_after_max_attempts() -> None:
    assert after_failure(MAX_ATTEMPTS, "k", T0) == (DeliveryStatus.FAILED, None)
    status, at = after_failure(1, "k", T0)
    assert status is DeliveryStatus.PENDING
    assert at is not None
    assert at > T0


@given(st.text(max_size=8), st.text(max_size=8), st.integers(min_value=0, max_value=5))
def test_keys_depend_only_on_what_they_identify(group: str, content: str, n: int) -> None:
    assert group_flush_key(group, content) == group_flush_key(group, content)
    assert group_flush_key(group, content) != group_flush_key(group, content + "x")
    assert group_flush_key(group, content) != group_flush_key(group + "x", content)
    assert escalation_key("w", "t", n) != group_flush_key("w", str(n))
    assert channel_key("k", "webhook", "a") != channel_key("k", "email", "a")


def test_a_storm_message_stays_readable() -> None:
    """300 cells of one district: counts by level, the worst first, a bounded list."""
    levels = [Level.YELLOW] * 180 + [Level.ORANGE] * 100 + [Level.RED] * 20
    firing = tuple(
        make_warning(
            id=WarningId(f"w{i}"),
            fingerprint=f"fp{i}",
            level=lv,
            region=f"C{i:05d}",
            subject=f"C{i:05d}.level",
        )
        for i, lv in enumerate(levels)
    )
    lifted = tuple(
        make_warning(
            id=WarningId(f"g{i}"),
            fingerprint=f"g{i}",
            state=WarningState.LIFTED,
            region=f"C{900 + i:05d}",
            lifted_at=T0,
        )
        for i in range(3)
    )
    labels = {"region_district": "D001", "domain": "natural.flood"}
    message = Message("k", NotificationKind.GROUP, "new", "D001-FLOOD", labels, firing, lifted)
    body = tocsin_payload(message, now=T0)
    assert body["summary"] == (
        "[RED] natural.flood in D001: 300 warnings (20 red, 100 orange, 180 yellow); 3 lifted"
    )
    assert body["counts"] == {"firing": {"red": 20, "orange": 100, "yellow": 180}, "resolved": 3}
    lines = body["digest"]
    assert lines[0] == "Firing: 300 (20 red, 100 orange, 180 yellow)"
    listed = [line for line in lines if line.startswith("- ")]
    assert listed[:20] == [f"- RED C{i:05d} natural.flood: C{i:05d}.level" for i in range(280, 300)]
    assert "- … and 280 more (all are listed in the JSON body)" in lines
    assert lines.index("Lifted: 3") > 20
    assert len(lines) <= 30
    assert len(body["firing"]) == 300  # machines still get every warning


def test_one_warning_keeps_its_short_subject() -> None:
    message = Message("k", NotificationKind.GROUP, "resolved", "U", resolved=(make_warning(),))
    assert tocsin_payload(message, now=T0)["summary"] == (
        "[RESOLVED] natural.flood in D11: D11.river_level lifted"
    )
