"""Timeline helper for pipeline scenarios: push observations at t, tick, collect notifications."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.warnings.outbox import Channel, Notification
from tocsin.services.ingest import RawObservations
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import write_small_config

SYSTEM = system_principal("test")

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class RecordingNotifier:
    """A channel that records what it is handed (and can be told to fail)."""

    def __init__(self) -> None:
        self.sent: list[tuple[datetime, Notification]] = []
        self.fail_next = 0
        self.clock: FakeClock | None = None

    def send(self, notification: Notification) -> None:
        """Record, or fail when asked to."""
        from tocsin.core.warnings.outbox import DeliveryError

        if self.fail_next > 0:
            self.fail_next -= 1
            raise DeliveryError("receiver down")
        assert self.clock is not None
        self.sent.append((self.clock.now(), notification))


@dataclass
class Timeline:
    """A wired container on a fake clock, with helpers that read like a timeline."""

    container: Container
    clock: FakeClock
    channel: RecordingNotifier
    seen: int = 0
    log: list[tuple[datetime, Notification]] = field(default_factory=list)

    def at(self, minutes: float) -> datetime:
        """The moment T0 + minutes."""
        return T0 + timedelta(minutes=minutes)

    def observe(self, minutes: float, **values: float) -> None:
        """Advance to T0+minutes, ingest one observation per indicator, run the pipeline."""
        self.run_until(minutes)
        now = self.at(minutes)
        codes = [k.replace("__", ".") for k in values]
        self.container.ingest.ingest(
            RawObservations(
                codes,
                np.full(len(codes), int(now.timestamp()), dtype=np.int64),
                np.array(list(values.values()), dtype=np.float64),
            ),
            principal=SYSTEM,
        )
        self._step()

    def _step(self) -> None:
        self.container.leases.dispatch.require()  # only the owner dispatches
        self.container.dispatcher.tick(self.clock.now())
        self.container.delivery.run_once(self.clock.now())

    def run_until(self, minutes: float, *, step_s: float = 10.0) -> None:
        """Advance the clock to T0+minutes in small steps, running the pipeline at each."""
        end = self.at(minutes)
        while self.clock.now() + timedelta(seconds=step_s) <= end:
            self.clock.advance(timedelta(seconds=step_s))
            self._step()
        self.clock.set(max(end, self.clock.now()))
        self._step()

    def sent(self) -> list[tuple[datetime, Notification]]:
        """Everything handed to the channel so far."""
        return self.channel.sent

    def new(self) -> list[tuple[datetime, Notification]]:
        """What was handed to the channel since the last call."""
        out = self.channel.sent[self.seen :]
        self.seen = len(self.channel.sent)
        return out


def start(
    tmp_path: Path, db_url: str, *, routes: dict[str, Any] | None = None, **files: Any
) -> Timeline:
    """A timeline over the small scenario (plus routes.yaml / escalation.yaml if given)."""
    config = write_small_config(tmp_path / "config")
    if routes is not None:
        (config / "routes.yaml").write_text(yaml.safe_dump(routes), encoding="utf-8")
    for name, doc in files.items():
        (config / f"{name}.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    clock = FakeClock(T0)
    channel = RecordingNotifier()
    channel.clock = clock
    container = build(
        Settings(database_url=db_url, config_dir=config),
        clock=clock,
        channels={Channel.WEBHOOK: channel, Channel.EMAIL: channel},
    )
    return Timeline(container, clock, channel)


def in_window(moment: datetime, start_at: datetime, end_at: datetime) -> bool:
    """start_at <= moment <= end_at."""
    return start_at <= moment <= end_at
