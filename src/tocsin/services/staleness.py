"""Stale sources: a "source silent" warning for an indicator whose observations stopped.

Every indicator with a cadence (`cadence_s` in indicators.yaml) is expected to be observed at
least that often. `SilenceCheck.check(now)` finds the indicators whose newest observation is
older than `after_cadences` cadences at `now`, raises a warning (source `staleness`, the
configured level, in the indicator's region and domain, so it reaches the unit responsible) for
each that has none open, and lifts the open ones whose indicator is observed again. It keeps no
state of its own: the newest observation times are the ingest's (loaded from the database at
start), and the open warnings are in the store, so a restart changes nothing. It is driven by the
clock: the server runs it every `interval` seconds (`start_silence_checks`), tests call it with
a fake clock. An indicator never observed is not checked (it has no time to be silent since).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from tocsin.core.audit import from_warning_event
from tocsin.core.errors import NotOwner, Unavailable
from tocsin.core.indicators import Indicator
from tocsin.core.levels import Level
from tocsin.core.rules.thresholds import NEVER, LevelChanges
from tocsin.core.warnings.model import Command, WarningEvent
from tocsin.ports import Bus, Clock, Store
from tocsin.ports.sessions import StoreSession
from tocsin.services.ingest import IngestService
from tocsin.services.level_changes import apply_level_changes, level_command, rule_fingerprint
from tocsin.services.publishing import warning_message
from tocsin.services.rules import RuleBook

log = logging.getLogger(__name__)

SOURCE = "staleness"
ACTOR = "rule:staleness"


def _span(seconds: float) -> str:
    """`3 h 5 min`, `45 s`."""
    whole = int(seconds)
    parts = [(whole // 86_400, "d"), (whole % 86_400 // 3_600, "h"), (whole % 3_600 // 60, "min")]
    shown = [f"{n} {unit}" for n, unit in parts if n]
    return " ".join(shown[:2]) or f"{whole} s"


@dataclass(frozen=True)
class SilenceRule:
    """The staleness rule as a LevelRule: one warning per silent indicator."""

    book: RuleBook
    after_cadences: float
    level: Level
    last: dict[int, int]  # indicator id -> newest observation time (epoch seconds)
    source: str = SOURCE

    def indicator(self, series: int) -> Indicator:
        """Series are indicator ids."""
        return self.book.by_id[series]

    def command(self, series: int, old: int, new: int, index: int, at: datetime) -> Command:
        """Raise when silent, lift when observed again."""
        ind = self.indicator(series)
        cadence = ind.cadence.total_seconds() if ind.cadence else 0.0
        last = datetime.fromtimestamp(self.last[series], UTC)
        cause: dict[str, object] = {
            "indicator": ind.code,
            "last_observation": last.isoformat(),
            "cadence_s": int(cadence),
            "after_cadences": self.after_cadences,
        }
        if new == 0:
            reason = f"{ind.code} is observed again (newest at {last.isoformat()})"
            return level_command(
                kind_old=old, new=0, actor=ACTOR, reason=reason, cause=cause, explanation=None
            )
        reason = (
            f"source silent: no observation of {ind.code} for {_span((at - last).total_seconds())}"
            f" (expected every {_span(cadence)}; silent after {self.after_cadences:g} cadences)"
        )
        explanation: dict[str, object] = {"rule": SOURCE, **cause, "name": ind.name}
        return level_command(
            kind_old=old, new=new, actor=ACTOR, reason=reason, cause=cause, explanation=explanation
        )


class SilenceCheck:
    """Raises and lifts "source silent" warnings at `now`."""

    def __init__(
        self,
        store: Store,
        bus: Bus,
        *,
        rules: RuleBook,
        ingest: IngestService,
        after_cadences: float,
        level: Level,
        owns: Callable[[int], bool] | None = None,
        fence: Callable[[StoreSession], None] | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.rules = rules
        self.ingest = ingest
        self.after_cadences = after_cadences
        self.level = level
        self.fence = fence  # more fences on the check's transaction (a worker's partitions)
        self.watched: list[tuple[int, float]] = []
        self.watch(owns)

    def watch(self, owns: Callable[[int], bool] | None) -> None:
        """Check the indicators with a cadence whose observations `ingest` sees (a worker:
        those of its partitions, again when they change; one process: all)."""
        self.watched = [
            (ident, ind.cadence.total_seconds())
            for ident, ind in sorted(self.rules.by_id.items())
            if ind.cadence is not None and (owns is None or owns(ident))
        ]

    def check(self, now: datetime) -> list[WarningEvent]:
        """Raise a warning for each newly silent indicator, lift each observed again (only the
        owner of the rules' state: NotOwner on a standby)."""
        if not self.watched:
            return []
        with self.ingest.owned_transaction() as (tx, last_times):
            if self.fence is not None:
                self.fence(tx)
            now_s = now.timestamp()
            last = {i: int(last_times[i]) for i, _ in self.watched if last_times[i] != NEVER}
            silent = {
                i
                for i, cadence in self.watched
                if i in last and now_s - last[i] > self.after_cadences * cadence
            }
            rule = SilenceRule(self.rules, self.after_cadences, self.level, last)
            fps = {i: rule_fingerprint(rule, i) for i in last}
            open_fps = tx.warnings.open_by_fingerprint(list(fps.values()))
            raising = [i for i in silent if fps[i] not in open_fps]
            lifting = [i for i in last if i not in silent and fps[i] in open_fps]
            changes = _changes(raising, lifting, level=self.level)
            times = np.full(len(changes), int(now_s), dtype=np.int64)
            events = apply_level_changes(tx, rule, changes, times)
            tx.audit.append([from_warning_event(e) for e in events])
        for event in events:
            self.bus.publish("warnings", warning_message(event))
        return events


def _changes(raising: list[int], lifting: list[int], *, level: Level) -> LevelChanges:
    ids = np.array([*raising, *lifting], dtype=np.int64)
    rank = level.rank
    return LevelChanges(
        obs_index=np.arange(len(ids), dtype=np.int64),
        series=ids,
        old_level=np.array([0] * len(raising) + [rank] * len(lifting), dtype=np.int8),
        new_level=np.array([rank] * len(raising) + [0] * len(lifting), dtype=np.int8),
        accepted=np.ones(len(ids), dtype=np.bool_),
    )


def start_silence_checks(
    check: SilenceCheck, clock: Clock, *, interval: timedelta
) -> Callable[[], None]:
    """Run the check every `interval` on a daemon thread; return a function that stops it."""
    stopping = threading.Event()

    def run() -> None:
        while not stopping.wait(interval.total_seconds()):
            try:
                check.check(clock.now())
            except NotOwner:  # a standby: the owner of the rules' state checks
                continue
            except Unavailable as err:  # the database: one line, try again next time
                log.warning("source silence check: %s", err)
            except Exception:  # the outermost loop: log, and try again next time
                log.exception("source silence check failed")

    thread = threading.Thread(target=run, name="tocsin-silence", daemon=True)
    thread.start()

    def stop() -> None:
        stopping.set()
        thread.join(timeout=10)

    return stop
