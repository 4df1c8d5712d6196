"""The four warning levels (blue < yellow < orange < red) and their CAP mapping."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Level(StrEnum):
    """A warning level; red is level I, the most severe."""

    BLUE = "blue"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"

    @property
    def rank(self) -> int:
        """1 for blue up to 4 for red (0 is reserved for 'no warning')."""
        return _RANK[self]

    @property
    def cap_severity(self) -> str:
        """The CAP 1.2 `severity` this level maps to."""
        return _CAP_SEVERITY[self]

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


LEVELS: tuple[Level, ...] = (Level.BLUE, Level.YELLOW, Level.ORANGE, Level.RED)
_RANK = {level: i + 1 for i, level in enumerate(LEVELS)}
_CAP_SEVERITY = {
    Level.BLUE: "Minor",
    Level.YELLOW: "Moderate",
    Level.ORANGE: "Severe",
    Level.RED: "Extreme",
}
