"""Extraction: the three marketplace sources, as received (every column text).

The marketplace database is simulated (:mod:`.simulate`), deterministic per
seed and day. When the case's input folder holds an export in the sample
layout (``products.csv``, ``customers.csv``, ``transactions/<YYYY-MM-DD>.csv``,
as written by ``caseworks sample ouchhungry``), that file is read instead, so
the same assets run on real exports.
"""

from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl

from caseworks_assets.governance.classification import governance_metadata
from caseworks_assets.ouchhungry import columns
from caseworks_assets.ouchhungry.partitions import CASE, daily_partitions
from caseworks_assets.ouchhungry.simulate import (
    DefectRates,
    simulate_customers,
    simulate_products,
    simulate_transactions,
)
from caseworks_assets.resources import CaseInputs


class ExtractConfig(dg.Config):
    """Scale and defect rates of the simulated source (ignored when an export file exists)."""

    seed: int = 42
    transactions_per_day: int = 300
    customers: int = 400
    null_rate: float = 0.01
    duplicate_rate: float = 0.02
    invalid_email_rate: float = 0.03
    invalid_cpf_rate: float = 0.01
    malformed_code_rate: float = 0.01
    bad_number_rate: float = 0.01
    bad_date_rate: float = 0.01
    unknown_customer_rate: float = 0.005

    def rates(self) -> DefectRates:
        return DefectRates(**{name: getattr(self, name) for name in DefectRates.__dataclass_fields__})


def read_export(path: Path, expected: list[str]) -> pl.DataFrame:
    """A CSV export as text columns; a wrong header is an extraction failure naming the file."""
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise dg.Failure(
            f"extraction failed: cannot read {path}: {error}", metadata={"alert_stage": "extraction"}
        ) from error
    missing = [name for name in expected if name not in frame.columns]
    if missing:
        raise dg.Failure(
            f"extraction failed: {path} line 1 (header) lacks columns {missing}",
            metadata={"alert_stage": "extraction", "where": str(path)},
        )
    return frame.select(expected)


def _extracted(frame: pl.DataFrame, source: str) -> dg.Output:
    return dg.Output(frame, metadata={"source": source, "rows_extracted": frame.height})


def _export(inputs: CaseInputs, *parts: str) -> Path:
    return inputs.dir_for(CASE).joinpath(*parts)


@dg.asset(
    key_prefix=[CASE],
    group_name=CASE,
    io_manager_key="lake_io_manager",
    kinds={"python", "parquet"},
    metadata=governance_metadata(columns.RAW_PRODUCTS),
)
def raw_products(config: ExtractConfig, inputs: CaseInputs) -> dg.Output:
    """The product catalog as extracted: codes typed by people, prices as text."""
    path = _export(inputs, "products.csv")
    if path.is_file():
        return _extracted(read_export(path, [c.name for c in columns.RAW_PRODUCTS]), str(path))
    return _extracted(simulate_products(config.seed, config.rates()), "simulated")


@dg.asset(
    key_prefix=[CASE],
    group_name=CASE,
    io_manager_key="lake_io_manager",
    kinds={"python", "parquet"},
    metadata=governance_metadata(columns.RAW_CUSTOMERS),
)
def raw_customers(config: ExtractConfig, inputs: CaseInputs) -> dg.Output:
    """The customer table as extracted; holds personal data, so it never leaves the lake."""
    path = _export(inputs, "customers.csv")
    if path.is_file():
        return _extracted(read_export(path, [c.name for c in columns.RAW_CUSTOMERS]), str(path))
    return _extracted(simulate_customers(config.customers, config.seed, config.rates()), "simulated")


@dg.asset(
    key_prefix=[CASE],
    group_name=CASE,
    io_manager_key="lake_io_manager",
    partitions_def=daily_partitions,
    kinds={"python", "parquet"},
    metadata=governance_metadata(columns.RAW_TRANSACTIONS),
)
def raw_transactions(context: dg.AssetExecutionContext, config: ExtractConfig, inputs: CaseInputs) -> dg.Output:
    """One day of marketplace sales as extracted, re-sent rows and typos included."""
    day = date.fromisoformat(context.partition_key)
    path = _export(inputs, "transactions", f"{day.isoformat()}.csv")
    if path.is_file():
        return _extracted(read_export(path, [c.name for c in columns.RAW_TRANSACTIONS]), str(path))
    frame = simulate_transactions(day, config.transactions_per_day, config.customers, config.seed, config.rates())
    return _extracted(frame, "simulated")
