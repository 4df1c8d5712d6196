"""A reporter's contact for updates: an e-mail address or a phone number, told apart by its
form (an address holds an `@`, a number never does), checked when the report comes in.

A phone number is kept as the digits a gateway dials: the written separators (spaces, dots,
hyphens, brackets) dropped, a leading international prefix `00` written as `+`. A number with
`+` is complete (E.164: at most 15 digits after the country code's `+`, ITU-T E.164 §6); one
without is passed to the SMS gateway as given, which dials it in its own country.
"""

from __future__ import annotations

import re
from typing import Final

SEPARATORS: Final = re.compile(r"[\s.()\-/]")
DIGITS: Final = re.compile(r"\+?[0-9]{6,15}")
ADDRESS: Final = re.compile(r"[^@\s]+@[^@\s]+")


def is_email(contact: str) -> bool:
    """Whether a stored contact is an e-mail address (else it is a phone number)."""
    return "@" in contact


def email_problem(text: str) -> str | None:
    """Why `text` is not an e-mail address (None: it is one, as far as a form can tell)."""
    if ADDRESS.fullmatch(text.strip()) is None:
        return "not an e-mail address (one @ between a name and a domain, no spaces)"
    return None


def phone_number(text: str) -> str | None:
    """The number a gateway dials, or None when `text` is not a phone number."""
    compact = SEPARATORS.sub("", text.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact if DIGITS.fullmatch(compact) else None


PHONE_PROBLEM: Final = (
    "not a phone number: 6 to 15 digits, with the country code after + or 00 "
    "(for example +39 055 123 4567)"
)
