"""The payments tests' hand-written records: one defect each, and what the rules must make of them.

A module of its own (not ``conftest``) so test modules import it by a name no
other test folder uses.
"""

from __future__ import annotations

import json
from pathlib import Path

SECRETS = ["REF-SECRET-1", "203.0.113.7", "Agent/1.0 secret-ua", "REF-SECRET-8", "198.51.100.23"]


def _tx(tid: str, **overrides) -> dict:
    record = {
        "transaction_id": tid,
        "customer_id": f"CUST-{tid}",
        "amount": 100.0,
        "currency": "BRL",
        "transaction_date": "2024-01-10",
        "due_date": "2024-02-10",
        "payment_terms": "net_30",
        "status": "pending",
        "metadata": {
            "product_category": "books",
            "sales_rep": "rep_001",
            "channel": "online",
            "discount_applied": False,
            "installments": 2,
        },
    }
    record.update(overrides)
    return record


def _pay(pid: str, tid: str, meta: dict | None = None, **overrides) -> dict:
    record = {
        "payment_id": pid,
        "transaction_id": tid,
        "customer_id": f"CUST-{tid}",
        "amount_paid": 50.0,
        "currency": "BRL",
        "payment_date": "2024-01-20",
        "payment_method": "pix",
        "payment_type": "partial_1",
        "status": "completed",
        "metadata": {
            "processor": "stripe",
            "fee_amount": 1.5,
            "reference_number": f"REF-{pid}",
            "ip_address": "10.0.0.1",
            "user_agent": "Agent/0.1",
            **(meta or {}),
        },
    }
    record.update(overrides)
    return record


#: transactions.json (array) lines 1..7 and transactions_extra.ndjson lines 1..2.
TRANSACTIONS_ARRAY = [
    _tx("T1"),
    _tx("T2", amount="250.50", currency="", transaction_date="2024-02-01T10:00:00", status="completed"),
    _tx("T3", amount=None),
    _tx("T4", amount=-5),
    _tx("T5", transaction_date="invalid-date"),
    _tx("T6", status=None),
    _tx("T7", status="on_hold"),
]
TRANSACTIONS_NDJSON = [_tx("T8", currency="USD"), _tx("T9", due_date="garbage")]
PAYMENTS_ARRAY = [
    _pay(
        "P1",
        "T1",
        {"reference_number": "REF-SECRET-1", "ip_address": "203.0.113.7", "user_agent": "Agent/1.0 secret-ua"},
    ),
    _pay("P2", "T1", amount_paid="50.00", currency="", payment_type="partial_2"),
    _pay("P3", "T2", amount_paid=0),
    _pay("P4", "T3"),
    _pay("P5", "TX-NOPE"),
    _pay("P6", "T2", payment_date="invalid-date"),
    _pay("P7", "T8", status="chargeback"),
    _pay("P8", "T8", {"fee_amount": "abc", "reference_number": "REF-SECRET-8", "ip_address": "198.51.100.23"}),
]

EXPECTED_TX_QUARANTINE = {
    "amount_number": 1,
    "amount_positive": 1,
    "transaction_date_valid": 1,
    "transaction_status_known": 2,
    "due_date_valid": 1,
}
EXPECTED_PAY_QUARANTINE = {
    "amount_paid_positive": 1,
    "transaction_quarantined": 1,
    "transaction_unknown": 1,
    "payment_date_valid": 1,
    "payment_status_known": 1,
}


def write_records(path: Path, records: list) -> Path:
    """``records`` as a JSON array (a ``.json`` path) or as NDJSON, one record per line."""
    if path.suffix == ".json":
        path.write_text(json.dumps(records, indent=1))
    else:
        path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path


def write_inputs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_records(folder / "transactions.json", TRANSACTIONS_ARRAY)
    write_records(folder / "transactions_extra.ndjson", TRANSACTIONS_NDJSON)
    (folder / "payments.json").write_text(json.dumps(PAYMENTS_ARRAY))
    return folder
