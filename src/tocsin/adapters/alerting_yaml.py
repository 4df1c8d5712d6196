"""The warning pipeline's configuration: `routes.yaml` and `escalation.yaml`, validated.

Both files are optional (see `tocsin.core.warnings.config.default_config`). Every problem in
either file is collected with its file, its path inside the file and the reason, as
`config_yaml.load_catalog` does, and cross-checked against the catalogue (regions, domains,
units). `tocsin check-config` runs the same validation.
"""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field

from tocsin.adapters.config_errors import read_model
from tocsin.core.catalog import Catalog
from tocsin.core.domains import DomainCode
from tocsin.core.errors import InvalidConfig, Problem
from tocsin.core.levels import Level
from tocsin.core.units import UnitCode
from tocsin.core.warnings.config import AlertingConfig
from tocsin.core.warnings.escalation import (
    TO_PARENT,
    TO_RESPONSIBLE,
    EscalationPolicy,
    EscalationStep,
)
from tocsin.core.warnings.inhibition import InhibitRule, InhibitScope, default_inhibit_rules
from tocsin.core.warnings.mute_windows import MuteWindow, TimeRange
from tocsin.core.warnings.outbox import Address, Channel, PayloadFormat
from tocsin.core.warnings.pacing import DEFAULT_PACE, PaceLimits
from tocsin.core.warnings.routing import RESPONSIBLE, Route, Timing
from tocsin.core.warnings.selectors import Selector, parse_matcher

FILES = ("routes.yaml", "escalation.yaml")
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MatchSpec(_Strict):
    """What a route, rule, silence or policy applies to."""

    region: str | None = None
    domain: str | None = None
    levels: list[Level] = []
    matchers: list[str] = []


class RouteSpec(_Strict):
    """A node of the routing tree; unset values are inherited from the parent."""

    match: MatchSpec = MatchSpec()
    receiver: str | None = None
    group_by: list[str] | None = None
    group_wait_s: float | None = Field(default=None, ge=0)
    group_interval_s: float | None = Field(default=None, gt=0)
    repeat_interval_s: float | None = Field(default=None, gt=0)
    mute_windows: list[str] | None = None
    continue_: bool = Field(default=False, alias="continue")
    routes: list[RouteSpec] = []


class WebhookSpec(_Strict):
    """A webhook address of a named receiver, and how fast it may be sent to (pacing.py)."""

    url: str = Field(pattern=r"^https?://")
    format: PayloadFormat = PayloadFormat.TOCSIN
    max_in_flight: int | None = Field(default=None, ge=1, le=1000)  # requests at once
    rate_per_s: float | None = Field(default=None, gt=0, le=100_000)  # on average
    burst: int | None = Field(default=None, ge=1, le=100_000)  # above the rate, at once


class ReceiverSpec(_Strict):
    """A named receiver (besides the units, which are receivers by their code)."""

    name: str = Field(min_length=1)
    webhooks: list[WebhookSpec] = []
    emails: list[str] = []
    files: list[str] = []  # JSON lines files; a relative path is relative to routes.yaml


class InhibitSpec(_Strict):
    """An inhibit rule."""

    name: str
    scope: InhibitScope
    source: MatchSpec = MatchSpec()
    target: MatchSpec = MatchSpec()
    equal: list[str] = []


class TimeSpec(_Strict):
    """A daily time range, local time, `HH:MM`; a range over midnight is allowed."""

    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")


class MuteWindowSpec(_Strict):
    """A recurring mute window."""

    name: str
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = []
    times: list[TimeSpec] = []
    days_of_month: list[int] = []
    timezone: str = "UTC"


class RoutesFile(_Strict):
    """routes.yaml."""

    route: RouteSpec = RouteSpec()
    receivers: list[ReceiverSpec] = []
    inhibit_rules: list[InhibitSpec] | None = None
    mute_windows: list[MuteWindowSpec] = []
    silence_notices_to: list[str] = []


class StepSpec(_Strict):
    """An escalation step."""

    after_s: float = Field(ge=0)
    to: str = TO_PARENT


class PolicySpec(_Strict):
    """An escalation policy."""

    name: str
    match: MatchSpec = MatchSpec()
    steps: list[StepSpec] = Field(min_length=1)


