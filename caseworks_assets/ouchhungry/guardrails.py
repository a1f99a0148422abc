"""Guardrails: the blocking checks a partition must pass before anything is delivered.

Each function takes data already in hand and returns an ``AssetCheckResult``
whose description says what is wrong in numbers, so the alert e-mail built from
a failed check is self-explanatory.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from caseworks_assets.ouchhungry.cleaning import UNKNOWN_CITY


class GuardrailConfig(dg.Config):
    """Thresholds of the delivery guardrails."""

    volume_min_ratio: float = 0.5
    volume_max_ratio: float = 1.5
    volume_history_days: int = 7
    volume_min_history: int = 3
    max_null_rate: float = 0.05
    max_quarantine_rate: float = 0.2
    price_min_ratio: float = 0.5
    price_max_ratio: float = 2.0


def volume_check(rows: int, history: list[int], config: GuardrailConfig) -> dg.AssetCheckResult:
    """Today's rows within [min, max] x the mean of the trailing days (passes until enough history exists)."""
    if len(history) < config.volume_min_history:
        return dg.AssetCheckResult(
            check_name="volume_vs_trailing_mean",
            passed=True,
            metadata={"rows": rows, "history_days": len(history)},
            description=f"{rows} rows; only {len(history)} earlier day(s), need {config.volume_min_history} to compare",
        )
    mean = sum(history) / len(history)
    ratio = rows / mean if mean else float("inf")
    passed = config.volume_min_ratio <= ratio <= config.volume_max_ratio
    return dg.AssetCheckResult(
        check_name="volume_vs_trailing_mean",
        passed=passed,
        metadata={
            "rows": rows,
            "trailing_mean": round(mean, 2),
            "ratio": round(ratio, 3),
            "history_days": len(history),
        },
        description=(
            f"{rows} rows = {ratio:.2f} x the trailing {len(history)}-day mean {mean:.1f} "
            f"(allowed {config.volume_min_ratio}-{config.volume_max_ratio})"
        ),
    )


def null_rate_check(frame: pl.DataFrame, required: list[str], config: GuardrailConfig) -> dg.AssetCheckResult:
    """Share of rows with a missing required value (an unknown city counts as missing)."""
    missing = pl.any_horizontal([pl.col(c).is_null() for c in required]) | (pl.col("city") == UNKNOWN_CITY)
    bad = frame.filter(missing).height
    rate = bad / frame.height if frame.height else 0.0
    return dg.AssetCheckResult(
        check_name="null_rate",
        passed=rate <= config.max_null_rate,
        metadata={"rows_with_missing_values": bad, "null_rate": round(rate, 4), "max_null_rate": config.max_null_rate},
        description=f"{bad} of {frame.height} rows ({rate:.1%}) miss a required value (max {config.max_null_rate:.0%})",
    )


def quarantine_rate_check(loaded: int, quarantined: int, config: GuardrailConfig) -> dg.AssetCheckResult:
    """Share of the day's extracted rows the cleaning rules rejected."""
    read = loaded + quarantined
    rate = quarantined / read if read else 0.0
    return dg.AssetCheckResult(
        check_name="quarantine_rate",
        passed=rate <= config.max_quarantine_rate,
        metadata={"rows_read": read, "rows_quarantined": quarantined, "quarantine_rate": round(rate, 4)},
        description=(
            f"{quarantined} of {read} extracted rows ({rate:.1%}) quarantined (max {config.max_quarantine_rate:.0%})"
        ),
    )


def price_range_check(frame: pl.DataFrame, config: GuardrailConfig) -> dg.AssetCheckResult:
    """Unit prices within [min, max] x the product's list price (``list_price`` column)."""
    low, high = config.price_min_ratio, config.price_max_ratio
    outside = frame.filter(
        (pl.col("unit_price") < pl.col("list_price") * low) | (pl.col("unit_price") > pl.col("list_price") * high)
    )
    sample = outside.select("transaction_id", "product", "unit_price", "list_price").head(5).to_dicts()
    return dg.AssetCheckResult(
        check_name="price_range",
        passed=outside.height == 0,
        metadata={"rows_outside": outside.height, "sample": dg.MetadataValue.json(sample)},
        description=f"{outside.height} sale(s) priced outside {low}-{high} x list price",
    )


def duplicates_check(frame: pl.DataFrame, key: str) -> dg.AssetCheckResult:
    duplicated = frame.height - frame[key].n_unique() if frame.height else 0
    return dg.AssetCheckResult(
        check_name="no_duplicates",
        passed=duplicated == 0,
        metadata={"duplicate_rows": duplicated},
        description=f"{duplicated} duplicate {key} value(s)",
    )


GUARDRAIL_SPECS = {
    "volume_vs_trailing_mean": "Rows within a band around the trailing 7-day mean.",
    "null_rate": "Share of rows missing a required value below the limit.",
    "quarantine_rate": "Share of extracted rows quarantined below the limit.",
    "price_range": "Every unit price within a band around the list price.",
    "no_duplicates": "One row per sale.",
}
