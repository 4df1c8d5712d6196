"""One warning per indicator: its threshold and detector rules' level changes, merged in time order.

An indicator can have two rules (its thresholds on the raw values, a detector's score
thresholds). Both raise under one fingerprint (source "indicator"), so one reading that
crosses both shows as ONE warning. The warning's level is the highest level either rule holds;
it is lifted only when both are back to normal. A rule's change that leaves that maximum as it
was is no transition: it only updates the warning's record of causes. The explanation keeps
each holding rule's own explanation under `causes` (the dominant rule's stays at the top, as a
single-rule warning has it) and the cause names the level each rule holds under `rules`.

Warnings raised before this correlation (sources "threshold" and "detector", one fingerprint
each) are adopted when their indicator next changes: the higher one is re-keyed to the
indicator's fingerprint and carries both causes, the other is lifted as merged into it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from itertools import groupby
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from tocsin.core.indicators import Indicator
from tocsin.core.levels import Level
from tocsin.core.rules.thresholds import LevelChanges
from tocsin.core.warnings import lifecycle
from tocsin.core.warnings.model import Command, CommandKind, Warning, WarningEvent, fingerprint
from tocsin.ports import StoreSession
from tocsin.services.level_changes import LevelRule, level_command, rule_place
from tocsin.services.warning_changes import WarningChanges

SOURCE = "indicator"
LEGACY_SOURCES = ("threshold", "detector")  # one warning per rule, before correlation
MERGE_ACTOR = "rule:indicator"

I64 = npt.NDArray[np.int64]


class IndicatorRule(LevelRule, Protocol):
    """A rule over an indicator's observations; its changes share the indicator's warning."""

    @property
    def name(self) -> str:
        """The rule's name among the indicator's causes ("threshold", "detector")."""


@dataclass(frozen=True)
class RuleChanges:
    """One rule's level changes over a chunk, with what merging them with the others needs."""

    rule: IndicatorRule
    changes: LevelChanges
    times: I64  # epoch seconds of the rule's observations (indexed by `changes.obs_index`)
    ident_of: I64  # indicator id of each rule-local series
    local_of: I64  # rule-local series of each indicator id (-1: the rule does not watch it)
    held: npt.NDArray[np.int8]  # level the rule holds per rule-local series after the chunk
    seen: tuple[I64, I64]  # (series, times) of the rows after which the rule holds a level

    def level_now(self, ident: int) -> int:
        """The level the rule holds for an indicator after the chunk (0 if it does not watch it)."""
        local = int(self.local_of[ident])
        return int(self.held[local]) if local >= 0 else 0


def indicator_fingerprint(ind: Indicator) -> str:
    """One open warning per indicator (region, domain), whichever of its rules raised it."""
    return fingerprint(SOURCE, ind.code, ind.region, ind.domain)


def apply_indicator_changes(tx: StoreSession, found: Sequence[RuleChanges]) -> list[WarningEvent]:
    """Walk the rules' changes by (time, indicator), keep one warning per indicator at the
    highest level its rules hold, save the warnings and touch the ones still held."""
    steps = _steps(found)
    events: list[WarningEvent] = []
    if steps:
        inds, first_at, levels = _before(found, steps)
        warnings, fps = _load(tx, inds, first_at)
        for (t, ident), group in groupby(steps, key=lambda s: (s[0], s[1])):
            at = datetime.fromtimestamp(t, UTC)
            commands: dict[str, Command] = {}
            for _, _, r, k in group:
                f, c = found[r], found[r].changes
                s, new = int(c.series[k]), int(c.new_level[k])
                levels[ident][r] = new
                idx = int(c.obs_index[k])
                commands[f.rule.name] = f.rule.command(s, int(c.old_level[k]), new, idx, at)
                place = partial(rule_place, f.rule, s)
            held = {f.rule.name: lv for f, lv in zip(found, levels[ident], strict=True)}
            _settle(warnings, fps[ident], held=held, commands=commands, at=at, place=place)
        events = warnings.save(tx)
    _touch(tx, found)
    return events


