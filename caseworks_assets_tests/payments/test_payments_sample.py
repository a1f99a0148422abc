"""The synthetic inputs: deterministic, and carrying every defect the spec lists."""

from __future__ import annotations

from pathlib import Path

import duckdb

from caseworks_assets.payments.cli import validate_inputs
from caseworks_assets.payments.sample import write_sample
from caseworks_assets.registry import InputError


def test_sample_is_deterministic_and_has_the_real_world_defects(tmp_path: Path):
    write_sample(tmp_path / "a", 2000, 7)
    write_sample(tmp_path / "b", 2000, 7)
    for name in ("transactions.json", "payments.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    validate_inputs(tmp_path / "a")
    tx = f"read_json('{tmp_path / 'a' / 'transactions.json'}', records=false, columns={{'record': 'JSON'}})"
    pay = f"read_json('{tmp_path / 'a' / 'payments.json'}', records=false, columns={{'record': 'JSON'}})"
    with duckdb.connect() as con:

        def one(sql: str) -> int:
            return con.execute(sql).fetchone()[0]  # type: ignore[index]

        assert one(f"select count(*) from {tx}") == 2000
        assert one(f"select count(*) from {tx} where json_type(record, '$.amount') = 'VARCHAR'") > 0
        assert one(f"select count(*) from {tx} where json_type(record, '$.amount') = 'NULL'") > 0
        assert one(f"select count(*) from {tx} where try_cast(record->>'amount' as DOUBLE) < 0") > 0
        # written the ways real exports write them (losslessly repairable)
        assert one(f"select count(*) from {tx} where record->>'amount' like ' %.__ '") > 0
        assert one(f"select count(*) from {tx} where record->>'amount' like '%,___.__'") > 0
        assert one(f"select count(*) from {tx} where record->>'currency' = ' BRL '") > 0
        assert one(f"select count(*) from {tx} where record->>'status' = 'completed '") > 0
        assert one(f"select count(*) from {tx} where record->>'currency' = ''") > 0
        assert one(f"select count(*) from {tx} where record->>'transaction_date' = 'invalid-date'") > 0
        assert one(f"select count(*) from {tx} where record->>'transaction_date' like '%T%:%'") > 0
        assert one(f"select count(*) from {tx} where json_type(record, '$.status') = 'NULL'") > 0
        partials = f"select record->>'transaction_id' t from {pay} group by 1 having count(*) > 1"
        assert one(f"select count(*) from ({partials})") > 0
        paid_ids = f"select record->>'transaction_id' from {pay}"
        unpaid = f"select count(*) from {tx} where record->>'transaction_id' not in ({paid_ids})"
        assert one(unpaid) > 0
        assert one(f"select count(*) from {pay} where record->>'transaction_id' like 'TXN-X%'") > 0


def test_validate_inputs_names_the_problem(tmp_path: Path):
    try:
        validate_inputs(tmp_path / "missing")
    except InputError as error:
        assert "not found" in str(error)
    else:
        raise AssertionError("a missing folder must be refused")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "transactions.json").write_text("[]")
    (tmp_path / "in" / "payments.json").write_text("payment_id,amount\n1,2\n")
    try:
        validate_inputs(tmp_path / "in")
    except InputError as error:
        assert "payments.json" in str(error) and "line 1" in str(error)
    else:
        raise AssertionError("a CSV named .json must be refused")
