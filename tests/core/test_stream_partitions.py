"""Stream partitions and the stream rows' wire format (pure)."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.core.errors import InvalidInput
from tocsin.core.stream_partitions import (
    balanced_share,
    describe,
    leased_partition,
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


members_st = st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=8, unique=True)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], dict[int, str], int]:
    """Live members, the owners of some partitions (members, and now and then a worker with
    partitions given by hand, "z"), and the number of partitions."""
    members = draw(members_st)
    n = draw(st.integers(1, 40))
    owners = {
        p: draw(st.sampled_from([*members, "z"]))
        for p in draw(st.lists(st.integers(0, n - 1), unique=True))
    }
    return members, owners, n


@given(tables())
def test_the_shares_split_the_free_partitions_evenly_and_keep_what_they_can(
    table: tuple[list[str], dict[int, str], int],
) -> None:
    members, owners, n = table
    shares = {m: balanced_share(m, members, owners, partitions=n) for m in members}
    pool = sorted(p for p in range(n) if owners.get(p) != "z")
    assert sorted(p for share in shares.values() for p in share) == pool  # each once
    sizes = [len(share) for share in shares.values()]
    assert max(sizes) - min(sizes) <= 1
    for m, share in shares.items():  # a member keeps its own up to its share
        mine = [p for p in pool if owners.get(p) == m]
        assert len(set(mine) & set(share)) == min(len(mine), len(share))
    assert balanced_share("y", members, owners, partitions=n) == ()  # not a member


@given(members_st, st.integers(1, 40), st.randoms(use_true_random=False))
def test_workers_acting_on_the_table_one_at_a_time_settle_with_one_owner_each(
    members: list[str], n: int, rng: random.Random
) -> None:
    """Each worker in turn gives up what is not its share and takes its free share (what
    `PartitionBalancer` does): a partition never has two owners, and the table settles."""
    owners: dict[int, str] = {}
    for _ in range(4 * len(members) + 4):
        worker = rng.choice(members)
        share = balanced_share(worker, members, owners, partitions=n)
        owners = {p: o for p, o in owners.items() if o != worker or p in share}
        owners.update({p: worker for p in share if p not in owners})
    for worker in members:  # one more round each, in order: nothing moves any more
        share = balanced_share(worker, members, owners, partitions=n)
        owners = {p: o for p, o in owners.items() if o != worker or p in share}
        owners.update({p: worker for p in share if p not in owners})
    settled = dict(owners)
    for worker in members:
        assert tuple(sorted(p for p, o in settled.items() if o == worker)) == balanced_share(
            worker, members, settled, partitions=n
        )
    assert sorted(settled) == list(range(n))


def test_a_joining_worker_takes_only_its_share_and_nothing_else_moves() -> None:
    before = {p: ("a", "b", "c")[p % 3] for p in range(12)}  # 4 each
    after = {m: balanced_share(m, ["a", "b", "c", "d"], before, partitions=12) for m in "abcd"}
    assert [len(after[m]) for m in "abcd"] == [3, 3, 3, 3]
    moved = [p for p in range(12) if p not in after[before[p]]]
    assert sorted(moved) == sorted(after["d"])  # only what the newcomer takes


def test_lease_names_name_their_partition() -> None:
    assert leased_partition("stream-partition:15/16", 16) == 15
    assert leased_partition("stream-partition:16/16", 16) is None
    assert leased_partition("stream-partition:x/16", 16) is None
    assert leased_partition("stream-worker:host:1", 16) is None
