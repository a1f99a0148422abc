"""The crm clean rules, as polars expressions on the text the reader produced.

Each table goes through the shared rule engine (:func:`caseworks_assets.quality.apply_rules`):
repairs first (trimmed text, ``5.0`` for an id, ``email`` -> ``Email``), then the
rules whose failure quarantines the row because an answer depends on the value.
Optional attributes (a customer's occupation and type) are nulled, never a reason
to drop a customer. Every row read ends in the clean table or, once, in the quarantine.

The topic of an interaction is the product of discussion of its month: the
source links interactions and products only through the month (an assumption the
README and the API document); a month without a product gives a null topic.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from caseworks_assets.crm.columns import CHANNEL_PATTERN, SOURCE_ROW, canonical_columns
from caseworks_assets.quality import (
    Action,
    Dedupe,
    QualityResult,
    Rule,
    apply_rules,
    matches,
    not_null,
    null_if_blank,
    parse_datetime,
)

#: Day first, always: 04/10/2019 is 4 October. ISO forms are what an .xlsx date cell reads as.
DATE_START_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y", "%Y-%m-%d")
#: Values that stand for "no channel" rather than naming one.
CHANNEL_PLACEHOLDERS = ("unknown", "n/a", "na", "none", "null", "nan", "undefined", "-")


def blank_row(table: str) -> Rule:
    """A row whose every input column is empty: nothing to load; kept in quarantine so the count reconciles."""
    filled = [pl.col(c).cast(pl.String).str.strip_chars().str.len_chars() > 0 for c in canonical_columns(table)]
    return Rule(
        name="blank_row",
        column=SOURCE_ROW,
        valid=lambda _row: pl.any_horizontal(filled).fill_null(False),
        reason="blank row: every column is empty",
    )


#: The export's own form, read by a plain strptime; anything else goes through every accepted format.
_USUAL_DATE_START = r"^[0-9]{2}/[0-9]{2}/[0-9]{4} [0-9]{2}:[0-9]{2}$"


def parse_date_start(expr: pl.Expr) -> pl.Expr:
    """``DD/MM/YYYY HH:MM`` (day first), also without leading zeros, with seconds, date only, or ISO (an .xlsx
    date cell).

    The usual shape is parsed by one strptime; only the other values (few) go
    through the shared parser's formats, each guarded by its exact shape, which
    on a million rows is forty times slower than the one strptime.
    """
    everything = parse_datetime(DATE_START_FORMATS)

    def parse(values: pl.Series) -> pl.Series:
        text = values.str.strip_chars()
        usual = text.str.contains(_USUAL_DATE_START).fill_null(False)
        parsed = pl.select(
            pl.when(usual).then(text.str.strptime(pl.Datetime("us"), "%d/%m/%Y %H:%M", strict=False))
        ).to_series()
        others = ~usual & text.is_not_null()
        if others.any():
            rest = pl.DataFrame({"v": text.filter(others)}).select(everything(pl.col("v"))).to_series()
            parsed = parsed.scatter(others.arg_true(), rest)
        return parsed.alias(values.name)

    return expr.map_batches(parse, return_dtype=pl.Datetime("us"))


def parse_integer(expr: pl.Expr) -> pl.Expr:
    """An integer id written as ``5``, `` 5 `` or ``5.0`` (what spreadsheets make of it); anything else is null."""
    text = expr.cast(pl.String).str.strip_chars()
    digits = pl.when(text.str.contains(r"^\+?[0-9]{1,18}(?:\.0*)?$")).then(text.str.replace(r"\.0*$", ""))
    return digits.str.strip_prefix("+").cast(pl.Int64, strict=False)


def _canonical_channel(expr: pl.Expr) -> pl.Expr:
    text = expr.cast(pl.String).str.strip_chars().str.replace_all(r"\s+", " ")
    canonical = pl.concat_str([text.str.slice(0, 1).str.to_uppercase(), text.str.slice(1).str.to_lowercase()])
    return pl.when(text.str.len_chars() > 0).then(canonical)


def canonical_channel(expr: pl.Expr) -> pl.Expr:
    """`` email `` / ``EMAIL`` -> ``Email``: trimmed, inner blanks collapsed, first letter upper case, rest lower.

    A channel column repeats a handful of values, so each distinct value is
    named once and the rows are mapped to the result.
    """

    def name(values: pl.Series) -> pl.Series:
        distinct = values.unique()
        named = pl.DataFrame({"v": distinct}).select(_canonical_channel(pl.col("v"))).to_series()
        return values.replace_strict(distinct, named, default=None, return_dtype=pl.String)

    return expr.map_batches(name, return_dtype=pl.String)


def is_channel(expr: pl.Expr) -> pl.Expr:
    """A canonical channel name that names a channel (letters first; no placeholder such as ``unknown``)."""
    return matches(CHANNEL_PATTERN)(expr) & ~expr.str.to_lowercase().is_in(list(CHANNEL_PLACEHOLDERS))


def parse_month(expr: pl.Expr) -> pl.Expr:
    """``MM-YYYY`` (also ``M-YYYY``, ``MM/YYYY``, ``YYYY-MM``) as the first day of the month; an ISO date (an
    .xlsx date cell) as the first day of its month."""
    text = expr.cast(pl.String).str.strip_chars()
    parts = text.str.extract_groups(r"^([0-9]{1,2})[-/]([0-9]{4})$")
    iso = text.str.extract_groups(r"^([0-9]{4})-([0-9]{1,2})$")
    month = pl.coalesce(parts.struct.field("1"), iso.struct.field("2")).cast(pl.Int32)
    year = pl.coalesce(parts.struct.field("2"), iso.struct.field("1")).cast(pl.Int32)
    from_parts = pl.when(month.is_between(1, 12)).then(pl.date(year, month, 1))
    from_iso = parse_datetime(("%Y-%m-%d",), iso=True)(text).dt.date().dt.truncate("1mo")
    return pl.coalesce(from_parts, from_iso)


def _id_rule() -> Rule:
    return Rule(
        "customer_id_invalid",
        "customer_id",
        repair=parse_integer,
        required=True,
        reason="customer id missing or not an integer",
    )


def clean_customers(raw: pl.DataFrame) -> QualityResult:
    """Customers: the id must be an integer (``5.0`` repaired); occupation and type are optional (blank -> null)."""
    rules = [
        blank_row("customers"),
        _id_rule(),
        Rule("occupation_blank", "occupation", repair=null_if_blank(), action=Action.SET_NULL),
        Rule("customer_type_blank", "customer_type", repair=null_if_blank(), action=Action.SET_NULL),
    ]
    result = apply_rules(raw, rules, Dedupe(keys=["customer_id"], name="duplicate"))
    result.clean = result.clean.select(
        "customer_id", one_spelling(pl.col("occupation")), one_spelling(pl.col("customer_type"))
    )
    return result


def one_spelling(expr: pl.Expr) -> pl.Expr:
    """Each value in the spelling most used among the values that differ from it only in case.

    ``business`` and ``Business`` are one customer type to whoever counts or
    filters them; the export's own most frequent spelling names it (the first in
    sort order on a tie), so ``SME`` stays ``SME``.
    """
    return expr.mode().sort().first().over(expr.str.to_lowercase()).alias(expr.meta.output_name())


def clean_products(raw: pl.DataFrame) -> QualityResult:
    """Products of discussion: one per month; a second product for a month is quarantined (first one read wins)."""
    rules = [
        blank_row("products"),
        Rule("month_invalid", "month", repair=parse_month, required=True, reason="month missing or not MM-YYYY"),
        Rule("product_blank", "product", repair=null_if_blank(), action=Action.SET_NULL),
        not_null("product", name="product_missing", reason="no product named for the month"),
    ]
    result = apply_rules(raw, rules, Dedupe(keys=["month"], name="duplicate"))
    result.clean = result.clean.select("month", "product")
    return result


def clean_interactions(raw: pl.DataFrame, customer_ids: pl.Series, products: pl.DataFrame) -> QualityResult:
    """Interactions: a parsable day-first date, a channel, an existing customer; exact duplicates dropped.

    Duplicates are compared after the repairs, so ``" Email "`` and ``"Email"``
    at the same minute for the same customer are one interaction.
    """
    known = customer_ids.unique()
    rules = [
        blank_row("interactions"),
        _id_rule(),
        Rule(
            "date_start_invalid",
            "date_start",
            repair=parse_date_start,
            required=True,
            reason="date missing or not DD/MM/YYYY HH:MM",
        ),
        Rule(
            "channel_unknown",
            "channel",
            repair=canonical_channel,
            valid=is_channel,
            required=True,
            reason="channel missing or not a channel name",
        ),
        Rule(
            "customer_unknown",
            "customer_id",
            valid=lambda ids: ids.is_in(known.implode()),
            reason="interaction of a customer that is not in the customer table",
        ),
    ]
    result = apply_rules(raw, rules, Dedupe(keys=["customer_id", "date_start", "channel"], name="duplicate"))
    result.clean = with_topic(result.clean.rename({"date_start": "started_at"}), products)
    return result


def with_topic(interactions: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """Add ``day``, ``month`` and ``topic`` (the product of the interaction's month, null if none)."""
    dated = interactions.with_columns(
        pl.col("started_at").dt.date().alias("day"), pl.col("started_at").dt.date().dt.truncate("1mo").alias("month")
    )
    topics = products.select("month", pl.col("product").alias("topic"))
    return dated.join(topics, on="month", how="left", maintain_order="left").select(
        "customer_id", "channel", "started_at", "day", "month", "topic"
    )


def known_channels(interactions: pl.DataFrame) -> list[str]:
    """Every channel seen in clean interactions, sorted: the channels every answer lists."""
    return sorted(interactions["channel"].unique().to_list())


def quarantine(results: dict[str, QualityResult]) -> pl.DataFrame:
    """One quarantine for the case: each table's rejected rows with the table they came from."""
    frames: Sequence[pl.DataFrame] = [
        result.quarantine.select(pl.lit(table).alias("table"), pl.all()) for table, result in results.items()
    ]
    return pl.concat(frames, how="vertical")
