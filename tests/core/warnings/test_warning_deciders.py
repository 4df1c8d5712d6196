"""Selectors, silences, mute windows, inhibition and routing: the pure deciders."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.core.errors import Conflict, InvalidInput
from tocsin.core.levels import Level
from tocsin.core.warnings.inhibition import (
    InhibitRule,
    InhibitScope,
    default_inhibit_rules,
    inhibited_by,
)
from tocsin.core.warnings.mute_windows import MuteWindow, TimeRange, muted_by
from tocsin.core.warnings.routing import Route, group_key, match_routes
from tocsin.core.warnings.selectors import Matcher, MatchOp, Selector, Target, parse_matcher
from tocsin.core.warnings.silences import (
    Silence,
    SilenceId,
    SilenceState,
    expire,
    silenced_by,
    validate_silence,
)

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # a Monday
CHAINS = {"D11": ("D11", "P1", "N"), "D12": ("D12", "P1", "N"), "P1": ("P1", "N"), "N": ("N",)}


def make_target(**overrides: Any) -> Target:
    """A target in district D11, domain natural.flood, yellow, unless overridden."""
    region = overrides.pop("region", "D11")
    domain = overrides.pop("domain", "natural.flood")
    level = overrides.pop("level", Level.YELLOW)
    wid = overrides.pop("warning_id", f"w-{region}-{domain}-{level.value}")
    labels = {"region": region, "domain": domain, "level": level.value, "unit": "U-" + region}
    labels.update(overrides.pop("labels", {}))
    return Target(
        warning_id=wid,
        fingerprint="fp-" + wid,
        level=level,
        labels=labels,
        regions=CHAINS[region],
        domains=(domain, domain.split(".")[0]),
        depends_on=overrides.pop("depends_on", frozenset()),
    )


def make_silence(**overrides: Any) -> Silence:
    """A silence of D11's flood warnings for one hour from T0."""
    values: dict[str, Any] = {
        "id": SilenceId("s1"),
        "selector": Selector(region="D11", domain="natural.flood"),
        "starts_at": T0,
        "ends_at": T0 + timedelta(hours=1),
        "created_by": "alice",
        "reason": "gauge maintenance",
        "created_at": T0,
    }
    values.update(overrides)
    return Silence(**values)


