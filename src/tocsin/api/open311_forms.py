"""The form of POST requests (GeoReport v2): its fields, their limits, and the submission they
make. Names (`first_name`, `last_name`) and device or account ids are accepted as the spec
allows and dropped unread: Tocsin needs no name. `email` or `phone` is kept, sealed, only to
send updates."""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from tocsin.api.fields import control_character
from tocsin.core.contacts import PHONE_PROBLEM, email_problem, phone_number
from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.reports import Point
from tocsin.services.reports import Submission

# field -> longest value; the spec's fields, and `media` (a photo, multipart only)
FIELDS: dict[str, int] = {
    "api_key": 256,
    "jurisdiction_id": 256,
    "service_code": 64,
    "lat": 32,
    "long": 32,
    "address_string": 1_000,
    "address_id": 256,
    "email": 254,
    "phone": 64,
    "device_id": 256,
    "account_id": 256,
    "first_name": 256,
    "last_name": 256,
    "description": 4_000,
    "media_url": 2_048,
}
DROPPED = frozenset({"first_name", "last_name", "device_id", "account_id", "media_url"})
ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_]{1,64})\](\[\])?$")
# a coordinate as decimal degrees in ASCII (float() alone also takes "1_0", " 43", "４３", "inf")
DEGREES = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
MAX_FIELDS = 100
NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")  # beside the C0 controls: not XML 1.0 Chars
NOT_UTF8 = "not UTF-8 (GeoReport v2 forms are UTF-8)"
FORM_MEDIA = ("application/x-www-form-urlencoded", "multipart/form-data")
ADDRESS_ONLY = "an address alone cannot be placed (no geocoder here): send lat and long too"
PHOTO_READ_LIMIT = 20_000_000
_string = {"type": "string"}
_props: dict[str, Any] = {name: {**_string, "maxLength": n} for name, n in FIELDS.items()}
FORM_SCHEMA: dict[str, Any] = {
    "required": True,
    "content": {
        content_type: {
            "schema": {
                "type": "object",
                "required": ["api_key", "service_code", "lat", "long"],
                "properties": {
                    **_props,
                    **({"media": {**_string, "format": "binary"}} if multipart else {}),
                },
                "patternProperties": {r"^attribute\[[A-Za-z0-9_]{1,64}\](\[\])?$": _string},
                "additionalProperties": False,
            }
        }
        for content_type, multipart in (
            ("application/x-www-form-urlencoded", False),
            ("multipart/form-data", True),
        )
    },
}


def url_encoded_fields(body: bytes) -> list[tuple[str, str]]:
    """The fields of a form-encoded body, decoded as UTF-8 (raw or percent-escaped bytes);
    InvalidInput naming each field whose bytes are not UTF-8, or for more than 100 fields."""
    try:  # latin-1 maps each byte to one character, so the raw bytes can be checked after
        raw = parse_qsl(
            body.decode("latin-1"),
            keep_blank_values=True,
            max_num_fields=MAX_FIELDS,
            encoding="latin-1",
        )
    except ValueError:
        why = f"not a form of at most {MAX_FIELDS} fields"
        raise InvalidInput([Problem("body", "", why)]) from None
    fields: list[tuple[str, str]] = []
    problems: list[Problem] = []
    for name, value in raw:
        try:
            decoded = name.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            problems.append(Problem("form", "", f"a field's name is {NOT_UTF8}"))
            continue
        try:
            fields.append((decoded, value.encode("latin-1").decode("utf-8")))
        except UnicodeDecodeError:
            problems.append(Problem("form", decoded, NOT_UTF8))
    if problems:
        raise InvalidInput(problems)
    return fields


class Utf8MultiPartParser(MultiPartParser):
    """Starlette's multipart parser, refusing a text field whose bytes are not in its charset
    (UTF-8 unless the part says otherwise) where Starlette would read them as Latin-1, and a
    body cut short before its closing boundary (read as the parts it completed)."""

    ended = False

    def on_end(self) -> None:
        """The closing boundary was read."""
        self.ended = True

    async def parse(self) -> FormData:
        """The form, once the whole body was read up to its closing boundary."""
        form = await super().parse()
        if not self.ended:
            await form.close()
            raise MultiPartException("the body ends before its closing boundary")
        return form

    def on_part_end(self) -> None:
        """Check a text part's bytes before Starlette decodes them."""
        part = self._current_part
        if part.file is None:
            try:
                bytes(part.data).decode(self._charset or "utf-8")
            except (UnicodeDecodeError, LookupError):
                raise MultiPartException(f"{part.field_name[:80]}: {NOT_UTF8}") from None
        super().on_part_end()


