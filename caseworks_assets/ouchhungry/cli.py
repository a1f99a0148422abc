"""The case for the CLI: sample inputs, validation, an end-to-end run and its summary."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl

from caseworks_assets.ouchhungry import columns
from caseworks_assets.ouchhungry.product import insights_markdown
from caseworks_assets.ouchhungry.simulate import (
    DefectRates,
    simulate_customers,
    simulate_products,
    simulate_transactions,
)
from caseworks_assets.quality.csv_input import read_csv
from caseworks_assets.registry import InputError
from caseworks_assets.runner import CaseRun

#: The demo covers the last four days of January 2025 (the first month of the partitions).
DEMO_DAYS = [date(2025, 1, 28) + timedelta(days=i) for i in range(4)]
DEMO_PER_DAY = 200
DEMO_CUSTOMERS = 300


def write_sample(out_dir: Path, rows: int | None, seed: int) -> None:
    """Exports in the input layout: products.csv, customers.csv, transactions/<day>.csv (``rows`` in total)."""
    per_day = DEMO_PER_DAY if rows is None else max(1, rows // len(DEMO_DAYS))
    customers = DEMO_CUSTOMERS if rows is None else max(50, rows // 5)
    rates = DefectRates()
    (out_dir / "transactions").mkdir(parents=True, exist_ok=True)
    simulate_products(seed, rates).write_csv(out_dir / "products.csv")
    simulate_customers(customers, seed, rates).write_csv(out_dir / "customers.csv")
    for day in DEMO_DAYS:
        simulate_transactions(day, per_day, customers, seed, rates).write_csv(
            out_dir / "transactions" / f"{day.isoformat()}.csv"
        )


def _check_header(path: Path, expected: list[str]) -> None:
    if not path.is_file():
        raise InputError(f"{path}: file not found (write a sample with `caseworks sample ouchhungry --out DIR`)")
    try:
        header = read_csv(path, expected, infer_schema=False, n_rows=0).columns
    except pl.exceptions.PolarsError as error:
        raise InputError(f"{path} line 1: not a readable CSV header ({error})") from error
    missing = [name for name in expected if name not in header]
    if missing:
        raise InputError(f"{path} line 1: header lacks column(s) {', '.join(missing)}")


def transaction_days(data_dir: Path) -> list[str]:
    return sorted(path.stem for path in (data_dir / "transactions").glob("*.csv"))


def validate_inputs(data_dir: Path) -> None:
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: input folder not found (write one with `caseworks sample ouchhungry --out DIR`)")
    _check_header(data_dir / "products.csv", [c.name for c in columns.RAW_PRODUCTS])
    _check_header(data_dir / "customers.csv", [c.name for c in columns.RAW_CUSTOMERS])
    days = transaction_days(data_dir)
    if not days:
        raise InputError(f"{data_dir / 'transactions'}: no <YYYY-MM-DD>.csv files")
    for day in days:
        try:
            date.fromisoformat(day)
        except ValueError as error:
            raise InputError(f"{data_dir / 'transactions' / (day + '.csv')}: name is not a YYYY-MM-DD date") from error
        _check_header(data_dir / "transactions" / f"{day}.csv", [c.name for c in columns.RAW_TRANSACTIONS])


def run(case_run: CaseRun) -> None:
    """Every day present in the inputs, then each month they touch (partial months allowed, and said)."""
    days = transaction_days(case_run.data_dir)
    for day in days:
        case_run.execute("ouchhungry_job", partition_key=day)
    for month in sorted({day[:7] for day in days}):
        present = sum(day.startswith(month) for day in days)
        first = date.fromisoformat(f"{month}-01")
        total = ((first.replace(day=28) + timedelta(days=4)).replace(day=1) - first).days
        if present < total:
            case_run.echo(f"[ouchhungry] month {month}: {present} of {total} days in the inputs (partial month)")
        case_run.execute(
            "ouchhungry_monthly_job",
            partition_key=first.isoformat(),
            run_config={
                "ops": {"ouchhungry__monthly_city_sales": {"config": {"require_complete_month": present >= total}}}
            },
        )


def summarize(case_run: CaseRun) -> str:
    lines = []
    for result in case_run.results:
        if result.dagster_run.job_name != "ouchhungry_monthly_job":
            continue
        insights = result.output_for_node("ouchhungry__monthly_insights")
        lines.append(insights_markdown(insights))
        for event in result.get_asset_materialization_events():
            materialization = event.event_specific_data.materialization
            if materialization and materialization.asset_key == dg.AssetKey(["ouchhungry", "monthly_delivery"]):
                outbox = materialization.metadata["channels_not_configured"].value
                if outbox != "none":
                    lines.append(f"channels not configured ({outbox}): deliveries written to the outbox folder")
    days = len([r for r in case_run.results if r.dagster_run.job_name == "ouchhungry_job"])
    return f"{days} daily partition(s) delivered\n" + "\n".join(lines)
