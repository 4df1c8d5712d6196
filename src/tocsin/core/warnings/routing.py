"""Stage 1, route: which responsible unit (receiver) hears of a warning, grouped how.

As in Alertmanager, every warning enters at the root; it descends into the first child whose
selector matches (and further children too when that child says `continue`); the deepest matching
routes win. Children inherit receiver, grouping and timing from their parent when they leave them
unset (resolved when the configuration is built). The receiver `responsible` means the unit
responsible for the warning's (region, domain), i.e. the first unit of its responsible chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Final

from tocsin.core.warnings.selectors import Selector, Target

RESPONSIBLE: Final = "responsible"
NO_UNIT: Final = ""


@dataclass(frozen=True, slots=True)
class Timing:
    """Grouping delays (Alertmanager's group_wait, group_interval, repeat_interval)."""

    group_wait: timedelta = timedelta(seconds=30)
    group_interval: timedelta = timedelta(minutes=5)
    repeat_interval: timedelta = timedelta(hours=4)


@dataclass(frozen=True, slots=True)
class Route:
    """A node of the routing tree (values already inherited from its parents)."""

    id: str
    selector: Selector = field(default_factory=Selector)
    receiver: str = RESPONSIBLE
    group_by: tuple[str, ...] = ("region", "domain")
    timing: Timing = field(default_factory=Timing)
    mute_windows: tuple[str, ...] = ()
    continue_: bool = False
    routes: tuple[Route, ...] = ()

    def walk(self) -> list[Route]:
        """This route and all below it, depth first."""
        out = [self]
        for child in self.routes:
            out.extend(child.walk())
        return out


def match_routes(root: Route, target: Target) -> list[Route]:
    """The routes a target ends up on (the root matches everything)."""
    return _match(root, target)


def _match(route: Route, target: Target) -> list[Route]:
    found: list[Route] = []
    for child in route.routes:
        if not child.selector.matches(target):
            continue
        found.extend(_match(child, target))
        if not child.continue_:
            break
    return found or [route]


def receiver_for(route: Route, target: Target) -> str:
    """The receiver name of a target on a route (`responsible` resolved to the unit code)."""
    if route.receiver == RESPONSIBLE:
        return target.labels.get("unit", NO_UNIT)
    return route.receiver


@dataclass(frozen=True, slots=True)
class GroupKey:
    """Which aggregation group a target belongs to on a route."""

    route_id: str
    receiver: str
    labels: tuple[tuple[str, str], ...]
    id: str = field(init=False, compare=False)  # a stable short identity for storage

    def __post_init__(self) -> None:
        raw = "\x1f".join([self.route_id, self.receiver, *(f"{k}={v}" for k, v in self.labels)])
        object.__setattr__(self, "id", hashlib.sha256(raw.encode()).hexdigest()[:24])

    def as_labels(self) -> dict[str, str]:
        """The group's common labels."""
        return dict(self.labels)


def group_key(route: Route, target: Target) -> GroupKey:
    """The group of a target on a route: receiver plus the values of the route's group_by."""
    labels: Mapping[str, str] = target.labels
    return GroupKey(
        route.id, receiver_for(route, target), tuple((n, labels.get(n, "")) for n in route.group_by)
    )


class RouteReason(StrEnum):
    """Why a warning joins, stays in, or leaves a group."""

    JOINED = "joined"  # a matching route names a receiver: the warning enters its group
    STAYED = "stayed"  # it is in that group already (its level changed: the group looks again)
    LEFT = "left"  # it no longer belongs to a group it was in (its labels changed)
    NO_RECEIVER = "no_receiver"  # a route matches but nobody receives it (no responsible unit)


@dataclass(frozen=True, slots=True)
class GroupMove:
    """One outcome of routing a warning: the group (by id) and why."""

    reason: RouteReason
    group_id: str
    route_id: str
    key: GroupKey | None = None  # set for JOINED and STAYED


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """Where a warning belongs after a transition, as moves with reasons."""

    moves: tuple[GroupMove, ...]


def route(target: Target, root: Route, *, current: Collection[str]) -> RouteDecision:
    """The groups a target belongs to now, given the groups (`current`) it was in."""
    moves: list[GroupMove] = []
    kept: set[str] = set()
    for matched in match_routes(root, target):
        key = group_key(matched, target)
        if not key.receiver:
            moves.append(GroupMove(RouteReason.NO_RECEIVER, key.id, matched.id))
            continue
        kept.add(key.id)
        reason = RouteReason.STAYED if key.id in current else RouteReason.JOINED
        moves.append(GroupMove(reason, key.id, matched.id, key))
    moves += [GroupMove(RouteReason.LEFT, g, "") for g in sorted(set(current) - kept)]
    return RouteDecision(tuple(moves))
