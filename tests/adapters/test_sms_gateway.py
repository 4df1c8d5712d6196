"""Text messages through a gateway's `sendsms` interface (a real local HTTP gateway): what is
sent, which failures are tried again, and that the number and the password are never in an
error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from tests.sms_gateway import Gateway, sms_gateway
from tocsin.adapters.notifiers.sms import SmsGateway
from tocsin.core.warnings.outbox import DeliveryError
from tocsin.testing.postgres import free_port

NUMBER = "+390551234567"
PASSWORD = "gw-pass-0123"


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    with sms_gateway() as gw:
        yield gw


def client(url: str) -> SmsGateway:
    return SmsGateway(
        url, username="tocsin", password=SecretStr(PASSWORD), sender="Tocsin", timeout_s=5
    )


def test_a_message_is_sent_with_the_account_and_its_text(gateway: Gateway) -> None:
    client(gateway.url).send_text(NUMBER, "Your report was closed.", key="k1", shown="them")
    (sent,) = gateway.messages
    assert sent == {
        "to": NUMBER,
        "text": "Your report was closed.",
        "charset": "UTF-8",
        "username": "tocsin",
        "password": PASSWORD,
        "from": "Tocsin",
    }


def test_text_outside_ascii_asks_for_ucs2(gateway: Gateway) -> None:
    client(gateway.url).send_text(
        NUMBER, "Segnalazione chiusa: perdita riparata…", key="k", shown="x"
    )
    (sent,) = gateway.messages
    assert sent["coding"] == "2"
    assert sent["text"].endswith("riparata…")


@pytest.mark.parametrize(
    ("status", "retryable"), [(403, False), (400, False), (429, True), (503, True)]
)
def test_a_refusal_is_retried_only_when_it_may_pass_later(
    gateway: Gateway, status: int, retryable: bool
) -> None:
    gateway.status, gateway.answer = status, f"Authorization failed for {NUMBER} ({PASSWORD})"
    with pytest.raises(DeliveryError) as err:
        client(gateway.url).send_text(NUMBER, "hello", key="k", shown="the reporter's number")
    assert err.value.retryable is retryable
    said = str(err.value)
    assert f"answered {status} for the reporter's number" in said
    for secret in (NUMBER, "390551234567", PASSWORD):
        assert secret not in said
    assert gateway.messages == []


def test_no_gateway_listening_is_retried_and_says_no_number() -> None:
    url = f"http://127.0.0.1:{free_port()}/cgi-bin/sendsms"
    with pytest.raises(DeliveryError) as err:
        client(url).send_text(NUMBER, "hello", key="k", shown="the reporter's number")
    assert err.value.retryable
    assert "390551234567" not in str(err.value)
    assert PASSWORD not in str(err.value)
