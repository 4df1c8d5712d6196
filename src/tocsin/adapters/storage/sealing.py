"""Sealed columns: receiver credentials and personal data encrypted at rest.

Units' e-mail addresses and webhook URLs (which may carry `user:password@` or a token) and each
notification's address are stored as `enc:v1:` + a Fernet token (AES-128-CBC with HMAC-SHA256,
from `cryptography`), with the key from `TOCSIN_SECRET_KEY`. A `SealedText` column encrypts on
write and decrypts on read; a value without the prefix (written before sealing existed) is read
as it is and sealed the next time it is written. The key is the process's: one process serves
one deployment. Outside `TOCSIN_ENV=dev` a missing key is refused at start-up (bootstrap); in
dev a fixed, published development key is used, so nothing sealed with it is secret.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from typing import Any, Final

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from tocsin.core.errors import TocsinError

PREFIX: Final = "enc:v1:"
# not a secret: derived from a published phrase, for development databases only
DEV_KEY: Final = base64.urlsafe_b64encode(hashlib.sha256(b"tocsin development key").digest())


class SealingError(TocsinError):
    """A sealed value cannot be opened (another key sealed it) or a key is not usable."""


class Sealer:
    """Encrypts and decrypts text with one Fernet key."""

    def __init__(self, key: bytes) -> None:
        try:
            self.fernet = Fernet(key)
        except (ValueError, TypeError) as err:
            raise SealingError(
                "TOCSIN_SECRET_KEY is not a key: use 32 url-safe base64-encoded bytes "
                "(tocsin keys new prints one)"
            ) from err
        # a column's values recur (every notification to a receiver holds its address): each
        # is sealed and opened once per key and process, not once per row (a Fernet token
        # costs the warning pipeline about a sixth of its time in a storm otherwise)
        self._sealed: dict[str, str] = {}
        self._opened: dict[str, str] = {}

    def seal(self, text: str) -> str:
        """The sealed form of a text (a fresh token each time)."""
        return PREFIX + self.fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def seal_recurring(self, text: str) -> str:
        """The sealed form of a stored column's text, reused while this process seals with
        this key: equal texts get equal tokens, which tells a reader of the database only that
        two rows hold the same address (their receiver column says as much)."""
        sealed = self._sealed.get(text)
        if sealed is None:
            sealed = self.seal(text)
            _remember(self._sealed, text, sealed)
        return sealed

    def unseal(self, stored: str) -> str:
        """The text of a sealed value (a value without the prefix is returned as it is)."""
        if not stored.startswith(PREFIX):
            return stored
        opened = self._opened.get(stored)
        if opened is not None:
            return opened
        try:
            opened = self.fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except InvalidToken as err:
            raise SealingError(
                "a sealed value cannot be opened with TOCSIN_SECRET_KEY (was it changed?)"
            ) from err
        _remember(self._opened, stored, opened)
        return opened


REMEMBERED = 4096  # distinct values kept per direction; more start the memory afresh


def _remember(memory: dict[str, str], key: str, value: str) -> None:
    """Keep `key`'s value, within REMEMBERED entries (a plain dict: each step is atomic)."""
    if len(memory) >= REMEMBERED:
        memory.clear()
    memory[key] = value


_current = Sealer(DEV_KEY)
_lock = threading.Lock()


def use_key(key: bytes) -> None:
    """Seal and unseal with this key from now on (bootstrap calls it from the settings)."""
    global _current
    sealer = Sealer(key)
    with _lock:
        _current = sealer


def current_sealer() -> Sealer:
    """The process's sealer (for values kept outside the database, such as a sign-in's
    state carried by the browser)."""
    return _current


def new_key() -> str:
    """A fresh key for TOCSIN_SECRET_KEY."""
    return Fernet.generate_key().decode("ascii")


class SealedText(TypeDecorator[str]):
    """Text stored sealed (see the module's docstring)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        """Seal on the way in."""
        return None if value is None else _current.seal_recurring(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        """Unseal on the way out."""
        return None if value is None else _current.unseal(str(value))
