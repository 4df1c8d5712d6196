"""Stages 2 and 3, inhibit and silence: whether a warning is kept out of notifications now.

A warning is suppressed while an active silence matches it (silences.py) or an open warning
that says more inhibits it (inhibition.py). Suppression is computed when a group is evaluated or
an escalation step falls due, never stored (Alertmanager's `suppressed_by`): when the silence
ends or the inhibiting warning is lifted, the warning is notified again. Mute windows suppress a
whole route rather than a warning; they are decided with the group (grouping.py).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from tocsin.core.warnings.inhibition import InhibitRule, inhibited_by
from tocsin.core.warnings.selectors import Target
from tocsin.core.warnings.silences import Silence, silenced_by


class SuppressReason(StrEnum):
    """Why a warning is left out of notifications."""

    SILENCED = "silenced"  # an active silence matches it
    INHIBITED = "inhibited"  # an open warning inhibits it


# how each reason names what suppresses (`silence:<id>`, `warning:<id>`)
LABEL_PREFIX: Final[dict[SuppressReason, str]] = {
    SuppressReason.SILENCED: "silence",
    SuppressReason.INHIBITED: "warning",
}


@dataclass(frozen=True, slots=True)
class Suppression:
    """What keeps one warning out of notifications at a moment (nothing: it is notified)."""

    warning_id: str
    silences: tuple[str, ...] = ()
    inhibitors: tuple[str, ...] = ()

    @property
    def reason(self) -> SuppressReason | None:
        """The first reason that applies (None when the warning is not suppressed)."""
        if self.silences:
            return SuppressReason.SILENCED
        return SuppressReason.INHIBITED if self.inhibitors else None

    @property
    def by(self) -> tuple[str, ...]:
        """Every suppressor as `silence:<id>` or `warning:<id>`."""
        named = [
            (SuppressReason.SILENCED, self.silences),
            (SuppressReason.INHIBITED, self.inhibitors),
        ]
        return tuple(f"{LABEL_PREFIX[r]}:{i}" for r, ids in named for i in ids)


def suppress(
    target: Target,
    *,
    silences: Iterable[Silence],
    sources: Iterable[Target],
    rules: Iterable[InhibitRule],
    now: datetime,
) -> Suppression:
    """The silences and inhibiting warnings that suppress `target` at `now`."""
    return Suppression(
        target.warning_id,
        silences=silenced_by(target, silences, now),
        inhibitors=inhibited_by(target, sources, rules),
    )


def source_regions(
    targets: Sequence[Target], asset_regions: Callable[[Collection[str]], Collection[str]]
) -> list[str]:
    """The regions whose open warnings may inhibit the targets: the regions above each target
    and the regions of the assets it depends on."""
    regions: set[str] = set()
    for t in targets:
        regions.update(t.regions[1:])
        regions.update(asset_regions(t.depends_on))
    return sorted(regions)