class EscalationFile(_Strict):
    """escalation.yaml."""

    policies: list[PolicySpec] = []


def _parse(path: Path, model: type[BaseModel], problems: list[Problem]) -> Any:
    return read_model(path, model, problems)


class _Checker:
    """Builds core types from specs, adding cross-reference problems as it goes."""

    def __init__(self, catalog: Catalog, problems: list[Problem]) -> None:
        self.catalog = catalog
        self.problems = problems
        self.receivers: set[str] = {RESPONSIBLE, *catalog.units}
        self.windows: set[str] = set()

    def add(self, where: Path, path: str, reason: str) -> None:
        self.problems.append(Problem(str(where), path, reason))

    def selector(self, spec: MatchSpec, where: Path, path: str) -> Selector:
        if spec.region is not None and spec.region not in self.catalog.regions:
            self.add(where, f"{path}.region", f"unknown region {spec.region!r}")
        if spec.domain is not None and DomainCode(spec.domain) not in self.catalog.domains:
            self.add(where, f"{path}.domain", f"unknown domain {spec.domain!r}")
        matchers = []
        for i, text in enumerate(spec.matchers):
            try:
                matchers.append(parse_matcher(text))
            except ValueError as err:
                self.add(where, f"{path}.matchers[{i}]", str(err))
        return Selector(spec.region, spec.domain, frozenset(spec.levels), tuple(matchers))

    def route(self, spec: RouteSpec, parent: Route | None, rid: str, where: Path) -> Route:
        path = "route" + "".join(f".routes[{p}]" for p in rid.split(".")[1:])
        base = parent or Route(rid)
        receiver = spec.receiver or base.receiver
        if (spec.receiver is not None or parent is None) and receiver not in self.receivers:
            self.add(where, f"{path}.receiver", f"unknown receiver {receiver!r}")
        for name in spec.mute_windows or []:
            if name not in self.windows:
                self.add(where, f"{path}.mute_windows", f"unknown mute window {name!r}")
        t = base.timing
        timing = Timing(
            _secs(spec.group_wait_s, t.group_wait),
            _secs(spec.group_interval_s, t.group_interval),
            _secs(spec.repeat_interval_s, t.repeat_interval),
        )
        node = Route(
            rid,
            self.selector(spec.match, where, f"{path}.match"),
            receiver,
            tuple(spec.group_by) if spec.group_by is not None else base.group_by,
            timing,
            tuple(spec.mute_windows) if spec.mute_windows is not None else base.mute_windows,
            spec.continue_,
        )
        children = tuple(
            self.route(child, node, f"{rid}.{i}", where) for i, child in enumerate(spec.routes)
        )
        return Route(
            node.id,
            node.selector,
            node.receiver,
            node.group_by,
            node.timing,
            node.mute_windows,
            node.continue_,
            children,
        )

    def window(self, spec: MuteWindowSpec, where: Path, path: str) -> MuteWindow:
        try:
            ZoneInfo(spec.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.add(where, f"{path}.timezone", f"unknown time zone {spec.timezone!r}")
        for i, day in enumerate(spec.days_of_month):
            if not 1 <= day <= 31:
                self.add(where, f"{path}.days_of_month[{i}]", "must be 1..31")
        ranges: list[TimeRange] = []
        for r in spec.times:
            start, end = _hhmm(r.start), _hhmm(r.end)
            if end != time(0, 0) and end <= start:  # over midnight: two ranges
                ranges += [TimeRange(start, time(0, 0)), TimeRange(time(0, 0), end)]
            else:
                ranges.append(TimeRange(start, end))
        return MuteWindow(
            spec.name,
            frozenset(WEEKDAYS[d] for d in spec.weekdays),
            tuple(ranges),
            frozenset(spec.days_of_month),
            spec.timezone if not self._bad_zone(spec.timezone) else "UTC",
        )

    @staticmethod
    def _bad_zone(name: str) -> bool:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return True
        return False


def _secs(value: float | None, default: timedelta) -> timedelta:
    return default if value is None else timedelta(seconds=value)


def _hhmm(text: str) -> time:
    if text == "24:00":
        return time(0, 0)
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def receiver_addresses(spec: ReceiverSpec, where: Path) -> list[Address]:
    """A receiver's webhooks, e-mails and files (relative to the file that names them)."""
    addresses = [Address(Channel.WEBHOOK, w.url, w.format) for w in spec.webhooks]
    addresses += [Address(Channel.EMAIL, e) for e in spec.emails]
    addresses += [Address(Channel.FILE, str((where.parent / f).resolve())) for f in spec.files]
    return addresses


def _routes(doc: RoutesFile, check: _Checker, where: Path) -> dict[str, Any]:
    receivers: dict[str, tuple[Address, ...]] = {}
    for i, r in enumerate(doc.receivers):
        if r.name in receivers or r.name in check.catalog.units or r.name == RESPONSIBLE:
            check.add(where, f"receivers[{i}].name", f"receiver name {r.name!r} is taken")
        addresses = receiver_addresses(r, where)
        if not addresses:
            check.add(where, f"receivers[{i}]", "a receiver needs a webhook, an e-mail or a file")
        receivers[r.name] = tuple(addresses)
    check.receivers |= set(receivers)
    pacing = {
        w.url: _pace(w) for r in doc.receivers for w in r.webhooks if _pace(w) != DEFAULT_PACE
    }
    windows = {}
    for i, w in enumerate(doc.mute_windows):
        windows[w.name] = check.window(w, where, f"mute_windows[{i}]")
    check.windows = set(windows)
    root = check.route(doc.route, None, "0", where)
    rules = default_inhibit_rules()
    if doc.inhibit_rules is not None:
        rules = tuple(
            InhibitRule(
                r.name,
                r.scope,
                check.selector(r.source, where, f"inhibit_rules[{i}].source"),
                check.selector(r.target, where, f"inhibit_rules[{i}].target"),
                tuple(r.equal),
            )
            for i, r in enumerate(doc.inhibit_rules)
        )
    for i, name in enumerate(doc.silence_notices_to):
        if name not in check.receivers or name == RESPONSIBLE:
            check.add(where, f"silence_notices_to[{i}]", f"unknown receiver {name!r}")
    return {
        "root": root,
        "receivers": receivers,
        "inhibit_rules": rules,
        "mute_windows": windows,
        "silence_notices_to": tuple(doc.silence_notices_to),
        "pacing": pacing,
    }


def _pace(spec: WebhookSpec) -> PaceLimits:
    """A webhook's pacing: what it sets, the defaults for the rest."""
    return PaceLimits(
        in_flight=spec.max_in_flight or DEFAULT_PACE.in_flight,
        rate_per_s=spec.rate_per_s,
        burst=spec.burst or DEFAULT_PACE.burst,
    )


def _policies(doc: EscalationFile, check: _Checker, where: Path) -> tuple[EscalationPolicy, ...]:
    out = []
    for i, p in enumerate(doc.policies):
        steps = []
        for k, s in enumerate(p.steps):
            if (
                s.to not in (TO_PARENT, TO_RESPONSIBLE)
                and UnitCode(s.to) not in check.catalog.units
            ):
                check.add(where, f"policies[{i}].steps[{k}].to", f"unknown unit {s.to!r}")
            if k and s.after_s < p.steps[k - 1].after_s:
                check.add(
                    where, f"policies[{i}].steps[{k}].after_s", "steps must not go back in time"
                )
            steps.append(EscalationStep(timedelta(seconds=s.after_s), s.to))
        selector = check.selector(p.match, where, f"policies[{i}].match")
        out.append(EscalationPolicy(p.name, tuple(steps), selector))
    return tuple(out)


def load_alerting(directory: Path, catalog: Catalog) -> AlertingConfig:
    """Read and validate routes.yaml and escalation.yaml; raise InvalidConfig listing problems."""
    problems: list[Problem] = []
    check = _Checker(catalog, problems)
    values: dict[str, Any] = {}
    routes_path, escalation_path = directory / FILES[0], directory / FILES[1]
    if routes_path.exists():
        doc = _parse(routes_path, RoutesFile, problems)
        if doc is not None:
            values.update(_routes(doc, check, routes_path))
    if escalation_path.exists():
        esc = _parse(escalation_path, EscalationFile, problems)
        if esc is not None:
            values["escalation"] = _policies(esc, check, escalation_path)
    if problems:
        raise InvalidConfig(problems)
    return AlertingConfig(**values)
