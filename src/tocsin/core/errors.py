"""The Tocsin error tree: services raise these, delivery layers map them (HTTP, exit codes)."""

from __future__ import annotations

from dataclasses import dataclass


class TocsinError(Exception):
    """Base of every error Tocsin raises on purpose."""


class NotFound(TocsinError):
    """A named thing does not exist."""


class Conflict(TocsinError):
    """The request contradicts the current state."""


class IllegalTransition(TocsinError):
    """A lifecycle command is not allowed in the record's current state."""


class Unauthenticated(TocsinError):
    """No valid credentials were presented (no token, or one nobody holds)."""


class Forbidden(TocsinError):
    """The actor's role does not allow the action."""


class Unavailable(TocsinError):
    """Something Tocsin needs (the database, a port) cannot be reached or used now; trying
    again after `retry_after_s` seconds may succeed."""

    def __init__(self, message: str, *, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)


class NotOwner(Unavailable):
    """The work needs a lease another process holds (this process is a standby for it), or
    this process lost the lease while it worked; nothing was stored. `owner` names the holder
    (empty when unknown)."""

    def __init__(self, message: str, *, owner: str = "", retry_after_s: int = 1) -> None:
        super().__init__(message, retry_after_s=retry_after_s)
        self.owner = owner


class Overloaded(Unavailable):
    """Too much work is waiting: try again after `retry_after_s` seconds (nothing was stored)."""

    def __init__(self, reason: str, *, retry_after_s: int = 1) -> None:
        super().__init__(
            f"overloaded: {reason}; try again in {retry_after_s} s", retry_after_s=retry_after_s
        )


class RateLimited(TocsinError):
    """One client sent too much too fast: try again after `retry_after_s` (nothing was stored)."""

    def __init__(self, reason: str, *, retry_after_s: int = 1) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"too many requests: {reason}; try again in {retry_after_s} s")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: where (file, line or path), which field, and why."""

    where: str
    field: str
    reason: str

    def __str__(self) -> str:
        """Render as `where: field: reason`."""
        parts = [p for p in (self.where, self.field) if p]
        return ": ".join([*parts, self.reason])


class InvalidInput(TocsinError):
    """An input (file, batch, request) was rejected; nothing of it was stored."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        shown = "; ".join(str(p) for p in self.problems[:20])
        more = len(self.problems) - 20
        super().__init__(shown + (f"; … and {more} more" if more > 0 else ""))


class Unreadable(InvalidInput):
    """A body that cannot be read in its format at all (not snappy, not protobuf): nothing in it
    could be named, and nothing was stored."""


class InvalidConfig(InvalidInput):
    """Domain configuration (YAML) failed validation; every problem is listed."""
