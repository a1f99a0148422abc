"""``IdIndex``: exact membership of each payment's transaction id, batch by batch, in the row order of the batch."""

from __future__ import annotations

import polars as pl
import pytest

from caseworks_assets.payments.rules import TRANSACTION_STATE, IdIndex, known_ids, state_joiner

IDS = pl.Series("transaction_id", ["TXN-3", "TXN-1", "TXN-2", "TXN-2", None])
WANTED = pl.Series("transaction_id", ["TXN-2", "TXN-9", None, "TXN-1", "txn-1", "TXN-3", "TXN-1 "])
EXPECTED = [True, False, False, True, False, True, False]


class EveryIdCollides(IdIndex):
    """Every id with the same hash: the worst case of the 64-bit collisions the index must still answer exactly."""

    def hash(self, ids: pl.Series) -> pl.Series:
        return pl.repeat(7, ids.len(), dtype=pl.UInt64, eager=True)


@pytest.mark.parametrize("index_class", [IdIndex, EveryIdCollides])
def test_contains_answers_exactly_in_the_order_asked(index_class: type[IdIndex]) -> None:
    index = index_class(IDS)
    assert len(index) == 4  # null is not an id; a repeated id is kept and harmless
    assert index.contains(WANTED).to_list() == EXPECTED
    assert index.contains(WANTED).name == "transaction_id"


def test_an_empty_index_contains_nothing() -> None:
    assert IdIndex(pl.Series("transaction_id", [], dtype=pl.String)).contains(WANTED).to_list() == [False] * 7


def test_contains_agrees_with_is_in_on_many_ids() -> None:
    ids = pl.Series("transaction_id", [f"TXN-{i:07d}" for i in range(0, 200_000, 2)])
    wanted = pl.Series("transaction_id", [f"TXN-{i:07d}" for i in range(0, 200_000, 3)])
    assert IdIndex(ids).contains(wanted).to_list() == wanted.is_in(ids.implode()).to_list()


def test_state_joiner_names_each_payment_s_transaction_state_in_batch_order() -> None:
    clean = IdIndex(pl.Series(["TXN-1", "TXN-2"]))
    quarantined = IdIndex(pl.Series(["TXN-5"]))
    batch = pl.DataFrame(
        {"payment_id": ["P1", "P2", "P3", "P4", "P5"], "transaction_id": ["TXN-5", "TXN-2", None, "TXN-8", " TXN-1 "]}
    )
    joined = state_joiner(clean, quarantined)(batch)
    assert joined["payment_id"].to_list() == ["P1", "P2", "P3", "P4", "P5"]
    # `` TXN-1 `` is looked up as the rules will read it, trimmed
    assert joined[TRANSACTION_STATE].to_list() == ["quarantined", "clean", "unknown", "unknown", "clean"]
    assert joined["transaction_id"].to_list() == batch["transaction_id"].to_list()  # the rules repair (and count) it


def test_a_quarantined_transaction_is_found_by_its_trimmed_id() -> None:
    """The quarantine keeps raw ids (' TXN-5 '); a payment of 'TXN-5' is judged against its quarantined transaction."""
    clean, quarantined = known_ids(pl.Series(["TXN-1"]), pl.Series([" TXN-5 ", "TXN-1 ", None, " TXN-5"]))
    assert len(quarantined) == 1  # TXN-5 once; 'TXN-1 ' is the clean TXN-1, null is no id
    batch = pl.DataFrame({"transaction_id": ["TXN-5", " TXN-1", "TXN-9"]})
    assert state_joiner(clean, quarantined)(batch)[TRANSACTION_STATE].to_list() == ["quarantined", "clean", "unknown"]
