"""Sealing reporters' contacts: AES-256-GCM (NIST SP 800-38D) with a key from the environment
(`TOCSIN_REPORT_CONTACT_KEY`, 32 bytes in URL-safe base64), a random 96-bit nonce per message,
and the report's id bound in as associated data (a sealed contact cannot be moved to another
report). Stored form: version byte, nonce, ciphertext with its tag.

The unsubscribe token of a report is an HMAC-SHA256 (RFC 2104) of its id under a second key
derived from the same setting with HKDF (RFC 5869): unguessable without the key, stored nowhere,
and void once the key changes."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tocsin.core.errors import InvalidConfig, Problem, Unavailable

VERSION = b"\x01"
NONCE_BYTES = 12
TOKEN_INFO = b"tocsin report unsubscribe token v1"


def new_key() -> str:
    """A fresh key, as the setting wants it."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


class AesGcmContactCipher:
    """Seals and opens contacts with one key."""

    def __init__(self, key: str) -> None:
        try:
            raw = base64.urlsafe_b64decode(key.strip().encode())
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            why = "not 32 bytes in URL-safe base64 (tocsin reports new-key prints one)"
            raise InvalidConfig([Problem("TOCSIN_REPORT_CONTACT_KEY", "", why)])
        self._aead = AESGCM(raw)
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=TOKEN_INFO)
        self._token_key = hkdf.derive(raw)

    def seal(self, text: str, *, report_id: str) -> bytes:
        """The contact, encrypted and bound to the report."""
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, text.encode(), report_id.encode())

    def open(self, sealed: bytes, *, report_id: str) -> str:
        """The contact back; Unavailable when the key is not the one it was sealed with."""
        nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, report_id.encode()).decode()
        except InvalidTag:
            raise Unavailable("the contact cannot be opened with the configured key") from None

    def token(self, report_id: str) -> str:
        """The report's unsubscribe token (128 bits of an HMAC, URL-safe)."""
        mac = hmac.new(self._token_key, report_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:16]).decode().rstrip("=")
