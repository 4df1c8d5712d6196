"""Pacing of one receiver's address: requests at once, a token-bucket rate, holds after failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.core.warnings.pacing import Admission, Lane, PaceLimits, admit, returned

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """T0 plus seconds."""
    return T0 + timedelta(seconds=seconds)


def test_at_most_in_flight_requests_at_once() -> None:
    limits = PaceLimits(in_flight=2)
    lane = Lane()
    admissions = []
    for _ in range(3):
        decision = admit(lane, limits, at(0))
        lane = decision.lane
        admissions.append(decision.admission)
    assert admissions == [Admission.SEND, Admission.SEND, Admission.BUSY]
    lane = returned(lane)
    assert admit(lane, limits, at(0)).admission is Admission.SEND


def test_a_rate_spends_the_burst_then_one_token_per_interval() -> None:
    limits = PaceLimits(in_flight=100, rate_per_s=2.0, burst=3)
    lane = Lane()
    sent = 0
    decision = admit(lane, limits, at(0))
    while decision.admission is Admission.SEND:
        sent, lane = sent + 1, decision.lane
        decision = admit(lane, limits, at(0))
    assert sent == 3
    assert decision.admission is Admission.PACED
    assert decision.retry_at == at(0.5)  # one token back after 1 / rate
    assert admit(decision.lane, limits, at(0.5)).admission is Admission.SEND


def test_a_failure_holds_the_address_until_the_later_moment() -> None:
    limits = PaceLimits()
    lane = admit(Lane(), limits, at(0)).lane
    lane = returned(lane, hold_until=at(30))
    held = admit(lane, limits, at(10))
    assert (held.admission, held.retry_at) == (Admission.HELD, at(30))
    lane = returned(admit(Lane(), limits, at(0)).lane, hold_until=at(30))
    lane = returned(lane, hold_until=at(20))  # an earlier hold does not shorten it
    assert lane.held_until == at(30)
    assert admit(lane, limits, at(30)).admission is Admission.SEND


@given(
    st.floats(min_value=0.5, max_value=50.0),
    st.integers(min_value=1, max_value=20),
    st.lists(st.floats(min_value=0.0, max_value=0.5), min_size=1, max_size=200),
)
def test_never_faster_than_the_rate_plus_the_burst(
    rate: float, burst: int, steps: list[float]
) -> None:
    limits = PaceLimits(in_flight=10_000, rate_per_s=rate, burst=burst)
    lane, now, sent = Lane(), 0.0, 0
    for step in steps:
        now += step
        decision = admit(lane, limits, at(now))
        lane = decision.lane
        sent += decision.admission is Admission.SEND
    assert sent <= burst + rate * now + 1e-6
