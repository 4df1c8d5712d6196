"""Text messages through an SMS gateway's HTTP interface, the `sendsms` request that Kannel
(the open-source WAP and SMS gateway, packaged by Debian) defines and many gateways accept:

    GET <url>?username=…&password=…&from=…&to=<number>&text=<message>&charset=UTF-8

(Kannel 1.4 user's guide, "Sending SMS messages": `username`, `password`, `from`, `to`, `text`,
`charset`, `coding`; `coding=2` asks for UCS-2, needed for text outside the GSM alphabet; the
answer is 202 "0: Accepted for delivery" or "3: Queued for later delivery", an error 4xx or
503 with a line of text.) A 2xx answer is taken as sent. 429, 5xx, a timeout or no connection
are tried again later by the delivery worker; any other 4xx (bad credentials, a number the
gateway refuses) is not. The number is never put in an error or a log line: errors say
`shown` instead, and the gateway's own words are redacted of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.error import HTTPError
from urllib.parse import quote, quote_plus, urlencode, urlsplit
from urllib.request import Request, urlopen

from pydantic import SecretStr

from tocsin.core.redaction import redact_text
from tocsin.core.warnings.outbox import DeliveryError

KEEP = 200  # characters of a gateway's answer kept for the error


@dataclass(frozen=True)
class SmsGateway:
    """A gateway's `sendsms` URL and the account Tocsin sends with."""

    url: str
    username: str | None = None
    password: SecretStr | None = None
    sender: str | None = None  # the `from` the gateway shows, if it lets us choose
    timeout_s: float = 10.0

    def send_text(self, number: str, text: str, *, key: str, shown: str) -> None:
        """Send `text` to `number`; DeliveryError (retryable or not) when the gateway did not
        take it. `key` goes with it as the gateway's message reference (`X-Idempotency-Key`).

        Sent with the standard library's client, which logs nothing: an HTTP library that logs
        each request's URL at INFO (httpx does) would write the number and the password into
        any log configured to show INFO."""
        params = {"to": number, "text": text, "charset": "UTF-8"}
        if not text.isascii():
            params["coding"] = "2"
        if self.username:
            params["username"] = self.username
        if self.password is not None:
            params["password"] = self.password.get_secret_value()
        if self.sender:
            params["from"] = self.sender
        plain = [number, *([self.password.get_secret_value()] if self.password else [])]
        secrets = [*plain, *(quote_plus(p) for p in plain), *(quote(p) for p in plain)]
        joiner = "&" if urlsplit(self.url).query else "?"
        request = Request(self.url + joiner + urlencode(params), headers={"X-Idempotency-Key": key})
        try:
            with urlopen(request, timeout=self.timeout_s) as answer:
                answer.read(KEEP)
        except HTTPError as err:
            said = redact_text(err.read(KEEP).decode("utf-8", "replace").strip(), secrets)
            retryable = err.code == 429 or err.code >= 500
            raise DeliveryError(
                f"sms gateway answered {err.code} for {shown}: {said}", retryable=retryable
            ) from err
        except (OSError, ValueError) as err:  # no connection, a timeout, a malformed URL
            said = redact_text(f"{type(err).__name__}: {err}", secrets)
            raise DeliveryError(f"sms gateway: {said} (to {shown})") from err
