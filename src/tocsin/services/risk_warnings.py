"""Risk feeds warnings: a region's composite-index class drives a warning's level.

Each classified (region, node) of a computed risk model is compared with the open warning of the
same fingerprint (source "risk", subject "<model>:<node>", region, domain): a class mapped to a
higher level raises or upgrades it, a lower one downgrades it, a class mapped to no level lifts
it. Everything goes through the same lifecycle and audit trail as indicator warnings.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from functools import partial

from tocsin.core.audit import from_warning_event
from tocsin.core.domains import DomainCode
from tocsin.core.levels import Level
from tocsin.core.regions import RegionCode
from tocsin.core.warnings.model import (
    Command,
    CommandKind,
    Place,
    Warning,
    WarningEvent,
    fingerprint,
)
from tocsin.ports import Bus, Clock, Store
from tocsin.services.publishing import warning_message
from tocsin.services.risk import RegionClass
from tocsin.services.warning_changes import WarningChanges

ACTOR = "rule:risk"


def reconcile_risk_warnings(
    store: Store,
    bus: Bus,
    clock: Clock,
    *,
    model: str,
    domain: str,
    levels: Sequence[RegionClass],
    known_regions: Collection[str],
    names: Mapping[str, str] | None = None,
) -> list[WarningEvent]:
    """Bring risk warnings in line with the classes; return the transitions made.

    `names` gives each node a name for people (shown instead of `<model>:<node>`).
    """
    now = clock.now()
    wanted = {
        fingerprint("risk", f"{model}:{r.node}", r.region, domain): r
        for r in levels
        if r.region in known_regions
    }
    with store.transaction() as tx:
        found = WarningChanges.load(tx, list(wanted))
        for fp, item in wanted.items():
            target = Level(item.level) if item.level else None
            command = _command(
                item, model, found.current(fp), target, name=(names or {}).get(item.node)
            )
            if command is not None:
                place = partial(_place, item, model=model, domain=domain)
                found.apply(fp, command, at=now, place=place)
        events = found.save(tx)
        tx.audit.append([from_warning_event(e) for e in events])
    for event in events:
        bus.publish("warnings", warning_message(event))
    return events


def _command(
    item: RegionClass,
    model: str,
    current: Warning | None,
    target: Level | None,
    *,
    name: str | None = None,
) -> Command | None:
    cause = {"model": model, "node": item.node, "value": item.value, "class": item.label}
    if target is None:
        if current is None:
            return None
        reason = f"{model} {item.node} = {item.value:g} is {item.label}: no warning level"
        return Command(CommandKind.LIFT, ACTOR, reason, None, cause, None)
    if current is not None and target is current.level:
        return None
    reason = (
        f"{model} {item.node} = {item.value:g} is in class {item.label} "
        f"[{item.lower:g}, {item.upper:g})"
    )
    explanation = {
        "rule": "risk",
        "model": model,
        "node": item.node,
        "value": item.value,
        "class": item.label,
        "class_bounds": [item.lower, item.upper],
        "level": target.value,
        "name": name or f"{model}:{item.node}",
    }
    return Command(CommandKind.RAISE, ACTOR, reason, target, cause, explanation)


def _place(item: RegionClass, *, model: str, domain: str) -> Place:
    labels = {
        "model": model,
        "node": item.node,
        "region": item.region,
        "domain": domain,
        "source": "risk",
    }
    subject = f"{model}:{item.node}"
    return Place("risk", subject, RegionCode(item.region), DomainCode(domain), labels)