def _touch(tx: StoreSession, found: Sequence[RuleChanges]) -> None:
    """Move `last_seen_at` of the warnings still held to the latest row that holds them (also
    of warnings raised before the correlation, until their indicator next changes)."""
    last: dict[str, datetime] = {}
    for f in found:
        series, times = f.seen
        for s, t in dict(zip(series.tolist(), times.tolist(), strict=True)).items():
            at = datetime.fromtimestamp(t, UTC)
            for fp in _fingerprints(f.rule.indicator(s)):
                last[fp] = max(last.get(fp, at), at)
    if last:
        open_by_fp = tx.warnings.open_by_fingerprint(list(last))
        seen = {w.id: last[fp] for fp, w in open_by_fp.items() if last[fp] > w.last_seen_at}
        tx.warnings.touch(seen)


def _fingerprints(ind: Indicator) -> list[str]:
    """The indicator's fingerprint, then those its rules' warnings had before the correlation."""
    keys = (ind.code, ind.region, ind.domain)
    return [indicator_fingerprint(ind), *(fingerprint(src, *keys) for src in LEGACY_SOURCES)]


def _before(
    found: Sequence[RuleChanges], steps: Sequence[tuple[int, int, int, int]]
) -> tuple[dict[int, Indicator], dict[int, datetime], dict[int, list[int]]]:
    """The indicators the steps change, the moment of each one's first change, and the level
    each rule held for it before the chunk (the old level of its first change here)."""
    inds: dict[int, Indicator] = {}
    first_at: dict[int, datetime] = {}
    levels: dict[int, list[int]] = {}
    started: set[tuple[int, int]] = set()
    for t, ident, r, k in steps:
        if ident not in inds:
            inds[ident] = found[r].rule.indicator(int(found[r].changes.series[k]))
            first_at[ident] = datetime.fromtimestamp(t, UTC)
            levels[ident] = [f.level_now(ident) for f in found]
        if (ident, r) not in started:
            started.add((ident, r))
            levels[ident][r] = int(found[r].changes.old_level[k])
    return inds, first_at, levels


def _steps(found: Sequence[RuleChanges]) -> list[tuple[int, int, int, int]]:
    """Every change as (time, indicator id, rule position, change index), in that order."""
    parts = [
        np.stack(
            [
                f.times[f.changes.obs_index],
                f.ident_of[f.changes.series],
                np.full(len(f.changes), r, dtype=np.int64),
                np.arange(len(f.changes), dtype=np.int64),
            ]
        )
        for r, f in enumerate(found)
        if len(f.changes)
    ]
    if not parts:
        return []
    rows = np.concatenate(parts, axis=1)
    order = np.lexsort((rows[3], rows[2], rows[1], rows[0]))
    return [tuple(row) for row in rows[:, order].T.tolist()]


def _settle(
    warnings: WarningChanges,
    fp: str,
    *,
    held: Mapping[str, int],
    commands: Mapping[str, Command],
    at: datetime,
    place: partial[Any],
) -> None:
    """Bring the indicator's warning to the highest level its rules hold after `commands`."""
    current = warnings.current(fp)
    causes: dict[str, Any] = dict(current.explanation.get("causes", {})) if current else {}
    for name, command in commands.items():
        if command.level is None:
            causes.pop(name, None)
        else:
            entry = {**(command.explanation or {}), "reason": command.reason}
            causes[name] = {**entry, "cause": dict(command.cause or {})}
    target = max(held.values())
    dominant = next((n for n, lv in held.items() if lv == target), "") if target else ""
    rules = {n: Level.from_rank(lv).value for n, lv in held.items() if lv}
    if dominant:
        entry = causes.get(dominant, {})
        cause: dict[str, Any] = {**entry.get("cause", {}), "rules": rules}
        top = {k: v for k, v in entry.items() if k not in ("cause", "reason")}
        explanation: dict[str, Any] | None = {**top, "causes": causes}
    else:
        cause, explanation = {**(next(iter(commands.values())).cause or {}), "rules": {}}, None
    now = current.level.rank if current is not None else 0
    if target == now:  # no transition: the record of causes only
        if current is not None and explanation is not None:
            seen = max(current.last_seen_at, at)
            revised = replace(current, cause=cause, explanation=explanation, last_seen_at=seen)
            warnings.keep(revised, fp=fp)
        return
    actor = (commands.get(dominant) or next(iter(commands.values()))).actor
    command = level_command(
        kind_old=now,
        new=target,
        actor=actor,
        reason=_reason(commands, dominant=dominant, rules=rules, causes=causes),
        cause=cause,
        explanation=explanation,
    )
    warnings.apply(fp, command, at=at, place=place)


