"""Synthetic ``transactions.json`` / ``payments.json`` with the defects of real exports.

Generated entirely in DuckDB (``range`` + deterministic hashes, ``COPY ... (FORMAT
json, ARRAY true)``), so millions of records stream to disk without passing
through Python. Defect rates (per mille) are constants below; the same seed
always gives the same files.

The files are an export taken on the last day of the year: payments that would
come later are not in it (their transactions are open), as in a real export.

Besides the defects, values are written the ways real exports write them, all
losslessly repairable (about 2 % each): amounts as padded strings (``" 12.50 "``)
or with thousands separators (``"1,234.50"``, the decimal-point convention the
amount columns declare), currencies and statuses with stray spaces.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from caseworks_assets.resources.staging import staged_path

DEMO_TRANSACTIONS = 2_000
FIRST_DAY = "2024-01-01"
DAYS = 365
CUSTOMERS_PER_TRANSACTION = 0.2  # about 5 transactions per customer over the year
#: Paying late is a customer's habit, not a coin per transaction: percent of customers who often pay late,
#: and percent of transactions paid after their due date (0-75 days) for them and for everyone else.
RISKY_CUSTOMERS_PERCENT = 40
RISKY_LATE_PERCENT = 60
PUNCTUAL_LATE_PERCENT = 3


def _r(seed: int, salt: int, modulo: int = 1000, key: str = "i") -> str:
    """A deterministic pseudo-random integer in [0, modulo) per row."""
    return f"((hash({key}, {seed}, {salt}) % {modulo})::BIGINT)"


def _transactions_cte(rows: int, seed: int) -> str:
    customers = max(1, int(rows * CUSTOMERS_PER_TRANSACTION))
    return f"""
    c AS (
      SELECT
        i,
        {_r(seed, 1, customers)} AS customer
      FROM range({rows}) r(i)
    ),
    t AS (
      SELECT
        i,
        'TXN-' || lpad(i::VARCHAR, 9, '0') AS transaction_id,
        'CUST-' || lpad(customer::VARCHAR, 7, '0') AS customer_id,
        CASE WHEN {_r(seed, 25, 100, "customer")} < {RISKY_CUSTOMERS_PERCENT} THEN {RISKY_LATE_PERCENT}
             ELSE {PUNCTUAL_LATE_PERCENT} END AS late_percent,
        round(10 + {_r(seed, 2, 500000)} / 100.0, 2) AS amount_value,
        {_r(seed, 3)} AS amount_defect,
        DATE '{FIRST_DAY}' + {_r(seed, 4, DAYS)}::INTEGER AS tx_date,
        {_r(seed, 5)} AS date_defect,
        [15, 30, 30, 60][1 + {_r(seed, 6, 4)}] AS terms,
        {_r(seed, 7, 100)} AS status_draw,
        {_r(seed, 8, 100)} AS pay_draw,
        {_r(seed, 9, 100)} AS currency_draw,
        {_r(seed, 10, 24)} AS hour
      FROM c
    )"""


TRANSACTIONS_SELECT = """
SELECT
  transaction_id,
  customer_id,
  CASE
    WHEN amount_defect < 20 THEN to_json(printf('%.2f', amount_value))
    WHEN amount_defect < 25 THEN 'null'::JSON
    WHEN amount_defect < 30 THEN to_json(-amount_value)
    WHEN amount_defect < 50 THEN to_json(' ' || printf('%.2f', amount_value) || ' ')
    WHEN amount_defect < 70 THEN to_json(format('{:,.2f}', amount_value))
    ELSE to_json(amount_value)
  END AS amount,
  CASE WHEN currency_draw < 3 THEN '' WHEN currency_draw < 78 THEN 'BRL' WHEN currency_draw < 80 THEN ' BRL '
       ELSE 'USD' END AS currency,
  CASE
    WHEN date_defect < 3 THEN 'invalid-date'
    WHEN date_defect % 3 = 0 THEN strftime(tx_date + make_time(hour, 15, 0), '%Y-%m-%dT%H:%M:%S')
    ELSE strftime(tx_date, '%Y-%m-%d')
  END AS transaction_date,
  CASE WHEN date_defect BETWEEN 3 AND 4 THEN 'invalid-date'
       ELSE strftime(tx_date + terms::INTEGER, '%Y-%m-%d') END AS due_date,
  'net_' || terms AS payment_terms,
  CASE
    WHEN status_draw < 2 THEN NULL
    WHEN status_draw < 3 THEN 'on_hold'
    WHEN status_draw < 30 THEN 'pending'
    WHEN status_draw < 32 THEN 'completed '
    WHEN status_draw < 90 THEN 'completed'
    WHEN status_draw < 95 THEN 'refunded'
    ELSE 'cancelled'
  END AS status,
  {
    'product_category': ['electronics', 'home', 'fashion', 'books', 'sports'][1 + i % 5],
    'sales_rep': 'rep_' || lpad((i % 37)::VARCHAR, 3, '0'),
    'channel': ['online', 'store', 'phone'][1 + i % 3],
    'discount_applied': (i % 4 = 0),
    'installments': 1 + (i % 6)
  } AS metadata
