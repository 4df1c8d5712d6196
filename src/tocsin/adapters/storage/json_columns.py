"""How JSON columns are read back: msgspec's decoder (C speed: the warning pipeline reads
every warning's and notification's JSON), and the standard library's wherever msgspec refuses
what the standard library wrote (NaN and infinities, lone surrogates), so that nothing stored
reads back otherwise than before. Values are still written by SQLAlchemy's default, `json.dumps`.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

_DECODE = msgspec.json.Decoder()


def json_loads(text: str | bytes) -> Any:
    """A JSON column's stored text as Python values."""
    try:
        return _DECODE.decode(text)
    except msgspec.MsgspecError:
        return json.loads(text)
