"""The delinquency answer as one line of text, for ``caseworks run payments`` / ``caseworks demo``."""

from __future__ import annotations

import duckdb


def delinquency_answer(con: duckdb.DuckDBPyConnection) -> str:
    """Summarize ``payments.delinquency_summary`` from the warehouse the run wrote."""
    row = con.execute("select * from payments.delinquency_summary").pl().row(0, named=True)
    return (
        f"delinquency at {row['as_of']}: {row['clients_delinquent']} of {row['clients_evaluated']} clients "
        f"inadimplentes ({row['pct_delinquent']:.2f}%); criterion 1 (>30 days late, 3 months): "
        f"{row['clients_criterion_1']}, criterion 2 (>15 days late, 6 months): {row['clients_criterion_2']}; "
        f"{row['violating_transactions']} violating transactions, "
        f"{row['obligations_not_evaluable']} obligations not evaluable"
    )
