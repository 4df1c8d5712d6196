"""The checks beyond the CAP schema, rule by rule, and the approval lifecycle, pair by pair."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tocsin.core.cap import rules
from tocsin.core.cap.lifecycle import (
    TRANSITIONS,
    AlertCommand,
    AlertState,
    PublicAlert,
    apply,
    new_draft,
)
from tocsin.core.cap.message import (
    Alert,
    Area,
    Certainty,
    Info,
    MsgType,
    Scope,
    Severity,
    Status,
    Urgency,
    alert_from_json,
    alert_json,
)
from tocsin.core.cap.templates import Template, template_problems
from tocsin.core.errors import Forbidden, IllegalTransition
from tocsin.core.levels import Level

T = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
POLYGON = "45,10 45,11 46,11 46,10 45,10"


def info(language: str = "en-GB", **overrides: object) -> Info:
    base = Info(
        categories=("Met",),
        event="Flood",
        urgency=Urgency.IMMEDIATE,
        severity=Severity.EXTREME,
        certainty=Certainty.OBSERVED,
        language=language,
        onset=T,
        expires=T + timedelta(hours=6),
        areas=(Area("D11", polygons=(POLYGON,), circles=("45.5,10.5 10",)),),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def alert(**overrides: object) -> Alert:
    base = Alert(
        "tocsin.1",
        "cap@tocsin.example",
        T,
        Status.ACTUAL,
        MsgType.ALERT,
        Scope.PUBLIC,
        infos=(info(), info("fr-FR")),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def found(a: Alert) -> set[tuple[str, str]]:
    return {(p.where, p.field) for p in rules.check(a)}


def test_a_well_formed_alert_passes_and_round_trips_through_json() -> None:
    assert rules.check(alert()) == []
    assert alert_from_json(alert_json(alert())) == alert()


@pytest.mark.parametrize(
    ("changed", "where", "rule"),
    [
        ({"identifier": "a b"}, "alert.identifier", "identifiers"),
        ({"sender": "x,y"}, "alert.sender", "identifiers"),
        ({"msg_type": MsgType.UPDATE}, "alert.references", "references"),
        ({"references": ("x,y",)}, "alert.references[0]", "references"),
        ({"references": ("x,y,2026-03-02T08:00:00Z",)}, "alert.references[0]", "references"),
        ({"scope": Scope.RESTRICTED}, "alert.restriction", "scope"),
        ({"scope": Scope.PRIVATE}, "alert.addresses", "scope"),
        ({"sent": T + timedelta(hours=7)}, "alert.info[0].expires", "expires"),
        ({"infos": (info(), info("fr-FR"), info("fr-FR"))}, "alert.info", "languages"),
        (
            {"infos": (info(), info("fr-FR", severity=Severity.MINOR))},
            "alert.info[1].severity",
            "languages",
        ),
        ({"infos": (info("en GB"),)}, "alert.info[0].language", "languages"),
    ],
)
def test_each_rule_names_itself_and_where(
    changed: dict[str, object], where: str, rule: str
) -> None:
    assert (where, rule) in found(alert(**changed))


@pytest.mark.parametrize(
    ("polygon", "reason"),
    [
        ("45,10 45,11 45,10", "at least 4"),
        ("45,10 45,11 46,11 46,10", "not closed"),
        ("45,10 46,11 45,11 46,10 45,10", "crosses"),
        ("45,10 45,181 46,11 45,10", "within range"),
    ],
)
def test_polygons_must_be_closed_simple_rings_of_four_points_or_more(
    polygon: str, reason: str
) -> None:
    area = Area("D11", polygons=(polygon,))
    problems = rules.check(alert(infos=(info(areas=(area,)),)))
    assert [(p.where, p.field) for p in problems] == [
        ("alert.info[0].area[0].polygon[0]", "polygon")
    ]
    assert reason in problems[0].reason


def test_circles_must_be_a_point_and_a_radius() -> None:
    area = Area("D11", circles=("45.5,10.5",))
    assert found(alert(infos=(info(areas=(area,)),))) == {
        ("alert.info[0].area[0].circle[0]", "circle")
    }


def test_templates_know_their_placeholders_and_nothing_else() -> None:
    assert template_problems("{level_label} in {region}: {explanation.value} {{x}}") == []
    assert "unknown placeholder {__class__}" in template_problems("{__class__}")[0]
    assert "unknown placeholder {region.name}" in template_problems("{region.name}")[0]
    assert "unmatched" in template_problems("oops }")[0]
    text = Template("{level} in {region}: {explanation.value}{{!}}")
    assert text.render({"level": "red", "region": "D11"}) == "red in D11: {!}"


def _draft(state: AlertState) -> PublicAlert:
    draft, _ = new_draft(
        alert(),
        thread=None,
        regions=("D11",),
        domain="natural.flood",
        level=Level.RED,
        author="alice",
        warning_id="w1",
        reason="",
        now=T,
    )
    return replace(draft, state=state)


@pytest.mark.parametrize("state", list(AlertState))
@pytest.mark.parametrize("command", list(AlertCommand))
def test_every_state_and_command_pair_is_legal_by_the_table_or_refused(
    state: AlertState, command: AlertCommand
) -> None:
    draft = _draft(state)
    target = TRANSITIONS.get((state, command))
    if target is None:
        with pytest.raises(IllegalTransition):
            apply(draft, command, actor="bob", reason="r", now=T)
        return
    new, record = apply(draft, command, actor="bob", reason="r", now=T + timedelta(minutes=1))
    assert new.state is target
    assert (record.actor, record.reason, record.subject_id) == ("bob", "r", "tocsin.1")
    assert record.details["from_state"] == state.value
    assert record.details["to_state"] == target.value


def test_whoever_drafted_or_edited_an_alert_may_not_approve_or_reject_it() -> None:
    submitted = _draft(AlertState.SUBMITTED)
    for command in (AlertCommand.APPROVE, AlertCommand.REJECT):
        with pytest.raises(Forbidden, match="second person"):
            apply(submitted, command, actor="alice", reason="", now=T)
    edited, _ = apply(_draft(AlertState.DRAFT), AlertCommand.EDIT, actor="bob", reason="", now=T)
    assert edited.authors == ("alice", "bob")
    approved, _ = apply(
        replace(edited, state=AlertState.SUBMITTED),
        AlertCommand.APPROVE,
        actor="carol",
        reason="",
        now=T,
    )
    assert approved.approved_by == "carol"
