"""Two API processes given the same new Prometheus alert at the same moment (a load balancer in
front of them, or two Alertmanager replicas): one opens the warning, the other, refused by the
unique index on open fingerprints, reads again and applies the alert to that warning — one
warning, both posts answered, neither a 409. Two containers on one PostgreSQL database stand
for the two processes; the second one's commit is made to land between the first one's read
and its write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.services.alert_receiver import PrometheusAlert
from tocsin.services.warning_changes import WarningChanges
from tocsin.testing.scenario import small_config, write_small_config

pytestmark = pytest.mark.postgres

SYSTEM = system_principal("test")
ALERT = PrometheusAlert(
    labels={
        "alertname": "SubstationHot",
        "region": "D11",
        "domain": "infrastructure.power",
        "severity": "critical",
    }
)


def test_the_same_new_alert_in_two_processes_at_once_opens_one_warning(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        database_url=pg_url,
        config_dir=write_small_config(tmp_path / "config", **small_config()),
        background_workers=False,
    )
    first, second = build(settings), build(settings)
    real = WarningChanges.load
    raced: list[int] = []

    def load_then_let_the_other_commit(tx: Any, fps: Any) -> Any:
        found = real(tx, fps)
        if not raced:  # the first process has read: the second commits the same alert now
            raced.append(1)
            assert second.alert_receiver.receive([ALERT], principal=SYSTEM).events
        return found

    monkeypatch.setattr(WarningChanges, "load", load_then_let_the_other_commit)
    try:
        answered = first.alert_receiver.receive([ALERT], principal=SYSTEM)
        assert raced  # the race happened
        assert answered.accepted == 1
        assert answered.events == ()  # it found the warning the other opened: nothing to change
        warnings = first.warnings.find(principal=SYSTEM, open_only=True)
        assert [(w.source, w.level.value) for w in warnings] == [("prometheus", "red")]
    finally:
        first.close()
        second.close()
