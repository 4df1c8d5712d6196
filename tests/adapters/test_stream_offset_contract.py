"""The stream offsets' contract (CheckpointStore), on memory, SQLite and PostgreSQL: an offset
is saved with the rest of its transaction, or not at all."""

from __future__ import annotations

import pytest

from tocsin.bootstrap import Stores


def test_offsets_are_replaced_per_partition(stores: Stores) -> None:
    with stores.store.transaction() as tx:
        assert tx.checkpoints.stream_offsets() == {}
        tx.checkpoints.save_stream_offset(0, 5)
        tx.checkpoints.save_stream_offset(3, 2)
    with stores.store.transaction() as tx:
        tx.checkpoints.save_stream_offset(0, 9)
    with stores.store.transaction() as tx:
        assert tx.checkpoints.stream_offsets() == {0: 9, 3: 2}


def test_an_offset_of_a_rolled_back_transaction_is_not_kept(stores: Stores) -> None:
    with stores.store.transaction() as tx:
        tx.checkpoints.save_stream_offset(1, 4)

    def fail_after_saving() -> None:
        with stores.store.transaction() as tx:
            tx.checkpoints.save_stream_offset(1, 8)
            tx.checkpoints.save("blob", b"x")
            raise RuntimeError("the rest of the transaction failed")

    with pytest.raises(RuntimeError):
        fail_after_saving()
    with stores.store.transaction() as tx:
        assert tx.checkpoints.stream_offsets() == {1: 4}
        assert tx.checkpoints.load("blob") is None
