"""Emergency plans: which plan applies, units named relative to the region, and what a warning
transition does to the response (the activation decider)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import T0, make_incident, make_warning
from tocsin.adapters.config_yaml import load_catalog
from tocsin.core.catalog import Catalog
from tocsin.core.incidents.activation import (
    ActivationReason,
    incident_key,
    on_warning,
    warning_link,
)
from tocsin.core.incidents.model import IncidentState, ResponseLevel
from tocsin.core.incidents.plans import (
    EmergencyPlan,
    PlanBook,
    PlanLevel,
    TaskTemplate,
    UnitRef,
    parent_chain,
    plan_for,
    resolve_unit,
)
from tocsin.core.levels import Level
from tocsin.core.units import UnitCode
from tocsin.core.warnings.model import WarningState
from tocsin.testing.scenario import write_small_config

HOUR = timedelta(hours=1)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return load_catalog(write_small_config(tmp_path_factory.mktemp("cfg")))


def template(ident: str, unit: UnitRef) -> TaskTemplate:
    return TaskTemplate(ident, ident, unit, HOUR, 2 * HOUR)


FLOOD = EmergencyPlan(
    "flood",
    "Flood response",
    "natural.flood",
    (
        PlanLevel(Level.ORANGE, ResponseLevel.III, (template("levees", UnitRef("district")),)),
        PlanLevel(Level.RED, ResponseLevel.I, (template("evacuate", UnitRef("district")),)),
    ),
    region="P1",
)
EVERYWHERE = EmergencyPlan(
    "natural", "Natural hazards", "natural", (PlanLevel(Level.YELLOW, ResponseLevel.IV),)
)


def resolve(catalog: Catalog, ref: UnitRef, region: str, domain: str) -> tuple[str, str] | None:
    found = resolve_unit(
        ref,
        region=region,
        domain=domain,
        units=catalog.units,
        tree=catalog.regions,
        domain_ancestors=catalog.domain_ancestors(domain),  # type: ignore[arg-type]
    )
    return (found.unit.code, found.why) if found else None


def test_the_first_plan_covering_region_and_domain_applies(catalog: Catalog) -> None:
    book = PlanBook((FLOOD, EVERYWHERE))

    def chosen(region: str, domain: str) -> str | None:
        found = plan_for(
            book,
            region=region,
            domain=domain,
            tree=catalog.regions,
            domain_ancestors=catalog.domain_ancestors(domain),  # type: ignore[arg-type]
        )
        return found.id if found else None

    assert chosen("D11", "natural.flood") == "flood"
    assert chosen("P1", "natural.flood") == "flood"
    assert chosen("D21", "natural.flood") == "natural"  # outside P1: the catch-all plan
    assert chosen("D11", "natural.storm") == "natural"  # a sub-domain of `natural`
    assert chosen("D11", "supply.water") is None


def test_units_are_named_relative_to_the_region(catalog: Catalog) -> None:
    flood_unit = UnitRef("district", "natural.flood")
    assert resolve(catalog, flood_unit, "D11", "natural.flood") == (
        "D11-FLOOD",
        "the district's natural.flood unit",
    )
    # D12 has no flood unit: the first unit up the chain that handles floods takes the task
    code, why = resolve(catalog, flood_unit, "D12", "natural.flood") or ("", "")
    assert code == "P1-CP"
    assert "none in D12" in why
    assert resolve(catalog, UnitRef("province"), "D11", "natural.flood") == (
        "P1-CP",
        "the province's unit",
    )
    power = resolve(catalog, UnitRef("nation", "infrastructure.power"), "D11", "natural.flood")
    assert power is not None
    assert power[0] == "GRID"
    assert resolve(catalog, UnitRef(code="NAT"), "D21", "x") == ("NAT", "unit NAT")
    assert resolve(catalog, UnitRef(code="NOPE"), "D21", "x") is None


def test_a_task_escalates_to_the_parent_regions_unit(catalog: Catalog) -> None:
    chain = parent_chain(
        catalog.units[UnitCode("D11-FLOOD")],
        domain="natural.flood",
        units=catalog.units,
        tree=catalog.regions,
    )
    assert chain == ["D11-FLOOD", "P1-CP", "NAT"]
    top = parent_chain(
        catalog.units[UnitCode("NAT")],
        domain="natural.flood",
        units=catalog.units,
        tree=catalog.regions,
    )
    assert top == ["NAT"]


def test_plan_levels_and_responses() -> None:
    assert FLOOD.activation_level is Level.ORANGE
    assert [p.level for p in FLOOD.levels_between(None, Level.RED)] == [Level.ORANGE, Level.RED]
    assert [p.level for p in FLOOD.levels_between(Level.ORANGE, Level.RED)] == [Level.RED]
    assert FLOOD.levels_between(Level.RED, Level.RED) == ()
    assert FLOOD.response_at(Level.YELLOW) is None
    assert FLOOD.response_at(Level.ORANGE) is ResponseLevel.III
    assert FLOOD.response_at(Level.RED) is ResponseLevel.I


def test_what_a_warning_transition_does() -> None:
    orange = make_warning("w1", level=Level.ORANGE)
    opened = on_warning(orange, "warning.raised", plan=FLOOD, incident=None)
    assert opened.reason is ActivationReason.OPENED
    assert opened.link
    assert [p.level for p in opened.levels] == [Level.ORANGE]
    assert opened.level is Level.ORANGE
    yellow = make_warning("w1", level=Level.YELLOW)
    assert on_warning(yellow, "warning.raised", plan=FLOOD, incident=None).reason is (
        ActivationReason.BELOW_LEVEL
    )
    assert on_warning(orange, "warning.raised", plan=None, incident=None).reason is (
        ActivationReason.NO_PLAN
    )
    active = make_incident(
        state=IncidentState.ACTIVE,
        plan="flood",
        plan_level=Level.ORANGE,
        links=frozenset({warning_link(orange)}),
    )
    again = on_warning(orange, "warning.raised", plan=FLOOD, incident=active)
    assert again.reason is ActivationReason.UNCHANGED
    assert not again.link
    red = make_warning("w1", level=Level.RED)
    up = on_warning(red, "warning.upgraded", plan=FLOOD, incident=active)
    assert up.reason is ActivationReason.UPGRADED
    assert [p.level for p in up.levels] == [Level.RED]
    other = make_warning("w2", level=Level.ORANGE)
    joined = on_warning(other, "warning.raised", plan=FLOOD, incident=active)
    assert joined.reason is ActivationReason.LINKED
    assert joined.link
    assert on_warning(orange, "warning.acknowledged", plan=FLOOD, incident=active).reason is (
        ActivationReason.IGNORED
    )
    stabilised = make_incident(
        state=IncidentState.STABILISED,
        plan="flood",
        plan_level=Level.ORANGE,
        links=frozenset({warning_link(orange)}),
    )
    back = on_warning(red, "warning.upgraded", plan=FLOOD, incident=stabilised)
    assert back.reason is ActivationReason.ACTIVATED


def test_a_lift_proposes_stand_down_only_for_the_last_open_warning() -> None:
    lifted = make_warning("w1", level=Level.ORANGE, state=WarningState.LIFTED, lifted_at=T0)
    active = make_incident(
        state=IncidentState.ACTIVE,
        plan="flood",
        plan_level=Level.ORANGE,
        links=frozenset({warning_link(lifted)}),
    )
    decide = on_warning
    assert decide(lifted, "warning.lifted", plan=FLOOD, incident=active).reason is (
        ActivationReason.STAND_DOWN_PROPOSED
    )
    assert decide(
        lifted, "warning.lifted", plan=FLOOD, incident=active, others_open=True
    ).reason is (ActivationReason.STILL_WARNED)
    assert decide(lifted, "warning.lifted", plan=FLOOD, incident=None).reason is (
        ActivationReason.NOT_LINKED
    )
    # a raise read after the warning was lifted opens nothing
    assert decide(lifted, "warning.raised", plan=FLOOD, incident=None).reason is (
        ActivationReason.IGNORED
    )
    assert incident_key(FLOOD, "D11") == "flood@D11"
