"""The hash chain, pure: any one record altered, deleted or moved is found at its place."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.core.audit import AuditRecord
from tocsin.core.audit_chain import GENESIS, Head, Stored, Tamper, canonical, extend, verify

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _trail(n: int) -> tuple[list[Stored], Head]:
    records = [
        AuditRecord(
            T0 + timedelta(seconds=i), f"a{i % 3}", "k", "warning", f"w{i}", f"r{i}", {"i": i}
        )
        for i in range(n)
    ]
    links = extend(Head(), records)
    rows = [
        Stored(i + 1, seq, digest, r)
        for i, (r, (seq, digest)) in enumerate(zip(records, links, strict=True))
    ]
    return rows, Head(*links[-1]) if links else Head()


def test_the_canonical_form_is_sorted_compact_utf8_and_utc() -> None:
    record = AuditRecord(
        datetime(2026, 1, 1, 1, tzinfo=UTC).astimezone(),
        "ünï",
        "k",
        "t",
        "s",
        "r",
        {"b": 1, "a": [1.5]},
    )
    assert (
        canonical(record)
        == (
            '{"actor":"ünï","at":"2026-01-01T01:00:00.000000+00:00","details":{"a":[1.5],"b":1},'
            '"kind":"k","reason":"r","subject_id":"s","subject_type":"t"}'
        ).encode()
    )


@given(st.integers(2, 12), st.data())
def test_one_altered_record_is_named(n: int, data: st.DataObject) -> None:
    rows, head = _trail(n)
    i = data.draw(st.integers(0, n - 1))
    rows[i] = replace(rows[i], record=replace(rows[i].record, reason="forged"))
    found = verify(rows, head)
    assert found is not None
    assert (found.tamper, found.record_id, found.seq) == (Tamper.ALTERED, i + 1, i + 1)


@given(st.integers(2, 12), st.data())
def test_one_deleted_record_is_named_by_its_place(n: int, data: st.DataObject) -> None:
    rows, head = _trail(n)
    i = data.draw(st.integers(0, n - 1))
    del rows[i]
    found = verify(rows, head)
    assert found is not None
    assert (found.tamper, found.seq) == (Tamper.DELETED, i + 1)


@given(st.integers(3, 12), st.data())
def test_two_swapped_rows_are_found(n: int, data: st.DataObject) -> None:
    rows, head = _trail(n)
    i = data.draw(st.integers(0, n - 2))
    a, b = rows[i], rows[i + 1]
    rows[i], rows[i + 1] = replace(b, id=a.id), replace(a, id=b.id)  # renumbered rows
    found = verify(rows, head)
    assert found is not None
    assert (found.tamper, found.record_id) == (Tamper.REORDERED, b.id)


def test_an_empty_trail_verifies_and_a_moved_head_does_not() -> None:
    assert verify([], Head()) is None
    rows, head = _trail(3)
    assert verify(rows, head) is None
    assert verify(rows, Head(3, GENESIS)) is not None
