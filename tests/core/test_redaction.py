"""Credentials and addresses are shown as `***`."""

from __future__ import annotations

from tocsin.core.redaction import (
    redact_address,
    redact_email,
    redact_text,
    redact_url,
    url_secrets,
)


def test_addresses_are_shown_by_host_domain_or_file_name() -> None:
    assert (
        redact_url("https://u:p@hooks.example.test:8443/a/b?token=x")
        == "https://hooks.example.test:8443/***"
    )
    assert redact_url("not a url") == "***"
    assert redact_email("duty.officer@example.test") == "***@example.test"
    assert redact_address("file", "/var/demo/notifications.jsonl") == "notifications.jsonl"
    assert redact_address("email", "nobody") == "***"


def test_text_loses_credentials_secret_parameters_and_addresses() -> None:
    text = "POST http://relay:Hunter2@h.example/x?api_key=abc&n=1 failed for ops@example.test: T0K"
    shown = redact_text(text, ["T0K"])
    assert shown == "POST http://***@h.example/x?api_key=***&n=1 failed for ***@example.test: ***"


def test_a_receiver_repeating_its_url_in_pieces_repeats_no_secret() -> None:
    url = "https://relay:Hunter2Secret@hooks.example.test/services/T0K3N/xyzw?key=abc123&n=1"
    echoed = (
        "no route /services/T0K3N/xyzw for Basic cmVsYXk6SHVudGVyMlNlY3JldA== "
        "(query key=abc123&n=1; user relay:Hunter2Secret; segment xyzw)"
    )
    shown = redact_text(echoed, url_secrets(url))
    for secret in ("T0K3N", "xyzw", "cmVsYXk6", "abc123", "Hunter2Secret"):
        assert secret not in shown
    assert "no route" in shown  # the rest of the answer stays readable
    assert url_secrets("not a url") == ("not a url",)
