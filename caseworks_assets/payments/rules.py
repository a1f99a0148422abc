"""The payments cleaning rules, declared as data for the shared rule engine.

Order matters: each rule sees the previous rules' repaired values. Amounts
arrive as JSON literals (``"12.50"`` quoted when the source sent a string), so
the repair unquotes them and reads them with the toolkit's number parser.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from caseworks_assets.governance import ColumnSpec
from caseworks_assets.payments.columns import (
    PAYMENT_COLUMNS,
    PAYMENT_STATUSES,
    TRANSACTION_COLUMNS,
    TRANSACTION_STATUSES,
)
from caseworks_assets.quality import Action, Rule
from caseworks_assets.quality.repairs import NumberFormat, Severity, read_integer, read_money, read_number
from caseworks_assets.quality.validators import parse_date

DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d")


def json_number(expr: pl.Expr, fmt: NumberFormat = NumberFormat.DECIMAL_POINT) -> pl.Expr:
    """A JSON number literal, or a JSON string holding a number, as Float64 (null if unreadable).

    Plain JSON numbers are cast directly; only the distinct remaining values
    (strings such as ``"1,234.50"``, ``" 12 "`` or ``"$1,426.10"``) are read with
    the column's declared convention ``fmt`` (see ``number_format`` in
    :mod:`.columns`), currency marks dropped (every column read here is money,
    and its currency is a field of its own): a separator the convention does
    not declare makes the value unreadable.
    """

    def convert(values: pl.Series) -> pl.Series:
        direct = values.cast(pl.Float64, strict=False)
        rest = values.filter(direct.is_null() & values.is_not_null()).unique()
        if rest.is_empty():
            return direct
        text = pl.col("value").str.strip_chars().str.strip_prefix('"').str.strip_suffix('"')
        read = pl.DataFrame({"value": rest}).with_columns(read_number(text, fmt).alias("number"))
        # currency marks are looked for only in what is still no number: most strings are plain numbers
        marked = read.filter(pl.col("number").is_null()).with_columns(read_money(text, fmt).alias("number"))
        read = pl.concat([read.filter(pl.col("number").is_not_null()), marked])
        mapped = values.replace_strict(read["value"], read["number"], default=None, return_dtype=pl.Float64)
        return direct.fill_null(mapped)

    return expr.map_batches(convert, return_dtype=pl.Float64)


def finite(expr: pl.Expr) -> pl.Expr:
    """Not ``Infinity``, ``-Infinity`` or ``NaN``, which JSON readers accept unquoted and a cast reads as floats."""
    return expr.is_finite()


def positive(expr: pl.Expr) -> pl.Expr:
    return expr > 0


def not_blank(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars() != ""


def one_of(values: tuple[str, ...]):
    return lambda expr: expr.is_in(list(values))


def boolean_text(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_lowercase().replace_strict({"true": True, "false": False}, default=None, return_dtype=pl.Boolean)


def integer_text(expr: pl.Expr) -> pl.Expr:
    """An integer written as ``3``, ``3.0`` or `` 3 ``; ``3.5`` is not an integer (null), never truncated."""
    return read_integer(expr)


def action_of(columns: list[ColumnSpec], name: str) -> Action:
    """What a defect in ``name`` does, from its column contract: quarantine the row, or null the value and warn."""
    spec = next(c for c in columns if c.name == name)
    return Action.WARN if spec.severity is Severity.WARNING else Action.QUARANTINE


_date = parse_date(DATE_FORMATS)
_AMOUNT_REASON = "{col} missing or not a number"


def amount_number_rule(column: str) -> str:
    """Name of the rule that reads ``column``'s JSON literal as a number (its repairs: numeric strings)."""
    return f"{column}_number"


def _format(name: str) -> NumberFormat:
    spec = next(c for c in (*TRANSACTION_COLUMNS, *PAYMENT_COLUMNS) if c.name == name)
    return spec.number_format


def _amount_rules(column: str) -> list[Rule]:
    return [
        Rule(
            amount_number_rule(column),
            column,
            repair=lambda expr: json_number(expr, _format(column)),
            required=True,
            reason=_AMOUNT_REASON.format(col=column),
        ),
        Rule(f"{column}_finite", column, valid=finite, reason=f"{column} is not a finite number (Infinity or NaN)"),
        Rule(f"{column}_positive", column, valid=positive, reason=f"{column} must be > 0"),
    ]


def _status_rule(name: str, statuses: tuple[str, ...]) -> Rule:
    """A required ``status`` that must be one of ``statuses``, in any case (``COMPLETED`` is ``completed``).

    A status code has one meaning whatever its case, so it is read in lower case
    (counted as a repair of the column) before it is checked.
    """
    return Rule(
        name,
        "status",
        repair=lambda expr: expr.str.to_lowercase(),
        valid=one_of(statuses),
        required=True,
        reason=f"status missing or not one of {', '.join(statuses)}",
    )


