"""The report lifecycle table, coarsening, distances and fingerprints."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.core.errors import IllegalTransition
from tocsin.core.reports import (
    OPEN311_STATUS,
    TRANSITIONS,
    HandlingAction,
    Point,
    Report,
    ReportId,
    ReportStatus,
    coarsen,
    distance_m,
    fingerprint,
    handle,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NEW = Report(ReportId("r1"), "gas_smell", Point(45.5, 10.5), "D11", "P1-CP", T0, T0)


@pytest.mark.parametrize("action", list(HandlingAction))
@pytest.mark.parametrize("status", list(ReportStatus))
def test_every_step_of_the_table_is_allowed_only_from_its_statuses(
    action: HandlingAction, status: ReportStatus
) -> None:
    step = TRANSITIONS[action]
    report = Report(NEW.id, NEW.service, NEW.point, "D11", None, T0, T0, status=status)
    if status in step.allowed_from:
        changed, update = handle(report, action, now=T0, note="why", target="other")
        assert changed.status is step.to
        assert update.status is step.to
    else:
        with pytest.raises(IllegalTransition):
            handle(report, action, now=T0, note="why", target="other")


def test_closed_statuses_are_open311_closed_and_cannot_be_handled_again() -> None:
    closed, update = handle(NEW, HandlingAction.CLOSE, now=T0, note="  repaired ")
    assert closed.open311_status == "closed"
    assert update.note == "repaired"
    assert closed.updated_at == T0
    with pytest.raises(IllegalTransition, match="closed"):
        handle(closed, HandlingAction.ACKNOWLEDGE, now=T0)
    assert {OPEN311_STATUS[s] for s in ReportStatus} == {"open", "closed"}


@pytest.mark.parametrize(
    ("action", "target", "needs"),
    [
        (HandlingAction.REJECT, None, "note"),
        (HandlingAction.CLOSE, None, "note"),
        (HandlingAction.MARK_DUPLICATE, None, "report"),
        (HandlingAction.LINK_INCIDENT, None, "incident"),
    ],
)
def test_steps_that_need_something_say_what(
    action: HandlingAction, target: str | None, needs: str
) -> None:
    with pytest.raises(IllegalTransition, match=needs):
        handle(NEW, action, now=T0, note=" ", target=target)


def test_a_duplicate_and_a_link_remember_their_target() -> None:
    dup, _ = handle(NEW, HandlingAction.MARK_DUPLICATE, now=T0, target="r0")
    linked, _ = handle(NEW, HandlingAction.LINK_INCIDENT, now=T0, target="INC-7")
    assert dup.duplicate_of == "r0"
    assert dup.status is ReportStatus.DUPLICATE
    assert linked.incident == "INC-7"
    assert linked.open311_status == "open"
    with pytest.raises(IllegalTransition, match="itself"):
        handle(NEW, HandlingAction.MARK_DUPLICATE, now=T0, target="r1")


@given(
    st.floats(min_value=-85, max_value=85),
    st.floats(min_value=-179.9, max_value=179.9),
    st.sampled_from([10.0, 100.0, 1000.0]),
)
def test_coarsening_moves_a_point_at_most_one_cell_diagonal(
    lat: float, lon: float, metres: float
) -> None:
    exact = Point(lat, lon)
    shown = coarsen(exact, metres)
    assert distance_m(exact, shown) <= metres * 0.75 + 1.0  # half a diagonal, plus rounding
    assert coarsen(shown, metres) == shown  # a coarse point stays where it is


def test_points_in_one_cell_coarsen_alike_and_zero_keeps_the_point() -> None:
    a = coarsen(Point(45.5, 10.5), 100)  # the centre of a 100 m cell
    near = [Point(a.lat + d, a.lon - d) for d in (0.0001, -0.0002, 0.0003)]  # within 45 m
    assert {coarsen(p, 100) for p in near} == {a}
    assert coarsen(Point(a.lat + 0.0009, a.lon), 100) != a  # 100 m north: the next cell
    assert coarsen(a, 0) == a


def test_distance_matches_a_known_arc() -> None:
    # one degree of latitude on a sphere of radius 6,371 km is 111.195 km
    assert distance_m(Point(45, 10), Point(46, 10)) == pytest.approx(111_195, rel=1e-4)


def test_fingerprint_ignores_case_spacing_and_a_few_metres_but_not_the_service() -> None:
    a = fingerprint("gas_smell", Point(45.500001, 10.5), description="Strong  SMELL")
    b = fingerprint("gas_smell", Point(45.500002, 10.5), description="strong smell")
    c = fingerprint("landslide", Point(45.500001, 10.5), description="Strong smell")
    assert a == b != c
