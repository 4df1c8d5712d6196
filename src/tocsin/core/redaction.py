"""Redaction: credentials and personal data are shown as `***`, never as themselves.

Receiver addresses carry secrets (a webhook URL's `user:password@`, a token in its path or query)
and personal data (an e-mail address). Nothing Tocsin returns or logs shows them whole: a webhook
is shown by its scheme and host, an e-mail address by its domain, a file by its name.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import parse_qsl, unquote, urlsplit

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


MIN_SECRET_PART: Final = 4  # shorter path segments and values are too common to hunt for


def url_secrets(url: str) -> tuple[str, ...]:
    """Every piece of a URL that may be a secret, as a receiver or a proxy could repeat it back:
    the URL, its user and password (also as the Basic credentials sent from them), its path and
    query, each path segment and query value; longest first."""
    try:
        parts = urlsplit(url)
        user, password = parts.username or "", parts.password or ""
    except ValueError:
        return (url,)
    pieces = {url, parts.path, parts.query, password, parts.netloc.rpartition("@")[0]}
    if user or password:
        basic = f"{unquote(user)}:{unquote(password)}".encode()
        pieces.add(base64.b64encode(basic).decode())
    pieces.update(parts.path.split("/"))
    pieces.update(v for _, v in parse_qsl(parts.query))
    found = (p for p in pieces if len(p) >= MIN_SECRET_PART)
    return tuple(sorted(found, key=len, reverse=True))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Free text (a log line, an error) with credentials in URLs, secret-named parameters,
    e-mail addresses and the given `secrets` replaced by `***`."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{REDACTED}@", text)
    text = _SECRET_PARAM.sub(lambda m: f"{m['key']}{REDACTED}", text)
    return _EMAIL.sub(lambda m: f"{REDACTED}@{m['domain']}", text)
