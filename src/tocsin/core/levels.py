"""The four warning levels (blue < yellow < orange < red): rank, CAP severity, label and colour.

This table is the one source of truth for how a level is ranked, mapped to CAP 1.2 and shown:
the API serves it (`GET /api/v1/levels`) and the dashboard takes its ranks, colours and labels
from it, so a colour is changed here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from tocsin.core.errors import InvalidInput, Problem


class Level(StrEnum):
    """A warning level; red is level I, the most severe."""

    BLUE = "blue"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"

    @property
    def rank(self) -> int:
        """1 for blue up to 4 for red (0 is reserved for 'no warning')."""
        return LEVEL_STYLES[self].rank

    @property
    def cap_severity(self) -> str:
        """The CAP 1.2 `severity` this level maps to."""
        return LEVEL_STYLES[self].cap_severity

    @classmethod
    def from_rank(cls, rank: int) -> Level:
        """The level with this rank (1..4)."""
        return LEVELS[rank - 1]


class CapSeverity(IntEnum):
    """Ordering helper for CAP severities."""

    MINOR = 1
    MODERATE = 2
    SEVERE = 3
    EXTREME = 4


@dataclass(frozen=True, slots=True)
class LevelStyle:
    """How one level ranks, maps to CAP and is shown (colour, and the text colour on it)."""

    level: Level
    rank: int
    cap_severity: str
    label: str
    colour: str
    text_colour: str


LEVELS: tuple[Level, ...] = (Level.BLUE, Level.YELLOW, Level.ORANGE, Level.RED)
# The colours follow the usual four-level palette; the text colour keeps WCAG AA contrast on it.
LEVEL_STYLES: dict[Level, LevelStyle] = {
    s.level: s
    for s in (
        LevelStyle(Level.BLUE, 1, "Minor", "Blue (level IV)", "#1f62c4", "#ffffff"),
        LevelStyle(Level.YELLOW, 2, "Moderate", "Yellow (level III)", "#f2c200", "#1b1f24"),
        LevelStyle(Level.ORANGE, 3, "Severe", "Orange (level II)", "#e86a00", "#ffffff"),
        LevelStyle(Level.RED, 4, "Extreme", "Red (level I)", "#c8102e", "#ffffff"),
    )
}
# What the dashboard shows where a region or row has no warning.
NO_LEVEL_COLOUR = "#e4e7ea"


def parse_levels(values: Iterable[str], *, where: str = "level") -> tuple[Level, ...]:
    """Levels from names, each value possibly a comma-separated list; unknown names rejected.

    >>> parse_levels(["red,orange", "red"])
    (<Level.RED: 'red'>, <Level.ORANGE: 'orange'>)
    """
    out: list[Level] = []
    problems: list[Problem] = []
    allowed = ", ".join(lv.value for lv in LEVELS)
    for value in values:
        for name in (part.strip() for part in value.split(",")):
            if name in LEVEL_STYLES:
                if Level(name) not in out:
                    out.append(Level(name))
            else:
                problems.append(
                    Problem(where, "level", f"unknown level {name!r} (one of {allowed})")
                )
    if problems:
        raise InvalidInput(problems)
    return tuple(out)