_CURRENCY = Rule(
    "currency_empty", "currency", valid=not_blank, action=Action.SET_NULL, reason="empty currency kept as null"
)

TRANSACTION_RULES = [
    *_amount_rules("amount"),
    _CURRENCY,
    Rule("transaction_date_valid", "transaction_date", repair=_date, reason="transaction_date is not a date"),
    Rule("due_date_valid", "due_date", repair=_date, required=True, reason="due_date missing or not a date"),
    _status_rule("transaction_status_known", TRANSACTION_STATUSES),
    Rule(
        "discount_applied_boolean",
        "discount_applied",
        repair=boolean_text,
        action=action_of(TRANSACTION_COLUMNS, "discount_applied"),
        reason="discount_applied is not true or false",
    ),
    Rule(
        "installments_integer",
        "installments",
        repair=integer_text,
        action=action_of(TRANSACTION_COLUMNS, "installments"),
        reason="installments is not a whole number",
    ),
]


PAYMENT_RECORD_RULES = [
    *_amount_rules("amount_paid"),
    _CURRENCY,
    Rule(
        "payment_date_valid", "payment_date", repair=_date, required=True, reason="payment_date missing or not a date"
    ),
    _status_rule("payment_status_known", PAYMENT_STATUSES),
    Rule(
        "fee_amount_number",
        "fee_amount",
        repair=lambda expr: json_number(expr, _format("fee_amount")),
        action=action_of(PAYMENT_COLUMNS, "fee_amount"),
        reason="fee_amount is not a number",
    ),
    Rule(
        "fee_amount_finite",
        "fee_amount",
        valid=finite,
        action=action_of(PAYMENT_COLUMNS, "fee_amount"),
        reason="fee_amount is not a finite number",
    ),
]


TRANSACTION_STATE = "transaction_state"  # clean | quarantined | unknown, joined onto each payment before the rules


def _state_is(*states: str):
    return lambda _expr: pl.col(TRANSACTION_STATE).is_in(list(states))


#: Record rules, then two that tie each payment to a received, then to a cleaned, transaction.
PAYMENT_RULES = [
    *PAYMENT_RECORD_RULES,
    Rule(
        "transaction_unknown",
        "transaction_id",
        valid=_state_is("clean", "quarantined"),
        required=True,
        reason="payment of a transaction that was never received",
    ),
    Rule(
        "transaction_quarantined",
        "transaction_id",
        valid=_state_is("clean"),
        reason="payment of a transaction that is in quarantine",
    ),
]


#: Column added to a record that repeats an earlier or later record's id: where the record kept for that id is.
KEPT_RECORD = "kept_record"
ID_AND_DATE = {"transactions": ("transaction_id", "transaction_date"), "payments": ("payment_id", "payment_date")}


def duplicate_records(raw: pl.LazyFrame, kind: str) -> pl.DataFrame:
    """The records of ``raw`` that lose to another record with the same id: source position and :data:`KEPT_RECORD`.

    Per id, the record kept is the one with the latest date (``transaction_date``
    / ``payment_date``; an unreadable date counts as oldest), then the last in
    file order (file name, then position). Only ids that occur more than once
    are ranked, so the usual input, with none, costs one pass over two columns.
    Ids are compared as the rules read them, trimmed: ``" TXN-1 "`` repeats
    ``"TXN-1"``.
    """
    id_column, date_column = ID_AND_DATE[kind]
    key = "_id"
    columns = raw.select("source_file", "source_line", pl.col(id_column).str.strip_chars().alias(key), date_column)
    repeated = columns.group_by(key).agg(pl.len()).filter(pl.col("len") > 1).select(key)
    rows = columns.join(repeated, on=key, how="semi").collect(engine="streaming")
    if rows.is_empty():
        return pl.DataFrame(schema={"source_file": pl.String, "source_line": pl.Int64, KEPT_RECORD: pl.String})
    ranked = rows.with_columns(_date(pl.col(date_column)).alias("_at")).sort(
        [key, "_at", "source_file", "source_line"], descending=[False, True, True, True], nulls_last=True
    )
    where = pl.format("{} record {}", "source_file", "source_line")
    return (
        ranked.with_columns(where.first().over(key).alias(KEPT_RECORD))
        .filter(pl.int_range(pl.len()).over(key) > 0)
        .select("source_file", "source_line", KEPT_RECORD)
    )


def duplicate_rule(kind: str) -> Rule:
    """``duplicate_id``: a record that repeats the id of the record kept (see :func:`duplicate_records`)."""
    id_column, date_column = ID_AND_DATE[kind]
    return Rule(
        "duplicate_id",
        id_column,
        valid=lambda _expr: pl.col(KEPT_RECORD).is_null(),
        reason=f"{id_column} repeats another record's; kept: the one in kept_record "
        f"(latest {date_column}, then last in file)",
    )


