"""The monthly report: interactions per month, contact center and department, on the final dimensions."""

from __future__ import annotations

import polars as pl

from caseworks_assets.support.layout import EASTERN, Frame

UNKNOWN = "Unknown"
#: A phone call: the interactions whose duration the report and the answers measure.
IS_CALL = (pl.col("channel") == "phone").fill_null(False)


def as_eastern(frame: Frame) -> Frame:
    """Timestamps back in Eastern wall time, whatever zone the store returned them in (naive = UTC)."""
    converted = []
    for name, dtype in frame.collect_schema().items():
        if isinstance(dtype, pl.Datetime):
            column = pl.col(name)
            if dtype.time_zone is None:
                column = column.dt.replace_time_zone("UTC")
            converted.append(column.dt.convert_time_zone(EASTERN).dt.cast_time_unit("us").alias(name))
    return frame.with_columns(converted) if converted else frame


def month_labels(instants: pl.Series) -> pl.Series:
    """``YYYY-MM`` of each instant in its own time zone (Eastern here), null where the instant is null.

    Same labels as ``dt.strftime("%Y-%m")``, which converts every one of
    millions of values to wall time: here only the few month starts between
    the earliest and the latest instant are, and each instant is placed among
    them by binary search on its UTC value.
    """
    if instants.null_count() == instants.len():
        return pl.Series(instants.name, [None] * instants.len(), dtype=pl.String)
    zone, unit = instants.dtype.time_zone, instants.dtype.time_unit  # type: ignore[attr-defined]
    first = instants.min().replace(day=1, hour=0, minute=0, second=0, microsecond=0)  # type: ignore[union-attr]
    starts = pl.datetime_range(first, instants.max(), "1mo", time_unit=unit, time_zone=zone, eager=True)
    position = (starts.to_physical().search_sorted(instants.to_physical(), side="right") - 1).scatter(
        instants.is_null().arg_true(), None
    )
    return starts.dt.strftime("%Y-%m").gather(position).alias(instants.name)


def _known(column: str) -> pl.Expr:
    """The value, or ``Unknown`` when it is missing or blank (a deleted record joins as missing)."""
    value = pl.col(column).str.strip_chars()
    return pl.when(value.str.len_chars() > 0).then(value).otherwise(pl.lit(UNKNOWN)).alias(column)


def _named(frame: Frame, contact_centers: pl.DataFrame, service_categories: pl.DataFrame) -> Frame:
    """``frame`` with the final contact center name and department of its ids, ``Unknown`` where there is none.

    Names are cleaned on the (small) dimension tables before the joins, not on
    every row after them; an id that matches no dimension row gets ``Unknown``
    like one whose name is blank.
    """
    centers = contact_centers.select("contact_center_id", _known("contact_center_name"))
    departments = service_categories.select("category_id", _known("department"))
    if isinstance(frame, pl.LazyFrame):
        centers, departments = centers.lazy(), departments.lazy()
    return (
        frame.join(centers, on="contact_center_id", how="left")
        .join(departments, on="category_id", how="left")
        .with_columns(pl.col("contact_center_name").fill_null(UNKNOWN), pl.col("department").fill_null(UNKNOWN))
    )


def _with_month(interactions: Frame) -> Frame:
    """Interactions in Eastern time with their report ``month``, the Eastern month of ``interaction_start``.

    The month is labelled batch by batch (:func:`month_labels` on each batch
    gives the labels it gives on the whole column), so a lazy frame streams.
    """
    month = pl.col("interaction_start").map_batches(month_labels, return_dtype=pl.String, is_elementwise=True)
    return as_eastern(interactions).with_columns(month.alias("month"))


def labelled_interactions(
    interactions: Frame, contact_centers: pl.DataFrame, service_categories: pl.DataFrame
) -> Frame:
    """Interactions with their report month, final contact center name and department, and whether a call."""
    return _named(_with_month(interactions), contact_centers, service_categories).with_columns(IS_CALL.alias("is_call"))


def build_report(
    interactions: pl.DataFrame | pl.LazyFrame, contact_centers: pl.DataFrame, service_categories: pl.DataFrame
) -> pl.DataFrame:
    """``support_report``: totals per month (Eastern), contact center and department.

    Interactions are totalled per month and dimension id first, then the few
    totals get their final names (``Unknown`` for a missing or blank one) and
    are totalled again per name: millions of rows are grouped once on their
    ids instead of joined twice. A dimension id listed twice still doubles its
    interactions, which the reconciliation check reports. The rows are
    streamed (a lazy scan of tens of millions of rows is never whole in memory).
    """
    per_id = (
        _with_month(interactions.lazy())
        .group_by("month", "contact_center_id", "category_id")
        .agg(
            pl.len().cast(pl.Int64).alias("total_interactions"),
            IS_CALL.sum().cast(pl.Int64).alias("total_calls"),
            pl.col("call_duration_minutes")
            .filter(IS_CALL)
            .sum()
            .fill_null(0.0)
            .cast(pl.Float64)
            .alias("total_call_duration"),
        )
        .collect(engine="streaming")
    )
    return (
        _named(per_id, contact_centers, service_categories)
        .group_by("month", "contact_center_name", "department")
        .agg(pl.col("total_interactions", "total_calls", "total_call_duration").sum())
        .sort("month", "contact_center_name", "department")
    )


def reconciliation(report: pl.DataFrame, interactions: pl.DataFrame | pl.LazyFrame) -> dict[str, float]:
    """Report totals next to the same totals taken straight from ``interactions_final`` (one streaming pass)."""
    final = (
        interactions.lazy()
        .select(
            pl.len().alias("interactions"),
            IS_CALL.sum().alias("calls"),
            pl.col("call_duration_minutes").filter(IS_CALL).fill_null(0).sum().alias("call_duration"),
        )
        .collect(engine="streaming")
        .row(0, named=True)
    )
    return {
        "report_interactions": int(report["total_interactions"].sum()),
        "final_interactions": int(final["interactions"]),
        "report_calls": int(report["total_calls"].sum()),
        "final_calls": int(final["calls"]),
        "report_call_duration": float(report["total_call_duration"].sum()),
        "final_call_duration": float(final["call_duration"] or 0.0),
    }


def unknown_counts(report: pl.DataFrame) -> dict[str, int]:
    """Interactions whose contact center or department is ``Unknown``."""
    cc = report.filter(pl.col("contact_center_name") == UNKNOWN)["total_interactions"].sum()
    dept = report.filter(pl.col("department") == UNKNOWN)["total_interactions"].sum()
    either = report.filter((pl.col("contact_center_name") == UNKNOWN) | (pl.col("department") == UNKNOWN))[
        "total_interactions"
    ].sum()
    return {
        "unknown_contact_center_interactions": int(cc),
        "unknown_department_interactions": int(dept),
        "unknown_interactions": int(either),
        "total_interactions": int(report["total_interactions"].sum()),
    }
