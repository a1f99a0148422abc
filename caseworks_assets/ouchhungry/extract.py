"""Extraction: the three marketplace sources, as received (every column text).

The marketplace database is simulated (:mod:`.simulate`), deterministic per
seed and day. When the case's input folder holds an export in the sample
layout (``products.csv``, ``customers.csv``, ``transactions/<YYYY-MM-DD>.csv``,
as written by ``caseworks sample ouchhungry``), that file is read instead, so
the same assets run on real exports.
"""

from collections.abc import Callable
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
from caseworks_assets.quality.csv_input import read_csv
from caseworks_assets.resources import CaseInputs


class ExtractConfig(dg.Config):
    """Scale and defect rates of the simulated source (ignored when an export file exists).

    The rates mirror :class:`DefectRates` field for field and take its defaults, so the two cannot drift.
    """

    seed: int = 42
    transactions_per_day: int = 300
    customers: int = 400
    null_rate: float = DefectRates.null_rate
    duplicate_rate: float = DefectRates.duplicate_rate
    invalid_email_rate: float = DefectRates.invalid_email_rate
    invalid_cpf_rate: float = DefectRates.invalid_cpf_rate
    malformed_code_rate: float = DefectRates.malformed_code_rate
    bad_number_rate: float = DefectRates.bad_number_rate
    bad_date_rate: float = DefectRates.bad_date_rate
    unknown_customer_rate: float = DefectRates.unknown_customer_rate
    lossless_rate: float = DefectRates.lossless_rate

    def rates(self) -> DefectRates:
        return DefectRates(**{name: getattr(self, name) for name in DefectRates.__dataclass_fields__})


def read_export(path: Path, expected: list[str]) -> pl.DataFrame:
    """A CSV export as text columns; a wrong header is an extraction failure naming the file."""
    try:
        frame = read_csv(path, expected, infer_schema=False)  # a ";" or Windows-1252 export is read as written
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


def _export_or_simulated(
    inputs: CaseInputs, specs: list, simulate: Callable[[], pl.DataFrame], *parts: str
) -> dg.Output:
    """The export at ``<input dir>/<parts>`` when it exists (header checked against ``specs``), else ``simulate()``."""
    path = inputs.dir_for(CASE).joinpath(*parts)
    if path.is_file():
        return _extracted(read_export(path, [c.name for c in specs]), str(path))
    return _extracted(simulate(), "simulated")


@dg.asset(
    key_prefix=[CASE],
    group_name=CASE,
    io_manager_key="lake_io_manager",
    kinds={"python", "parquet"},
    metadata=governance_metadata(columns.RAW_PRODUCTS),
)
def raw_products(config: ExtractConfig, inputs: CaseInputs) -> dg.Output:
    """The product catalog as extracted: codes typed by people, prices as text."""
    return _export_or_simulated(
        inputs, columns.RAW_PRODUCTS, lambda: simulate_products(config.seed, config.rates()), "products.csv"
    )


@dg.asset(
    key_prefix=[CASE],
    group_name=CASE,
    io_manager_key="lake_io_manager",
    kinds={"python", "parquet"},
    metadata=governance_metadata(columns.RAW_CUSTOMERS),
)
def raw_customers(config: ExtractConfig, inputs: CaseInputs) -> dg.Output:
    """The customer table as extracted; holds personal data, so it never leaves the lake."""
    return _export_or_simulated(
        inputs,
        columns.RAW_CUSTOMERS,
        lambda: simulate_customers(config.customers, config.seed, config.rates()),
        "customers.csv",
    )


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
    return _export_or_simulated(
        inputs,
        columns.RAW_TRANSACTIONS,
        lambda: simulate_transactions(day, config.transactions_per_day, config.customers, config.seed, config.rates()),
        "transactions",
        f"{day.isoformat()}.csv",
    )