def _coordinate(raw: str | None, name: str, limit: float) -> tuple[float | None, str | None]:
    if raw is None or raw.strip() == "":
        return None, "required (a location by lat and long)"
    if not DEGREES.fullmatch(raw):
        return None, "not a number"
    value = float(raw)
    if not math.isfinite(value) or abs(value) > limit:
        return None, f"not within ±{limit:g} degrees"
    return value, None


def text_problem(value: str) -> str | None:
    """Why a text field cannot be taken (None: it can): a control character, or a character
    XML 1.0 cannot carry (the XML answers would not be well-formed)."""
    found = control_character(value)
    if found:
        return found
    bad = NOT_XML.search(value)
    if bad is None:
        return None
    return f"U+{ord(bad.group()):04X} at character {bad.start()} is not a character"


def _fields(form: FormData, problems: list[Problem]) -> dict[str, str]:
    """The text fields, each checked against its limit; unknown fields are problems."""
    out: dict[str, str] = {}
    for name, value in form.multi_items():
        if name == "media" or ATTRIBUTE.match(name):
            continue
        if name not in FIELDS:
            problems.append(Problem("form", name, "no such field"))
        elif not isinstance(value, str):
            problems.append(Problem("form", name, "a text field, not a file"))
        elif len(value) > FIELDS[name]:
            problems.append(Problem("form", name, f"longer than {FIELDS[name]} characters"))
        elif text_problem(value):
            problems.append(Problem("form", name, str(text_problem(value))))
        elif name not in DROPPED:
            out[name] = value
    return out


def _attributes(form: FormData, problems: list[Problem]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        match = ATTRIBUTE.match(name)
        if match and isinstance(value, str):
            why = text_problem(value)
            if why:
                problems.append(Problem("form", name, why))
            found.setdefault(match.group(1), []).append(value)
    return found


def _photo(form: FormData, problems: list[Problem]) -> bytes | None:
    upload = form.get("media")
    if upload is None or upload == "":
        return None
    if not isinstance(upload, UploadFile):
        problems.append(Problem("form", "media", "a file (multipart/form-data) is expected"))
        return None
    data = upload.file.read(PHOTO_READ_LIMIT + 1)
    return data or None


def _contact(fields: dict[str, str], problems: list[Problem]) -> str | None:
    """The contact for updates: the e-mail address when one is given, else the phone number
    (both are checked when both are given; updates go to the address)."""
    email = fields.get("email", "").strip()
    phone = fields.get("phone", "").strip()
    why = email_problem(email) if email else None
    if why is not None:
        problems.append(Problem("form", "email", why))
    number = phone_number(phone) if phone else None
    if phone and number is None:
        problems.append(Problem("form", "phone", PHONE_PROBLEM))
    return email or number or None


def submission_of(form: FormData, *, client: str, address_range: str) -> Submission:
    """The submission a form makes; InvalidInput listing every problem of it."""
    problems: list[Problem] = []
    fields = _fields(form, problems)
    lat, lat_why = _coordinate(fields.get("lat"), "lat", 90.0)
    lon, lon_why = _coordinate(fields.get("long"), "long", 180.0)
    address = next((n for n in ("address_string", "address_id") if fields.get(n)), None)
    if address and not fields.get("lat") and not fields.get("long"):
        problems.append(Problem("form", address, ADDRESS_ONLY))
    else:
        for name, why in (("lat", lat_why), ("long", lon_why)):
            if why is not None:
                problems.append(Problem("form", name, why))
    if not fields.get("service_code"):
        problems.append(Problem("form", "service_code", "required"))
    contact = _contact(fields, problems)
    photo = _photo(form, problems)
    attributes = _attributes(form, problems)
    if problems or lat is None or lon is None:
        raise InvalidInput(problems)
    return Submission(
        service=fields["service_code"],
        point=Point(lat, lon),
        client=client,
        address_range=address_range,
        description=fields.get("description", ""),
        address=fields.get("address_string") or None,
        attributes=attributes,
        contact=contact,
        photo=photo,
    )
