"""Strict, bounded field types of request bodies, stated in the OpenAPI schema.

Numbers are JSON numbers (a string "1.5" or a boolean is refused), moments are RFC 3339
date-times with an offset or integer epoch seconds, between 1900 and 9999, and every string, map
and list has a size limit.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Request
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictFloat,
    StrictStr,
    WithJsonSchema,
)

from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.moments import (
    EPOCH_HELP,
    EPOCH_MAX,
    EPOCH_MIN,
    MOMENT_HELP,
    epoch_seconds,
    moment,
)

__all__ = ["EPOCH_HELP", "EPOCH_MAX", "EPOCH_MIN", "MOMENT_HELP", "epoch_seconds"]

ATTRIBUTES_MAX_CHARS = 16_384
ATTRIBUTES_MAX_DEPTH = 16


def _depth(value: Any) -> int:
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    return 1 + max((_depth(c) for c in children), default=0)


def _json_size(value: dict[str, Any]) -> dict[str, Any]:
    if _depth(value) > ATTRIBUTES_MAX_DEPTH:
        raise ValueError(f"nested deeper than {ATTRIBUTES_MAX_DEPTH} levels")
    size = len(json.dumps(value, default=str))
    if size > ATTRIBUTES_MAX_CHARS:
        raise ValueError(f"{size} characters of JSON; at most {ATTRIBUTES_MAX_CHARS}")
    return value


Moment = Annotated[
    datetime,
    BeforeValidator(moment),
    WithJsonSchema({"type": "string", "format": "date-time", "description": MOMENT_HELP}),
]
EpochOrMoment = Annotated[
    int,
    BeforeValidator(epoch_seconds),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "integer", "minimum": EPOCH_MIN, "maximum": EPOCH_MAX},
            ],
            "description": f"{MOMENT_HELP}; or {EPOCH_HELP}",
        }
    ),
]
IndicatorPath = Annotated[
    str, Path(min_length=1, max_length=256, examples=["D11.river_level"], description="its code")
]
CapIdentifier = Annotated[  # a CAP message's identifier, in a path
    str, Path(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9._:-]+$")
]
CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # C0 but tab and line breaks, DEL
PLAIN = {"pattern": r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"}


def control_character(value: str) -> str | None:
    """Which control character (not tab or a line break) a text holds and where, if any."""
    found = CONTROLS.search(value)
    if found is None:
        return None
    return f"control character U+{ord(found.group()):04X} at character {found.start()}"


def _no_controls(value: str) -> str:
    found = control_character(value)
    if found:
        raise ValueError(found)
    return value


Plain = AfterValidator(_no_controls)
Number = Annotated[StrictFloat, Field(description="a JSON number (not a string or a boolean)")]
Code = Annotated[StrictStr, Field(min_length=1, max_length=256, json_schema_extra=PLAIN), Plain]
Name = Annotated[StrictStr, Field(min_length=1, max_length=1_000, json_schema_extra=PLAIN), Plain]
Text = Annotated[StrictStr, Field(max_length=10_000, json_schema_extra=PLAIN), Plain]
Reason = Annotated[StrictStr, Field(max_length=2_000, json_schema_extra=PLAIN), Plain]
Matcher = Annotated[StrictStr, Field(min_length=1, max_length=1_000)]
LabelName = Annotated[StrictStr, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
LabelValue = Annotated[StrictStr, Field(max_length=2_048)]
Labels = Annotated[dict[LabelName, LabelValue], Field(max_length=64)]
Annotations = Annotated[dict[LabelName, Text], Field(max_length=64)]
Attributes = Annotated[
    dict[Annotated[StrictStr, Field(min_length=1, max_length=128)], Any],
    Field(
        max_length=64,
        description=f"free JSON, at most 64 keys, {ATTRIBUTES_MAX_CHARS} characters and"
        f" {ATTRIBUTES_MAX_DEPTH} levels",
    ),
    AfterValidator(_json_size),
]


def single_values(request: Request) -> None:
    """A dependency for routes whose query parameters are all single values: one given twice
    (`?unit=a&unit=b`) is refused (422) instead of the last one silently winning."""
    seen: set[str] = set()
    repeated: list[str] = []
    for name, _ in request.query_params.multi_items():
        if name in seen and name not in repeated:
            repeated.append(name)
        seen.add(name)
    if repeated:
        raise InvalidInput(
            [Problem("query", name, "given more than once; give it once") for name in repeated]
        )
