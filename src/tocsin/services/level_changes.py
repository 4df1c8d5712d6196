"""Turn level changes found by a rule kernel into warning transitions (one per change)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Protocol

import numpy as np
import numpy.typing as npt

from tocsin.core.indicators import Indicator
from tocsin.core.levels import Level
from tocsin.core.rules.thresholds import LevelChanges
from tocsin.core.warnings.model import Command, CommandKind, Place, WarningEvent, fingerprint
from tocsin.ports import StoreSession
from tocsin.services.warning_changes import WarningChanges


class LevelRule(Protocol):
    """What a rule tells the writer about the series it watches."""

    @property
    def source(self) -> str:
        """The warning source this rule raises ("indicator", "staleness", …)."""

    def indicator(self, series: int) -> Indicator:
        """The indicator a (rule-local) series index belongs to."""

    def command(self, series: int, old: int, new: int, index: int, at: datetime) -> Command:
        """The command for one level change, caused by observation `index` of the batch."""


def rule_fingerprint(rule: LevelRule, series: int) -> str:
    """One open warning per (rule source, indicator, region, domain)."""
    ind = rule.indicator(series)
    return fingerprint(rule.source, ind.code, ind.region, ind.domain)


def rule_place(rule: LevelRule, series: int) -> Place:
    """Where a rule's warning about a series is: its indicator's code, region and domain."""
    ind = rule.indicator(series)
    labels = {
        "indicator": ind.code,
        "region": ind.region,
        "domain": ind.domain,
        "source": rule.source,
        **({"asset": ind.asset} if ind.asset else {}),
    }
    return Place(rule.source, ind.code, ind.region, ind.domain, labels)


def apply_level_changes(
    tx: StoreSession, rule: LevelRule, changes: LevelChanges, times: npt.NDArray[np.int64]
) -> list[WarningEvent]:
    """Raise, upgrade, downgrade or lift warnings for each change; save them in bulk."""
    if len(changes) == 0:
        return []
    fps = {int(s): rule_fingerprint(rule, int(s)) for s in np.unique(changes.series)}
    found = WarningChanges.load(tx, list(fps.values()))
    for k in range(len(changes)):
        i, s = int(changes.obs_index[k]), int(changes.series[k])
        at = datetime.fromtimestamp(int(times[i]), UTC)
        command = rule.command(s, int(changes.old_level[k]), int(changes.new_level[k]), i, at)
        found.apply(fps[s], command, at=at, place=partial(rule_place, rule, s))
    return found.save(tx)


def level_command(
    *,
    kind_old: int,
    new: int,
    actor: str,
    reason: str,
    cause: dict[str, object],
    explanation: dict[str, object] | None,
) -> Command:
    """The command for a change from level rank `kind_old` to `new` (0 = no warning)."""
    if new == 0:
        return Command(CommandKind.LIFT, actor, reason, None, cause, None)
    kind = (
        CommandKind.RAISE
        if kind_old == 0
        else (CommandKind.UPGRADE if new > kind_old else CommandKind.DOWNGRADE)
    )
    return Command(kind, actor, reason, Level.from_rank(new), cause, explanation)
