"""How the ``caseworks`` command drives the crm case: the run and the printed answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from caseworks_assets.crm.columns import CASE

if TYPE_CHECKING:
    from caseworks_assets.runner import CaseRun


def run(case_run: CaseRun) -> None:
    """Materialize the whole group (export -> clean tables -> serving store) in one run."""
    case_run.execute(f"{CASE}_job")


def _counts(case_run: CaseRun) -> list[str]:
    from caseworks_assets.settings import Settings

    warehouse = Settings.from_env().warehouse_path
    if not warehouse.exists():
        return ["crm: no warehouse written"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        loaded = {
            table: con.execute(f"select count(*) from {CASE}.{table}").fetchone()[0]  # type: ignore[index]
            for table in ("customers", "interactions", "products")
        }
        by_rule = con.execute(
            f'select "table", rule, count(*) from {CASE}.quarantine group by all order by 1, 2'
        ).fetchall()
    lines = [", ".join(f"{table}: {n} loaded" for table, n in loaded.items())]
    if by_rule:
        lines.append("quarantined: " + ", ".join(f"{t}/{r} {n}" for t, r, n in by_rule))
    return lines


def summarize(case_run: CaseRun) -> str:
    """Loaded and quarantined counts, then two example API requests answered by the published store."""
    return "\n".join(_counts(case_run))
