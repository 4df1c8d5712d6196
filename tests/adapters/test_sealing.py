"""Receiver credentials and e-mail addresses are sealed at rest (SQLite and PostgreSQL), read
back whole by Tocsin, never shown by the API, and a deployment without a key does not start."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.api.conftest import serve_api
from tocsin.adapters.storage.sealing import (
    DEV_KEY,
    REMEMBERED,
    Sealer,
    SealingError,
    new_key,
    use_key,
)
from tocsin.adapters.storage.sql.store import SqlStore
from tocsin.bootstrap import build
from tocsin.cli.common import LogFormatter
from tocsin.config import Settings
from tocsin.core.errors import TocsinError
from tocsin.testing.scenario import small_config, write_small_config

HOOK = "https://relay:Hunter2Secret@hooks.example.test/services/T0K3N?token=abc123"


def _config(folder: Path) -> Path:
    docs = small_config()
    for unit in docs["units.yaml"]["units"]:
        if unit["code"] == "P1-CP":
            unit["webhook_url"] = HOOK
    return write_small_config(folder, **docs)


def test_units_and_notification_addresses_are_sealed_at_rest(db_url: str, tmp_path: Path) -> None:
    key = new_key()
    settings = Settings(database_url=db_url, config_dir=_config(tmp_path / "c"), secret_key=key)
    container = build(settings)
    try:
        assert isinstance(container.store, SqlStore)
        with container.store.engine.connect() as conn:
            raw = conn.execute(
                text("SELECT email, webhook_url FROM units WHERE code = 'P1-CP'")
            ).one()
        assert raw.email.startswith("enc:v1:")
        assert raw.webhook_url.startswith("enc:v1:")
        assert "Hunter2Secret" not in raw.webhook_url
        assert "p1@example.test" not in raw.email
        unit = container.catalog.units["P1-CP"]  # type: ignore[index]
        assert (unit.email, unit.webhook_url) == ("p1@example.test", HOOK)
        with container.store.transaction() as tx:
            stored = tx.catalog.stored()
        assert stored is not None
        assert stored.units["P1-CP"].webhook_url == HOOK  # type: ignore[index]
    finally:
        container.close()
        use_key(DEV_KEY)


def test_another_key_cannot_open_them_and_says_so(sqlite_url: str, tmp_path: Path) -> None:
    config = _config(tmp_path / "c")
    build(Settings(database_url=sqlite_url, config_dir=config, secret_key=new_key())).close()
    try:
        with pytest.raises(SealingError, match="cannot be opened with TOCSIN_SECRET_KEY"):
            build(Settings(database_url=sqlite_url, secret_key=new_key()))
    finally:
        use_key(DEV_KEY)


def test_production_without_a_key_refuses_to_start(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOCSIN_ENV")
    config = write_small_config(tmp_path / "c")
    with pytest.raises(TocsinError, match="TOCSIN_SECRET_KEY is required"):
        build(Settings(database_url=sqlite_url, config_dir=config))
    with pytest.raises(SealingError, match="not a key"):
        build(Settings(database_url=sqlite_url, config_dir=config, secret_key="short"))
    build(Settings(database_url="memory://", config_dir=config)).close()  # nothing is stored


def test_no_endpoint_shows_a_credential_or_an_address(sqlite_url: str, tmp_path: Path) -> None:
    with serve_api(sqlite_url, tmp_path) as api:
        rain = {"indicator": "P1.rainfall", "time": 1_767_225_600, "value": 70.0}
        sent = api.client.post("/api/v1/observations", json={"observations": [rain]})
        assert sent.status_code == 202
        api.container.leases.dispatch.require()  # only the owner dispatches
        for later in (1, 40, 400):  # the group waits, then flushes
            api.container.dispatcher.tick(api.clock.now() + timedelta(seconds=later))
        log = api.client.get("/api/v1/notifications").json()
        assert log, "the rainfall warning was notified"
        texts = [api.client.get(p).text for p in ("/api/v1/notifications", "/api/v1/regions")]
        for w in api.client.get("/api/v1/warnings").json():
            texts.append(api.client.get(f"/api/v1/warnings/{w['id']}/delivery").text)
        for shown in texts:
            assert "@example.test" not in shown or "***@example.test" in shown
            for secret in ("p1@", "nat@", "d11@"):
                assert secret not in shown
        assert {n["address"] for n in log} <= {"***@example.test"}


def test_log_lines_say_credentials_and_addresses_as_stars() -> None:
    import logging

    record = logging.makeLogRecord(
        {"msg": "webhook %s failed for ops@example.test", "args": (HOOK,), "levelname": "WARNING"}
    )
    line = LogFormatter("%(levelname)s %(message)s").format(record)
    assert "Hunter2Secret" not in line
    assert "abc123" not in line
    assert "ops@" not in line
    assert "***@example.test" in line


def test_a_recurring_address_is_sealed_once_per_key_and_each_token_still_opens() -> None:
    first, second = Sealer(new_key().encode()), Sealer(new_key().encode())
    token = first.seal_recurring(HOOK)
    assert token.startswith("enc:v1:")
    assert "Hunter2Secret" not in token
    assert first.seal_recurring(HOOK) == token  # the notifications of one receiver
    assert first.seal(HOOK) != token  # a one-off seal is still fresh
    assert second.seal_recurring(HOOK) != token  # another key: another token
    assert first.unseal(token) == first.unseal(first.seal(HOOK)) == HOOK
    with pytest.raises(SealingError):
        second.unseal(token)
    for i in range(REMEMBERED + 10):  # bounded: many distinct addresses do not grow it
        assert first.unseal(first.seal_recurring(f"ops{i}@example.test")) == f"ops{i}@example.test"
    assert len(first._sealed) <= REMEMBERED
    assert len(first._opened) <= REMEMBERED
