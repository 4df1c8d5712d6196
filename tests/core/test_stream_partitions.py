"""Stream partitions and the stream rows' wire format (pure)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.core.errors import InvalidInput
from tocsin.core.stream_partitions import (
    describe,
    parse_partitions,
    partition_of,
    rows_by_partition,
    share_of,
)
from tocsin.core.stream_rows import decode, encode, message_id, rows_of

codes_st = st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=6, unique=True)


def test_a_code_has_the_same_partition_in_every_process() -> None:
    # not Python's hash() of a str, which differs between processes (PYTHONHASHSEED)
    codes = [f"G{i:02d}.level" for i in range(32)]
    here = [partition_of(c, 4) for c in codes]
    script = (
        "from tocsin.core.stream_partitions import partition_of;"
        f"print([partition_of(c, 4) for c in {codes!r}])"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == str(here)
    assert set(here) == {0, 1, 2, 3}


def test_rows_by_partition_keeps_each_partitions_rows_in_order() -> None:
    table = np.array([1, 0, 1], dtype=np.int64)
    parts = rows_by_partition(np.array([0, 1, 2, 0, 1], dtype=np.int64), table)
    assert {p: r.tolist() for p, r in parts.items()} == {0: [1, 4], 1: [0, 2, 3]}


@pytest.mark.parametrize(
    ("text", "owned"),
    [("0-3", (0, 1, 2, 3)), ("5,1,1-2", (1, 2, 5)), ("all", tuple(range(8))), ("7", (7,))],
)
def test_partitions_a_worker_is_given(text: str, owned: tuple[int, ...]) -> None:
    assert parse_partitions(text, partitions=8) == owned
    assert parse_partitions(describe(owned), partitions=8) == owned


@pytest.mark.parametrize("text", ["8", "3-1", "a", "1-", "", "-2", "0-9"])
def test_partitions_outside_the_stream_or_not_numbers_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_partitions(text, partitions=8)
    assert err.value.problems[0].where == "partitions"


def test_shares_cover_every_partition_once() -> None:
    shares = [share_of(i, workers=3, partitions=8) for i in range(3)]
    assert sorted(p for s in shares for p in s) == list(range(8))
    with pytest.raises(InvalidInput):
        share_of(3, workers=3, partitions=8)
    with pytest.raises(InvalidInput):
        share_of(0, workers=9, partitions=8)


@given(codes_st, st.data())
def test_stream_rows_round_trip(codes: list[str], data: st.DataObject) -> None:
    n = data.draw(st.integers(0, 20))
    series = np.array(data.draw(st.lists(st.integers(0, len(codes) - 1), min_size=n, max_size=n)))
    times = np.array(data.draw(st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n)))
    values = np.array(
        data.draw(st.lists(st.floats(allow_nan=False), min_size=n, max_size=n)), dtype=np.float64
    )
    rows = rows_of(codes, series.astype(np.int64), times=times.astype(np.int64), values=values)
    back = decode(encode(rows), where="m")
    assert [back.codes[i] for i in back.code_index] == [codes[int(s)] for s in series]
    assert back.times.tolist() == times.tolist()
    assert back.values.tolist() == values.tolist()


def test_the_same_rows_have_the_same_id_and_other_rows_another() -> None:
    one = encode(rows_of(["a"], np.array([0]), times=np.array([1]), values=np.array([2.0])))
    two = encode(rows_of(["a"], np.array([0]), times=np.array([1]), values=np.array([3.0])))
    assert message_id(0, one) == message_id(0, bytes(one))
    assert message_id(0, one) != message_id(0, two)
    assert message_id(0, one) != message_id(1, one)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"XXXX",
        b"TSR1\x02\x00\x00\x00{}",
        b'TSR1\x17\x00\x00\x00{"codes":[],"rows":1}' + b"\0" * 24,
    ],
)
def test_bytes_that_are_not_stream_rows_are_refused_with_where(data: bytes) -> None:
    with pytest.raises(InvalidInput) as err:
        decode(data, where="partition 2 sequence 7")
    assert err.value.problems[0].where == "partition 2 sequence 7"
