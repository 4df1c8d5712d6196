"""Redaction: credentials and personal data are shown as `***`, never as themselves.

Receiver addresses carry secrets (a webhook URL's `user:password@`, a token in its path or query)
and personal data (an e-mail address). Nothing Tocsin returns or logs shows them whole: a webhook
is shown by its scheme and host, an e-mail address by its domain, a file by its name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import urlsplit

REDACTED: Final = "***"
# user:password@ in any URL, and key=value pairs whose key names a secret
_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]*@", re.IGNORECASE)
_SECRET_PARAM = re.compile(
    r"(?P<key>(?:password|passwd|secret|token|api[_-]?key|access[_-]?token|sig|signature)=)"
    r"[^&\s]+",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@(?P<domain>[A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def redact_url(url: str) -> str:
    """A URL as `scheme://host/***` (no credentials, path or query); `***` if it is not one."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return REDACTED
    if not parts.scheme or not host:
        return REDACTED
    return f"{parts.scheme}://{host}{port}/{REDACTED}"


def redact_email(address: str) -> str:
    """An e-mail address as `***@domain`."""
    _, at, domain = address.rpartition("@")
    return f"{REDACTED}@{domain}" if at and domain else REDACTED


def redact_address(channel: str, address: str) -> str:
    """A receiver address as it may be shown: by channel (webhook, email, file)."""
    if channel == "webhook":
        return redact_url(address)
    if channel == "email":
        return redact_email(address)
    return address.replace("\\", "/").rsplit("/", 1)[-1] or REDACTED


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Free text (a log line, an error) with credentials in URLs, secret-named parameters,
    e-mail addresses and the given `secrets` replaced by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{REDACTED}@", text)
    text = _SECRET_PARAM.sub(lambda m: f"{m['key']}{REDACTED}", text)
    return _EMAIL.sub(lambda m: f"{REDACTED}@{m['domain']}", text)
