"""The demo shows one exposed asset and what fails with it."""

from __future__ import annotations

from pathlib import Path

from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.demo.exposure import import_demo_feeds
from tocsin.demo.scenario import write_config
from tocsin.testing.clock import FakeClock


def test_the_demo_substation_is_exposed_and_its_loss_reaches_the_hospital(tmp_path: Path) -> None:
    write_config(tmp_path / "config", end_at=1_767_225_600)
    settings = Settings(database_url="memory://", config_dir=tmp_path / "config")
    container = build(settings, clock=FakeClock())
    changes = import_demo_feeds(container)
    assert [len(c.transitions) for c in changes] == [2, 2]  # raised by NVD, upgraded by KEV
    exposed = [a for a in container.exposure.assets(principal=system_principal()) if a.exposures]
    assert [a.asset for a in exposed] == ["SUB-1"]
    sub = exposed[0]
    assert sorted(e.advisory.id for e in sub.exposures) == ["CVE-2021-41773", "CVE-2021-42013"]
    assert {e.level.value for e in sub.exposures} == {"red"}
    assert set(sub.consequences.failed) == {"WATER-1", "HOSP-1", "DC-1", "PLANT-1"}


def test_the_packaged_cyber_model_is_the_one_in_models() -> None:
    root = Path(__file__).resolve().parents[2]
    packaged = root / "src" / "tocsin" / "demo" / "data" / "cyber_exposure.yaml"
    assert packaged.read_bytes() == (root / "models" / "cyber_exposure.yaml").read_bytes()