def marking_duplicates(
    losers: pl.DataFrame, then: Callable[[pl.DataFrame], pl.DataFrame] | None = None
) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """A batch enricher adding :data:`KEPT_RECORD` to the records in ``losers`` (null elsewhere), after ``then``."""

    def mark(batch: pl.DataFrame) -> pl.DataFrame:
        batch = then(batch) if then is not None else batch
        return batch.join(losers, on=["source_file", "source_line"], how="left", maintain_order="left")

    return mark


def judging_duplicates(
    raw: pl.LazyFrame,
    kind: str,
    rules: list[Rule],
    enrich: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> tuple[int, list[Rule], Callable[[pl.DataFrame], pl.DataFrame] | None]:
    """``rules`` and ``enrich`` that also quarantine the records of ``raw`` repeating a kept record's id.

    ``duplicate_id`` runs first (:func:`duplicate_rule`, :func:`marking_duplicates`); with no repeated id,
    ``rules`` and ``enrich`` are returned as they are. Also returns how many records repeat an id.
    """
    losers = duplicate_records(raw, kind)
    if losers.is_empty():
        return 0, rules, enrich
    return losers.height, [duplicate_rule(kind), *rules], marking_duplicates(losers, enrich)


#: Seed of the ids' 64-bit hashes in :class:`IdIndex` (any fixed value: the hashes never leave the process).
_ID_HASH_SEED = 0x5EED


class IdIndex:
    """A set of ids probed batch after batch: their 64-bit hashes sorted once, binary-searched per batch.

    Built once for millions of ids (a payments run probes every batch of
    payments against every transaction id), so no hash table of the ids is
    rebuilt per batch, and each batch keeps its rows and their order.
    Searching integers instead of the ids' text is five times faster (0.06 s
    instead of 0.31 s for 200,000 payments against 2M transactions; 0.03 s
    with the batch's hashes searched in order). The
    answer is exact: the id found at a hash is compared with the id wanted,
    and the rows whose hash is shared by another id (a 64-bit collision) are
    looked up by their text.
    """

    def __init__(self, ids: pl.Series) -> None:
        ids = ids.drop_nulls()
        ordered = pl.DataFrame({"id": ids, "h": self.hash(ids)}).sort("h")
        self._hashes, self._ids = ordered["h"], ordered["id"]

    def hash(self, ids: pl.Series) -> pl.Series:
        """The 64-bit hash each id is searched by."""
        return ids.hash(_ID_HASH_SEED)

    def __len__(self) -> int:
        return self._ids.len()

    def contains(self, wanted: pl.Series) -> pl.Series:
        """Whether each of ``wanted`` is one of the ids (null is not), in ``wanted``'s order."""
        if not len(self):
            return pl.repeat(False, wanted.len(), eager=True)
        hashes = self.hash(wanted)
        # searched in hash order, the index is walked forward instead of at random: 200,000 ids against 2M
        # take 0.01 s instead of 0.04 s; the positions are then put back in the batch's order
        order = hashes.arg_sort()
        positions = self._hashes.search_sorted(hashes.gather(order), side="left").clip(0, len(self) - 1)
        at = pl.zeros(wanted.len(), dtype=positions.dtype, eager=True).scatter(order, positions)
        found = (self._ids.gather(at) == wanted).fill_null(False)
        shared = (self._hashes.gather(at) == hashes) & ~found & wanted.is_not_null()
        if shared.any():
            rows = shared.arg_true()
            found = found.scatter(rows, wanted.gather(rows).is_in(self._ids.implode()))
        return found.alias(wanted.name)


def known_ids(clean: pl.Series, received: pl.Series) -> tuple[IdIndex, IdIndex]:
    """The clean transaction ids, and the other ``received`` ids no clean record shares, each indexed.

    The received ids are trimmed first, as the rules and :func:`state_joiner`
    read them: a quarantined transaction ``" TXN-5 "`` is found for a payment of
    ``"TXN-5"``.
    """
    clean_ids = IdIndex(clean)
    others = received.str.strip_chars().drop_nulls().unique()
    return clean_ids, IdIndex(others.filter(~clean_ids.contains(others)))


def state_joiner(clean_ids: IdIndex, quarantined_ids: IdIndex) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """Adds ``transaction_state`` (``clean``, ``quarantined``, else ``unknown``) to a batch of payments.

    The known transaction ids (see ``tables.known_transactions``), indexed once,
    are looked up for each batch's ids in place of a join. This runs before the
    rules repair the batch, so an id is looked up as they will read it, trimmed.
    """

    def join(batch: pl.DataFrame) -> pl.DataFrame:
        wanted = batch["transaction_id"].str.strip_chars()
        return batch.with_columns(
            pl.when(clean_ids.contains(wanted))
            .then(pl.lit("clean"))
            .when(quarantined_ids.contains(wanted))
            .then(pl.lit("quarantined"))
            .otherwise(pl.lit("unknown"))
            .alias(TRANSACTION_STATE)
        )

    return join