def _reason(
    commands: Mapping[str, Command],
    *,
    dominant: str,
    rules: Mapping[str, str],
    causes: Mapping[str, Any],
) -> str:
    """The dominant rule's reason, naming the other rules' levels; when the dominant rule did
    not change (the one that did went back), the change and what still holds the level."""
    if not dominant:
        parts = [c.reason for c in commands.values()]
    elif dominant in commands:
        parts = [commands[dominant].reason]
    else:
        held = causes.get(dominant, {}).get("reason", "")
        parts = [c.reason for c in commands.values()]
        parts.append(f"still {rules[dominant]} by the {dominant} rule: {held}".rstrip(": "))
    parts += [f"{name}: {level}" for name, level in rules.items() if name != dominant]
    return "; ".join(parts)


def _load(
    tx: StoreSession, inds: Mapping[int, Indicator], first_at: Mapping[int, datetime]
) -> tuple[WarningChanges, dict[int, str]]:
    """The indicators' open warnings by fingerprint, adopting any raised before correlation."""
    fps = {i: indicator_fingerprint(ind) for i, ind in inds.items()}
    legacy = {fp: i for i, ind in inds.items() for fp in _fingerprints(ind)[1:]}
    found = tx.warnings.open_by_fingerprint([*fps.values(), *legacy])
    warnings = WarningChanges({fp: w for fp, w in found.items() if fp not in legacy})
    olds: dict[int, list[Warning]] = {}
    for fp, w in found.items():
        if fp in legacy:
            olds.setdefault(legacy[fp], []).append(w)
    for i, ws in olds.items():
        _adopt(warnings, fps[i], ws, at=first_at[i])
    return warnings, fps


def _adopt(warnings: WarningChanges, fp: str, olds: Sequence[Warning], *, at: datetime) -> None:
    """Re-key the highest of an indicator's per-rule warnings to its fingerprint with every
    rule's cause; lift the others as merged into it."""
    current = warnings.current(fp)
    ranked = sorted(olds, key=lambda w: (-w.level.rank, w.first_seen_at))
    keep, *rest = [current, *ranked] if current is not None else ranked
    causes = dict(keep.explanation.get("causes", {}))
    for w in olds:
        reason = f"{w.source} rule at {w.level.value}"
        causes.setdefault(w.source, {**w.explanation, "reason": reason, "cause": dict(w.cause)})
    adopted = replace(
        keep,
        fingerprint=fp,
        source=SOURCE,
        labels={**keep.labels, "source": SOURCE},
        explanation={**keep.explanation, "causes": causes},
    )
    warnings.keep(adopted, fp=fp)
    for w in rest:
        reason = f"merged into warning {keep.id}: one warning per indicator"
        merge = Command(CommandKind.LIFT, MERGE_ACTOR, reason, None, {"merged_into": keep.id})
        lifted, event = lifecycle.apply(w, merge, max(at, w.updated_at))
        warnings.keep(lifted, fp=w.fingerprint, event=event)
