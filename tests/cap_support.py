"""Public alert tests' support: a wired container over the small scenario with two languages,
people with different permissions and scopes, and independent readers of what we publish.

`read_independently` checks a document we published with tools that share nothing with our
writer: xmlschema against the OASIS schema and against google/cap-library's stricter extended
schema (patterns for identifiers, references, circles), then cap-tools (PyPI), a published CAP
1.2 data binding that parses it into its own types.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import xmlschema
from cap_tools.models import Alert as ToolsAlert
from xsdata.formats.dataclass.parsers import XmlParser

from tests.conftest import BENCHDATA
from tocsin.adapters.config_yaml import dump_yaml
from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import Principal, Via, system_principal
from tocsin.core.observations import ObservationBatch
from tocsin.core.users import Role, User, UserName
from tocsin.core.warnings.model import Warning
from tocsin.core.warnings.outbox import Channel, Notification
from tocsin.testing.clock import FakeClock
from tocsin.testing.scenario import small_cap_config, write_small_config

SCHEMA = BENCHDATA / "cap" / "schema" / "CAP-v1.2.xsd"
EXTENDED = BENCHDATA / "cap" / "schema" / "cap12_extended.xsd"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SYSTEM = system_principal("test")
# name -> (role, unit): national duty officers, a P2 duty officer, a member, an analyst
PEOPLE = {
    "alice": (Role.DUTY_OFFICER, "NAT"),
    "bob": (Role.DUTY_OFFICER, "NAT"),
    "carol": (Role.DUTY_OFFICER, "P2-CP"),
    "frank": (Role.DUTY_OFFICER, "P2-CP"),
    "dave": (Role.UNIT_MEMBER, "NAT"),
    "eve": (Role.ANALYST, "NAT"),
}


@cache
def _schema(path: Path) -> Any:
    return xmlschema.XMLSchema(str(path))


def read_independently(xml: str) -> ToolsAlert:
    """The document, valid against both schemas (xmlschema) and read by cap-tools."""
    _schema(SCHEMA).validate(xml)
    _schema(EXTENDED).validate(xml)
    alert: ToolsAlert = XmlParser().from_string(xml, ToolsAlert)
    return alert


class Recorder:
    """A channel that keeps what it is handed."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, notification: Notification) -> None:
        """Keep it."""
        self.sent.append(notification)


@dataclass
class World:
    """The container, its clock, the channel subscribers are told on, and people."""

    container: Container
    clock: FakeClock
    channel: Recorder
    config_dir: Path

    def person(self, name: str) -> Principal:
        """A person's principal (see PEOPLE)."""
        role, unit = PEOPLE[name]
        return self.container.access.principal(User(UserName(name), role, unit), via=Via.TOKEN)

    def observe(self, code: str, value: float) -> None:
        """One observation now (the rules run)."""
        ids = self.container.rules.ids
        self.container.ingest.ingest_batch(
            ObservationBatch(
                np.array([ids[code]], dtype=np.int64),
                np.array([int(self.clock.now().timestamp())], dtype=np.int64),
                np.array([value], dtype=np.float64),
            )
        )

    def later(self, minutes: float) -> None:
        """Move the clock on."""
        self.clock.advance(timedelta(minutes=minutes))

    def warning(self, subject: str = "D11.river_level") -> Warning:
        """The open warning about an indicator."""
        found = [w for w in self.container.warnings.find(principal=SYSTEM) if w.subject == subject]
        assert len(found) == 1, found
        return found[0]

    def deliver(self) -> list[Notification]:
        """Run delivery (what the hand-off and the outbox hold); what subscribers got."""
        handed = self.container.handoff.take()
        now = self.clock.now()
        self.container.delivery.deliver_claimed(handed, now)
        self.container.delivery.run_once(now)
        return self.channel.sent


def cap_yaml(**overrides: Any) -> dict[str, Any]:
    """The small scenario's cap.yaml with overrides."""
    return {**small_cap_config(), **overrides}


@contextmanager
def cap_world(tmp_path: Path, db_url: str, **overrides: Any) -> Iterator[World]:
    """The small scenario with cap.yaml (overridden), on a fake clock at T0."""
    config = write_small_config(tmp_path / "config")
    (config / "cap.yaml").write_text(dump_yaml(cap_yaml(**overrides)), encoding="utf-8")
    clock = FakeClock(T0)
    channel = Recorder()
    settings = Settings(database_url=db_url, config_dir=config, benchdata=BENCHDATA)
    channels = {Channel.WEBHOOK: channel, Channel.EMAIL: channel, Channel.FILE: channel}
    container = build(settings, clock=clock, channels=channels)
    try:
        yield World(container, clock, channel, config)
    finally:
        container.close()
