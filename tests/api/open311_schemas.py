"""The GeoReport v2 validation schemas (read in place from the shared reference folder) and
an XML reader for the answers (defusedxml: the answers are treated as untrusted)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
from defusedxml import ElementTree

from tocsin.config import Settings

BASE = "file:///georeport-v2/"


def folder() -> Path:
    """Where the schemas are."""
    return Settings().benchdata / "open311" / "schema" / "georeport-v2"


def _load(name: str) -> Any:
    return json.loads((folder() / name).read_text(encoding="utf-8"))


@cache
def validator(name: str) -> jsonschema_rs.Validator:
    """A Draft 4 validator (formats checked) for one schema file, or `swagger.json#Name` for a
    definition of the Swagger document (the POST and token answers have no file of their own)."""
    registry = jsonschema_rs.Registry(
        [(BASE + n, _load(n)) for n in ("request.json", "service.json")]
    )
    if name.startswith("swagger.json#"):
        schema = _load("swagger.json")["definitions"][name.partition("#")[2]]
        schema = {**schema, "type": "object"}
    else:
        schema = _load(name)
    return jsonschema_rs.Draft4Validator(
        schema, registry=registry, validate_formats=True, base_uri=BASE + name
    )


def check(name: str, body: Any) -> None:
    """Raise (listing every error) unless `body` is valid; top-level types checked too (the
    schemas do not say an answer is an array)."""
    if name.endswith("s.json") or name.startswith("swagger.json#"):
        assert isinstance(body, list), f"{name}: not an array"
        items = body if name.startswith("swagger.json#") else [body]
    else:
        assert isinstance(body, dict), f"{name}: not an object"
        items = [body]
    for item in items:
        errors = [str(e) for e in validator(name).iter_errors(item)]
        assert not errors, f"{name}: {errors}"


def xml(text: bytes) -> Any:
    """The parsed XML answer (its declaration checked)."""
    assert text.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ElementTree.fromstring(text)


def xml_records(text: bytes, item: str) -> list[dict[str, str]]:
    """Each `item` element's simple children as a dict."""
    root = xml(text)
    return [{c.tag: c.text or "" for c in e} for e in root.findall(item)]
