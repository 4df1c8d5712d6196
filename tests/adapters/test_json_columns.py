"""JSON columns read back through msgspec read exactly what the standard library would."""

from __future__ import annotations

import json
import math

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, Table, insert, select

from tocsin.adapters.storage.engine import make_engine
from tocsin.adapters.storage.json_columns import json_loads

VALUES = [
    {"level": "red", "cells": ["C1", "C2"], "score": 0.25, "n": 3, "ok": True, "none": None},
    {"big": 123456789012345678901234567890, "tiny": 5e-324, "neg": -0.0},
    {"nan": math.nan, "inf": math.inf, "minus_inf": -math.inf},  # json.dumps writes these
    {"text": 'é ✓ \u2028 \ud800 "quoted" \\ back'},  # a lone surrogate, as json.dumps writes it
    [],
    "plain",
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_a_value_written_by_json_dumps_reads_back_as_json_loads_reads_it(value: object) -> None:
    text = json.dumps(value)
    assert repr(json_loads(text)) == repr(json.loads(text))
    assert repr(json_loads(text.encode("utf-8", "surrogatepass"))) == repr(json.loads(text))


def test_the_engines_read_json_columns_with_it(db_url: str) -> None:
    table = Table(
        "json_probe", MetaData(), Column("id", Integer, primary_key=True), Column("v", JSON)
    )
    engine = make_engine(db_url)
    table.create(engine, checkfirst=True)
    try:
        with engine.begin() as conn:
            conn.execute(insert(table), [{"id": i, "v": v} for i, v in enumerate(VALUES[:2])])
            read = [r.v for r in conn.execute(select(table).order_by(table.c.id))]
        assert read == VALUES[:2]
        assert engine.dialect._json_deserializer is json_loads
    finally:
        table.drop(engine)
        engine.dispose()