# -- matchers and selectors -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("a=x", {"a": "x"}, True),
        ("a=x", {"a": "xy"}, False),
        ("a!=x", {}, True),
        ('a=~"x|y"', {"a": "y"}, True),
        ("a=~x", {"a": "xx"}, False),  # anchored
        ("a!~x.*", {"a": "xyz"}, False),
        ("a=", {}, True),  # missing label reads as empty
    ],
)
def test_matchers(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_matcher(text).matches(labels) is expected


def test_bad_matchers_are_rejected() -> None:
    with pytest.raises(ValueError, match="not a matcher"):
        parse_matcher("no operator")
    with pytest.raises(ValueError, match="regular expression"):
        parse_matcher("a=~(")


@given(st.text(alphabet="abc", max_size=5), st.text(alphabet="abc", max_size=5))
def test_equal_and_not_equal_are_complements(value: str, have: str) -> None:
    labels = {"k": have}
    assert Matcher("k", MatchOp.EQ, value).matches(labels) != Matcher(
        "k", MatchOp.NE, value
    ).matches(labels)


def test_selector_region_subtree_and_domain_prefix() -> None:
    t = make_target()
    assert Selector(region="P1").matches(t)
    assert Selector(region="D11").matches(t)
    assert not Selector(region="D12").matches(t)
    assert Selector(domain="natural").matches(t)
    assert not Selector(domain="natural.fl").matches(t)
    assert not Selector(levels=frozenset({Level.RED})).matches(t)


# -- silences ---------------------------------------------------------------------------------
def test_silence_states_over_time() -> None:
    s = make_silence(starts_at=T0 + timedelta(minutes=5))
    assert s.state(T0) is SilenceState.PENDING
    assert s.state(T0 + timedelta(minutes=5)) is SilenceState.ACTIVE
    assert s.state(T0 + timedelta(hours=1)) is SilenceState.EXPIRED


@given(st.integers(min_value=-120, max_value=120))
def test_silenced_exactly_while_active(minute: int) -> None:
    s = make_silence()
    now = T0 + timedelta(minutes=minute)
    assert bool(silenced_by(make_target(), [s], now)) == (0 <= minute < 60)
    assert silenced_by(make_target(region="D12"), [s], now) == ()


def test_silence_needs_owner_reason_expiry_and_scope() -> None:
    with pytest.raises(InvalidInput) as err:
        validate_silence(
            make_silence(created_by=" ", reason="", selector=Selector(), ends_at=T0), T0
        )
    fields = {p.field for p in err.value.problems}
    assert fields == {"created_by", "reason", "ends_at", "matchers"}
    with pytest.raises(InvalidInput, match="at most 30 days"):
        validate_silence(make_silence(ends_at=T0 + timedelta(days=31)), T0)
    assert validate_silence(make_silence(), T0).id == "s1"


def test_expire_ends_now_and_only_once() -> None:
    now = T0 + timedelta(minutes=10)
    done = expire(make_silence(), actor="bob", now=now)
    assert done.ends_at == now
    assert done.expired_by == "bob"
    assert done.state(now) is SilenceState.EXPIRED
    with pytest.raises(Conflict):
        expire(done, actor="bob", now=now)


# -- mute windows -----------------------------------------------------------------------------
def test_mute_window_weekdays_times_and_zone() -> None:
    night = MuteWindow(
        "maintenance",
        weekdays=frozenset({0}),
        times=(TimeRange(time(13, 0), time(14, 0)),),
        timezone="Europe/Berlin",
    )
    # T0 is Monday 12:00 UTC = 13:00 in Berlin (CET, UTC+1)
    assert night.is_in_effect(T0)
    assert not night.is_in_effect(T0 + timedelta(hours=1))
    assert not night.is_in_effect(T0 + timedelta(days=1))
    assert muted_by(["maintenance", "unknown"], {"maintenance": night}, T0) == ("maintenance",)
    until_midnight = MuteWindow("late", times=(TimeRange(time(22, 0), time(0, 0)),))
    assert until_midnight.is_in_effect(T0.replace(hour=23, minute=59))
    assert not until_midnight.is_in_effect(T0.replace(hour=0, minute=0))


# -- inhibition -------------------------------------------------------------------------------
def test_province_red_inhibits_district_yellows_of_the_same_domain() -> None:
    rules = default_inhibit_rules()
    red = make_target(region="P1", level=Level.RED)
    yellow_d11 = make_target(region="D11")
    yellow_d12 = make_target(region="D12")
    other_domain = make_target(region="D11", domain="supply.water")
    assert inhibited_by(yellow_d11, [red], rules) == (red.warning_id,)
    assert inhibited_by(yellow_d12, [red], rules) == (red.warning_id,)
    assert inhibited_by(other_domain, [red], rules) == ()
    # the province red does not inhibit itself nor a district red
    assert inhibited_by(red, [red], rules) == ()
    assert inhibited_by(make_target(level=Level.RED), [red], rules) == ()
    # an orange province warning inhibits nothing under the default rules
    assert inhibited_by(yellow_d11, [make_target(region="P1", level=Level.ORANGE)], rules) == ()


def test_asset_warning_inhibits_dependants_only() -> None:
    rule = InhibitRule("assets", InhibitScope.DEPENDENT_ASSET)
    sub = make_target(domain="infrastructure.power", labels={"asset": "SUB"}, level=Level.RED)
    water = make_target(
        domain="supply.water", labels={"asset": "WTR"}, depends_on=frozenset({"SUB"})
    )
    unrelated = make_target(domain="health", labels={"asset": "HSP"})
    assert inhibited_by(water, [sub], [rule]) == (sub.warning_id,)
    assert inhibited_by(unrelated, [sub], [rule]) == ()
    assert inhibited_by(sub, [water], [rule]) == ()


# -- routing ----------------------------------------------------------------------------------
def test_routing_first_match_continue_and_fallback() -> None:
    power = Route("0.0", Selector(domain="infrastructure.power"), receiver="GRID", continue_=True)
    red = Route("0.1", Selector(levels=frozenset({Level.RED})), receiver="NAT")
    floods = Route("0.2", Selector(domain="natural.flood"))
    root = Route("0", routes=(power, red, floods))
    assert match_routes(root, make_target()) == [floods]
    assert match_routes(root, make_target(level=Level.RED)) == [red]
    assert match_routes(root, make_target(domain="infrastructure.power", level=Level.RED)) == [
        power,
        red,
    ]
    assert match_routes(root, make_target(domain="supply.water")) == [root]


@given(st.sampled_from(["D11", "D12", "P1"]), st.sampled_from(list(Level)))
def test_group_key_depends_only_on_receiver_and_group_by(region: str, level: Level) -> None:
    route = Route("0", group_by=("domain",))
    a = group_key(route, make_target(region=region, level=level))
    b = group_key(route, make_target(region=region, level=Level.BLUE))
    assert a == b
    assert a.receiver == "U-" + region
    assert a.id == group_key(route, make_target(region=region)).id