FROM t ORDER BY i
"""


def _payments_select(seed: int) -> str:
    return f"""
SELECT
  'PAY-' || lpad((i * 3 + j)::VARCHAR, 10, '0') AS payment_id,
  CASE WHEN {_r(seed, 20, 1000, "i * 3 + j")} < 2 THEN 'TXN-X' || lpad(i::VARCHAR, 8, '0') ELSE transaction_id END
    AS transaction_id,
  customer_id,
  CASE
    WHEN pay_defect < 20 THEN to_json(printf('%.2f', paid))
    WHEN pay_defect < 25 THEN 'null'::JSON
    WHEN pay_defect < 30 THEN to_json(0 - paid)
    WHEN pay_defect < 50 THEN to_json(' ' || printf('%.2f', paid) || ' ')
    ELSE to_json(paid)
  END AS amount_paid,
  CASE WHEN currency_draw < 3 THEN '' WHEN currency_draw < 80 THEN 'BRL' ELSE 'USD' END AS currency,
  CASE
    WHEN pay_defect BETWEEN 30 AND 32 THEN 'invalid-date'
    WHEN pay_defect % 2 = 0 THEN strftime(pay_date + make_time(hour, 30, 0), '%Y-%m-%dT%H:%M:%S')
    ELSE strftime(pay_date, '%Y-%m-%d')
  END AS payment_date,
  ['credit_card', 'pix', 'boleto', 'bank_transfer'][1 + (i + j) % 4] AS payment_method,
  CASE WHEN n_pay = 1 THEN 'full' ELSE 'partial_' || (j + 1) END AS payment_type,
  CASE
    WHEN pay_defect BETWEEN 33 AND 35 THEN NULL
    WHEN pay_defect BETWEEN 36 AND 37 THEN 'chargeback'
    WHEN status_draw2 < 93 THEN 'completed'
    WHEN status_draw2 < 97 THEN 'processing'
    ELSE 'failed'
  END AS status,
  {{
    'processor': ['stripe', 'adyen', 'pagseguro'][1 + (i + j) % 3],
    'fee_amount': round(paid * 0.029 + 0.3, 2),
    'reference_number': 'REF-' || lpad((i * 3 + j)::VARCHAR, 10, '0'),
    'ip_address': '10.' || ((i * 7 + j) % 256) || '.' || ((i * 13) % 256) || '.' || ((i * 3 + j) % 254 + 1),
    'user_agent': ['Mozilla/5.0 (Windows NT 10.0; Win64; x64)', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)',
                   'okhttp/4.12.0'][1 + (i + j) % 3] || ' caseworks/' || (i % 97)
  }} AS metadata
FROM (
  SELECT t.*, p.j, n_pay,
    CASE WHEN j = n_pay - 1 THEN amount_value - round(amount_value / n_pay, 2) * (n_pay - 1)
         ELSE round(amount_value / n_pay, 2) END AS paid,
    tx_date + (CASE WHEN {_r(seed, 24, 100, "i")} < late_percent
                    THEN terms + {_r(seed, 21, 1000, "i * 3 + p.j")} % 75
                    ELSE {_r(seed, 21, 1000, "i * 3 + p.j")} % (terms - 2 * p.j + 1) + p.j END)::INTEGER AS pay_date,
    {_r(seed, 22, 1000, "i * 3 + p.j")} AS pay_defect,
    {_r(seed, 23, 100, "i * 3 + p.j")} AS status_draw2
  FROM (SELECT *, CASE WHEN pay_draw < 5 THEN 0 WHEN pay_draw < 75 THEN 1 WHEN pay_draw < 90 THEN 2 ELSE 3 END
        AS n_pay FROM t) t
  JOIN range(3) p(j) ON p.j < t.n_pay
)
WHERE pay_date <= DATE '{FIRST_DAY}' + {DAYS - 1}
ORDER BY i, j
"""


def write_sample(out_dir: Path, rows: int | None = None, seed: int = 42) -> None:
    """Write ``transactions.json`` (``rows`` records) and ``payments.json`` (about 1.2x) as JSON arrays."""
    rows = DEMO_TRANSACTIONS if rows is None else rows
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cte = "WITH " + _transactions_cte(rows, seed)
    with duckdb.connect() as con:
        con.execute("SET preserve_insertion_order = true")
        con.execute("SET enable_progress_bar = false")
        for name, select in (("transactions", TRANSACTIONS_SELECT), ("payments", _payments_select(seed))):
            with staged_path(out_dir / f"{name}.json") as staging:
                con.execute(f"COPY ({cte} {select}) TO '{staging}' (FORMAT json, ARRAY true)")
