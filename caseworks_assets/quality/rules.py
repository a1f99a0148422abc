"""Cleaning rules declared as data and applied as vectorized polars expressions.

A :class:`Rule` names a column, an optional repair (a polars expression that
normalizes the value, e.g. ``R$ 1.234,56`` -> ``1234.56``), a validity test and
what to do with a value that is still invalid after the repair. A :class:`Dedupe`
declares exact or keyed de-duplication. :func:`apply_rules` runs them in order
and returns a :class:`QualityResult`: the clean frame, the quarantine (raw
record, rule, reason) and per-rule counts for asset metadata.

Nothing is lost: every input row ends either in ``clean`` or, exactly once, in
``quarantine`` (duplicates included), so ``read == loaded + quarantined`` holds
by construction and is asserted by the reconciliation check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import polars as pl

from caseworks_assets.quality.repairs import RepairLog, normalize_text

ExprFn = Callable[[pl.Expr], pl.Expr]

ROW_ID = "__row"
RULE = "__rule"  # which rule quarantined the row, while the rules run
QUARANTINE_SCHEMA = {
    "row_number": pl.Int64,
    "rule": pl.String,
    "column": pl.String,
    "reason": pl.String,
    "raw_record": pl.String,
    "severity": pl.String,
}


class Action(StrEnum):
    """What happens to a value that fails its rule (after any repair)."""

    QUARANTINE = "quarantine"  # the whole row goes to quarantine
    SET_NULL = "set_null"  # the value becomes null, the row is kept
    REPAIR = "repair"  # the repaired value is kept; rows whose repair failed are quarantined
    WARN = "warn"  # the value becomes null, the row is kept, and a warning row (severity warning) is recorded


@dataclass(frozen=True)
class Rule:
    """One declarative cleaning rule.

    Attributes:
        name: stable identifier, reported in quarantine and metadata.
        column: the column the rule reads and (after repair) writes.
        valid: expression builder returning True for an acceptable value; null
            values are the business of ``required``, not of ``valid``.
        repair: expression builder producing the normalized value; a repair that
            yields null for a non-null input counts as a failure.
        action: what to do with a failing value.
        required: a null value (after repair) fails the rule too.
        reason: human text stored with quarantined rows.
    """

    name: str
    column: str
    valid: ExprFn | None = None
    repair: ExprFn | None = None
    action: Action = Action.QUARANTINE
    required: bool = False
    reason: str = ""

    def describe(self) -> str:
        return self.reason or f"{self.column} failed {self.name}"


@dataclass(frozen=True)
class Dedupe:
    """De-duplication: exact (``keys`` empty: all columns) or keyed, keeping the latest.

    With ``order_by`` the row with the greatest value is kept per key (nulls count
    as oldest; on a tie the first row read wins); without it, the first row read.
    Null keys compare equal. Dropped duplicates go to quarantine under ``name``.
    """

    keys: Sequence[str] = ()
    order_by: str | None = None
    name: str = "duplicate"


@dataclass
class QualityResult:
    """Output of :func:`apply_rules`."""

    clean: pl.DataFrame
    quarantine: pl.DataFrame
    counts: dict[str, int] = field(default_factory=dict)
    rows_read: int = 0
    #: values nulled by a WARN rule in rows that were kept (quarantine-shaped, ``severity = warning``);
    #: not rejected rows, so not part of ``read = loaded + quarantined``
    warnings: pl.DataFrame = field(default_factory=lambda: empty_quarantine())
    #: lossless repairs made before the rules ran (trimmed text, blanks as null), per rule and column
    repairs: RepairLog = field(default_factory=RepairLog)
    #: the repaired values of loaded rows, one warning row each (``rule`` = the repair, ``reason`` = what was read)
    repaired: pl.DataFrame = field(default_factory=lambda: empty_quarantine())

    @property
    def issues(self) -> pl.DataFrame:
        """Quarantined rows, warnings and repaired values in one table (a case's quarantine asset), by row."""
        return pl.concat([self.quarantine, self.warnings, self.repaired]).sort(
            "row_number", "severity", maintain_order=True
        )

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.clean.height + self.quarantine.height

    def metadata(self) -> dict[str, int]:
        """Counts for asset metadata: rows read/loaded/quarantined and per rule."""
        return {
            "rows_read": self.rows_read,
            "rows_loaded": self.clean.height,
            "rows_quarantined": self.quarantine.height,
            "values_warned": self.warnings.height,
            **{f"rule/{name}": count for name, count in sorted(self.counts.items())},
        }


def not_null(column: str, *, name: str | None = None, action: Action = Action.QUARANTINE, reason: str = "") -> Rule:
    """Null policy "required": a row whose ``column`` is null is quarantined (or, with SET_NULL, only counted)."""
    return Rule(
        name=name or f"{column}_required",
        column=column,
        required=True,
        action=action,
        reason=reason or f"{column} is missing",
    )


def fill_null(column: str, value: object, *, name: str | None = None) -> Rule:
    """Null policy "fill": a null ``column`` becomes ``value``; the fills are counted as ``<name>:repaired``."""
    return Rule(
        name=name or f"{column}_filled",
        column=column,
        repair=lambda expr: expr.fill_null(pl.lit(value)),
        action=Action.REPAIR,
        reason=f"{column} could not be filled",
    )


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


def raw_record_expr(columns: Sequence[str]) -> pl.Expr:
    """The original row as a JSON object, for quarantine."""
    return pl.struct([pl.col(c) for c in columns]).struct.json_encode().alias("raw_record")


def _quarantine_rows(
    frame: pl.DataFrame, raw: pl.DataFrame, rules: Sequence[Rule], severity: str = "error"
) -> pl.DataFrame:
    """The rows of ``raw`` (original values, by row id) that ``frame`` marks, with the rule each broke.

    ``frame``'s RULE holds the position in ``rules`` of the rule that
    quarantined the row. The raw record is JSON-encoded only now, for these
    rows alone.
    """
    described = pl.DataFrame(
        {
            RULE: range(len(rules)),
            "rule": [r.name for r in rules],
            "column": [r.column for r in rules],
            "reason": [r.describe() for r in rules],
        },
        schema={RULE: pl.Int32, "rule": pl.String, "column": pl.String, "reason": pl.String},
    )
    return (
        raw.join(frame.select(ROW_ID, RULE), on=ROW_ID, how="inner")
        .join(described, on=RULE, how="left")
        .select(
            pl.col(ROW_ID).cast(pl.Int64).alias("row_number"),
            "rule",
            "column",
            "reason",
            raw_record_expr([c for c in raw.columns if c != ROW_ID]),
            pl.lit(severity).alias("severity"),
        )
    )


def repaired_rows(located: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    """Quarantine-shaped warning rows for repaired values (``located`` from a :class:`RepairLog`) of ``raw``'s rows."""
    if located.is_empty():
        return empty_quarantine()
    return (
        raw.join(located, left_on=ROW_ID, right_on="at", how="inner")
        .select(
            pl.col(ROW_ID).cast(pl.Int64).alias("row_number"),
            pl.concat_str([pl.lit("repaired_"), pl.col("rule")]).alias("rule"),
            pl.col("column"),
            pl.concat_str(
                [pl.lit("'"), pl.col("original"), pl.lit("' read as "), pl.col("repaired").fill_null("null")]
            ).alias("reason"),
            raw_record_expr([c for c in raw.columns if c != ROW_ID]),
            pl.lit("warning").alias("severity"),
        )
        .sort("row_number", "column")
    )


def _dropped_rows(frame: pl.DataFrame, raw: pl.DataFrame, rule: str, column: str, reason: str) -> pl.DataFrame:
    """The rows of ``raw`` whose ids ``frame`` holds, quarantined under one ``rule``."""
    marked = frame.select(ROW_ID).with_columns(pl.lit(0, dtype=pl.Int32).alias(RULE))
    return _quarantine_rows(marked, raw, [Rule(rule, column, reason=reason)])


def _count_repaired(work: pl.DataFrame, column: str) -> int:
    """Rows whose value the repair really changed (filled nulls included), among live rows that pass.

    The original is compared in the repaired value's type, so ``"3"`` -> ``3.0`` or
    ``"2024-01-05"`` -> ``date(2024, 1, 5)`` are conversions, not repairs, while
    ``"R$ 3,00"`` -> ``3.0`` is one. Text becoming a date or time is compared
    as ISO 8601 text read at the value's precision, so ``"2024-01-05 10:00:00"``
    is a conversion and ``"05/01/2024"`` a repair. Where polars cannot cast
    between the two types, the text forms are compared.
    """
    value = pl.col("__value")
    passing = pl.col(RULE).is_null() & ~pl.col("__failed") & value.is_not_null()
    target = work.schema["__value"]

    def count(changed: pl.Expr) -> int:  # counted in one pass, without copying the passing rows
        return int(work.select((passing & changed).sum()).item())

    if target.is_temporal() and work.schema[column] == pl.String:
        # polars 2 casts no text to dates or times: read the original as ISO 8601 (any precision) and compare
        text = pl.col(column).str.strip_chars()
        if target == pl.Date:
            original = text.str.to_date(strict=False)
        elif isinstance(target, pl.Datetime):
            original = text.str.to_datetime(strict=False, time_unit=target.time_unit, time_zone=target.time_zone)
        else:
            original = None
        if target == pl.Date:
            # a date column repeats few values (a year is 365 of them): read each distinct (text, date) pair once
            # instead of every row (2M payments: 0.13 s instead of 0.46 s)
            pairs = work.lazy().filter(passing).group_by(column, "__value").len().collect()
            return int(pairs.select((original.ne_missing(value) * pl.col("len")).sum()).item())
        if original is not None:
            return count(original.ne_missing(value))
    try:
        return count(pl.col(column).cast(target, strict=False).ne_missing(value))
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError, pl.exceptions.SchemaError):
        return count(pl.col(column).cast(pl.String).ne_missing(value.cast(pl.String)))


def apply_rules(
    frame: pl.DataFrame,
    rules: Sequence[Rule] = (),
    dedupe: Dedupe | None = None,
    row_number_offset: int = 1,
    text_columns: Sequence[str] = (),
    null_placeholders: Sequence[str] = (),
) -> QualityResult:
    """Apply ``rules`` in order, then ``dedupe``; see the module docstring.

    ``row_number_offset`` numbers rows as the source does (1 for the first data
    row, or a file's line number) so quarantined rows point back at their origin.
    ``text_columns`` are repaired losslessly before any rule reads them
    (surrounding whitespace trimmed, blank = null, and so is a value in
    ``null_placeholders``, such as an SQL export's ``NULL``; see
    :mod:`~caseworks_assets.quality.repairs`), counted in ``result.repairs``;
    quarantine and warnings still show each record as read.
    """
    columns = list(frame.columns)
    for rule in rules:
        if rule.column not in columns:
            raise ValueError(
                f"rule {rule.name!r} reads column {rule.column!r}, which the frame does not have: {columns}"
            )
    # The original values (a zero-copy view); JSON-encoding every row up front would cost
    # more than all the rules together, so only quarantined rows are encoded.
    raw = frame.with_row_index(ROW_ID, offset=row_number_offset)
    # Rows are never filtered between rules (a copy of every column each time): a row a rule
    # quarantines is marked with the rule's name in RULE and later rules leave it alone.
    repairs = RepairLog(locate=ROW_ID)
    work = normalize_text(raw, list(text_columns), repairs, null_placeholders)
    work = work.with_columns(pl.lit(None, dtype=pl.Int32).alias(RULE))
    live = pl.col(RULE).is_null()
    rejecting: list[Rule] = []
    warning: list[Rule] = []
    warned: list[pl.DataFrame] = []
    counts: dict[str, int] = {}

    # columns normalize_text just trimmed (blank -> null) and no rule has rewritten since: no value is blank
    untouched_text = set(text_columns)
    for rule in rules:
        original = pl.col(rule.column)
        # the repaired value is materialized first, so ``valid`` reads a column instead of
        # re-evaluating (and polars re-optimizing) the whole repair expression inside it
        work = work.with_columns((rule.repair(original) if rule.repair else original).alias("__value"))
        value = pl.col("__value")
        checks = [pl.lit(False)]
        if rule.repair is not None:
            # a repair that gives null fails, unless the value was blank: blank is null (a lossless repair);
            # the blank test (a trimmed copy of the column) is skipped where normalize_text left none
            unreadable = original.is_not_null() & value.is_null()
            if rule.column not in untouched_text:
                unreadable = unreadable & ~(original.cast(pl.String).str.strip_chars().str.len_chars() == 0)
            checks.append(unreadable)
        if rule.valid is not None:
            checks.append(value.is_not_null() & ~rule.valid(value).fill_null(False))
        if rule.required:
            checks.append(value.is_null())
        work = work.with_columns((live & pl.any_horizontal(checks)).alias("__failed"))
        n_failed = int(work["__failed"].sum())
        if rule.repair is not None:
            counts[f"{rule.name}:repaired"] = _count_repaired(work, rule.column)
        counts[rule.name] = n_failed
        failed = pl.col("__failed")
        if rule.action is Action.SET_NULL or rule.action is Action.WARN:
            if rule.action is Action.WARN and n_failed:
                marker = pl.lit(len(warning), dtype=pl.Int32).alias(RULE)
                warned.append(work.filter(failed).select(ROW_ID, marker))
                warning.append(rule)
            work = work.with_columns(pl.when(failed).then(None).otherwise(value).alias(rule.column))
        else:
            updates = [value.alias(rule.column)]
            if n_failed:
                marker = pl.lit(len(rejecting), dtype=pl.Int32)
                rejecting.append(rule)
                updates.append(pl.when(failed).then(marker).otherwise(pl.col(RULE)).alias(RULE))
            work = work.with_columns(updates)
        work = work.drop("__value", "__failed")
        untouched_text.discard(rule.column)

    quarantined = [_quarantine_rows(work.filter(~live), raw, rejecting)] if rejecting else []
    work = work.filter(live).drop(RULE) if rejecting else work.drop(RULE)

    if dedupe is not None:
        keys = list(dedupe.keys) or columns
        ordered = (
            work.sort(dedupe.order_by, descending=True, nulls_last=True, maintain_order=True)
            if dedupe.order_by
            else work
        )
        kept = ordered.unique(subset=keys, keep="first", maintain_order=True).select(ROW_ID)
        dropped = work.join(kept, on=ROW_ID, how="anti")
        counts[dedupe.name] = dropped.height
        if dropped.height:
            reason = "duplicate of a kept row" + (f" by key {', '.join(keys)}" if dedupe.keys else "")
            quarantined.append(_dropped_rows(dropped, raw, dedupe.name, ",".join(keys), reason))
        work = work.join(kept, on=ROW_ID, how="semi")

    quarantine = pl.concat(quarantined) if quarantined else empty_quarantine()
    warnings = (
        # a row quarantined later (or dropped as a duplicate) is in quarantine already: no warning for it
        _quarantine_rows(pl.concat(warned).join(work.select(ROW_ID), on=ROW_ID, how="semi"), raw, warning, "warning")
        if warned
        else empty_quarantine()
    )
    return QualityResult(
        clean=work.sort(ROW_ID).drop(ROW_ID),
        quarantine=quarantine.sort("row_number"),
        counts=counts,
        rows_read=frame.height,
        warnings=warnings.sort("row_number", "rule"),
        repairs=repairs,
        repaired=repaired_rows(
            repairs.located().join(work.select(ROW_ID), left_on="at", right_on=ROW_ID, how="semi"), raw
        ),
    )
