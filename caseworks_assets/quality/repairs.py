"""Lossless repairs: values that mean exactly one thing, read as that thing instead of rejected.

Real exports write the same value in several ways: an integer as ``5.0`` or
`` 5 ``, a missing value as an empty or blank string, an instant as
``2025-02-10T14:15:00+00:00`` instead of ``...Z``. Each of these has one
meaning, so reading it loses nothing; rejecting the row would. The readers
here are polars expressions (no Python loop over rows), and every repair is a
named rule:

* ``trimmed`` -- surrounding whitespace removed;
* ``blank_to_null`` -- an empty or whitespace-only string is null;
* ``integral_decimal`` -- ``5.0`` / ``5.`` read as the integer 5 (``5.5`` is not repaired: it stays invalid);
* ``utc_offset`` -- an ISO 8601 instant with an explicit offset (``+00:00``, ``-03:00``) read as the same instant;
* ``thousands_separator`` / ``decimal_comma`` -- only where the column's contract declares the
  convention (:class:`NumberFormat`); otherwise ``1,5`` is not a number.

:class:`RepairLog` counts the repairs per rule and column with up to five
examples (original -> repaired) for the step's metadata. Callers keep their fast
path: cast strictly first and pass only the values that failed through the
readers here (see :func:`read_column`), so a clean file costs one cast.

:class:`Severity` is the other half of a column's contract: what happens to a
value that no repair can read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import polars as pl

EXAMPLES = 5


class Severity(StrEnum):
    """What a defect in a column does to its row (declared per column in the column contract)."""

    #: a key, or a value the outputs depend on: the row is quarantined
    ERROR = "error"
    #: an optional attribute: the value is nulled, the row kept, a warning recorded with file and line
    WARNING = "warning"


class Kind(StrEnum):
    """What a text column is read as."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    INSTANT = "instant"


class NumberFormat(StrEnum):
    """How a column writes its numbers; separators are read only where the contract declares them."""

    PLAIN = "plain"  # 1234.56
    DECIMAL_COMMA = "decimal_comma"  # 1.234,56 / 1234,56
    DECIMAL_POINT = "decimal_point"  # 1,234.56 (thousands grouped with commas)


_INTEGRAL = r"^[+-]?[0-9]+\.0*$"
_PLAIN_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_GROUPED = {
    NumberFormat.DECIMAL_COMMA: (r"^[+-]?[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?$", ".", ","),
    NumberFormat.DECIMAL_POINT: (r"^[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$", ",", "."),
}
_COMMA_DECIMAL = r"^[+-]?[0-9]*,[0-9]+$"
#: ISO 8601 date-time: seconds and a fraction optional, a UTC designator, an explicit offset or no zone at all
_ISO_INSTANT = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?(?:Z|z|[+-][0-9]{2}:?[0-9]{2})?$"
)
_OFFSET = r"[+-][0-9]{2}:?[0-9]{2}$"
#: The end of a date-time that names its zone: ``Z`` or an offset.
_ZONE = r"(?:[Zz]|[0-9][+-][0-9]{2}:?[0-9]{2})$"
INSTANT_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%#z"


def _stripped(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).str.strip_chars()


#: How SQL exports write a null in a text file: ``NULL`` (BI tools, many ``SELECT ... INTO OUTFILE``) and ``\N``
#: (psql's and MySQL's text format). A case whose source is a database says so (``null_placeholders``).
SQL_NULLS = ("NULL", "null", "Null", "\\N")


def read_text(expr: pl.Expr, null_placeholders: Sequence[str] = ()) -> pl.Expr:
    """Trimmed text; empty or whitespace-only is null, and so is one of ``null_placeholders``."""
    text = _stripped(expr)
    readable = text.str.len_chars() > 0
    if null_placeholders:
        readable = readable & ~text.is_in(list(null_placeholders))
    return pl.when(readable).then(text)


def read_integer(expr: pl.Expr) -> pl.Expr:
    """Int64 from text: `` 5 ``, ``5.0``, ``+5`` -> 5; blank -> null; ``5.5`` or garbage -> null (not repairable)."""
    text = _stripped(expr)
    whole = pl.when(text.str.contains(_INTEGRAL)).then(text.str.replace(r"\.0*$", "")).otherwise(text)
    return whole.cast(pl.Int64, strict=False)


def _canonical_number(text: pl.Expr, fmt: NumberFormat) -> pl.Expr:
    if fmt is NumberFormat.PLAIN:
        return pl.when(text.str.contains(_PLAIN_NUMBER)).then(text)
    pattern, thousands, decimal = _GROUPED[fmt]
    plain = pl.when(text.str.contains(pattern)).then(
        text.str.replace_all(thousands, "", literal=True).str.replace(decimal, ".", literal=True)
    )
    if fmt is NumberFormat.DECIMAL_COMMA:
        plain = plain.when(text.str.contains(_COMMA_DECIMAL)).then(text.str.replace(",", ".", literal=True))
    return plain.when(text.str.contains(_PLAIN_NUMBER) & ~text.str.contains(",", literal=True)).then(text)


def read_number(expr: pl.Expr, fmt: NumberFormat = NumberFormat.PLAIN) -> pl.Expr:
    """Float64 from text, separators as ``fmt`` declares; blank -> null; anything else unreadable -> null."""
    return _canonical_number(_stripped(expr), fmt).cast(pl.Float64, strict=False)


_CURRENCY_MARKS = r"(?i)R\$|US\$|\$|€|£|\bBRL\b|\bUSD\b|\bEUR\b"


def read_money(expr: pl.Expr, fmt: NumberFormat) -> pl.Expr:
    """:func:`read_number` after dropping currency marks and inner spaces (``R$ 1.234,56`` with DECIMAL_COMMA)."""
    text = _stripped(expr).str.replace_all(_CURRENCY_MARKS, "").str.replace_all(r"\s", "")
    return read_number(text, fmt)


def read_instant(expr: pl.Expr) -> pl.Expr:
    """A UTC instant from ISO 8601 text (fractions and seconds optional); else null.

    ``2025-02-10T11:15:00-03:00`` is the instant ``2025-02-10T14:15:00Z``. A
    date-time that names no zone (``2025-02-10 14:15:00``, as SQL dumps and
    spreadsheets write it) is read as UTC: only columns whose contract declares
    their source writes UTC are read as instants, so the contract supplies the
    zone the text leaves out (and the repair ``utc_by_contract`` shows every such value).
    """
    text = _stripped(expr)
    iso = (
        text.str.replace(r"^([0-9-]{10}) ", "${1}T")
        .str.replace(r"^([0-9-]{10}T[0-9]{2}:[0-9]{2})([Zz+-]|$)", "${1}:00${2}")
        .str.replace(r"z$", "Z")
        .str.replace(",", ".", literal=True)
    )
    zoned = pl.when(iso.str.contains(_ZONE)).then(iso).otherwise(iso + "Z")
    parsed = zoned.str.to_datetime(INSTANT_FORMAT, time_unit="us", time_zone="UTC", strict=False)
    return pl.when(text.str.contains(_ISO_INSTANT)).then(parsed)


def reader(kind: Kind, fmt: NumberFormat = NumberFormat.PLAIN):
    """The reader of ``kind`` (an expression builder)."""
    if kind is Kind.INTEGER:
        return read_integer
    if kind is Kind.NUMBER:
        return lambda expr: read_number(expr, fmt)
    if kind is Kind.INSTANT:
        return read_instant
    return read_text


def repair_marks(
    text: pl.Expr, kind: Kind, fmt: NumberFormat = NumberFormat.PLAIN, null_placeholders: Sequence[str] = ()
) -> dict[str, pl.Expr]:
    """Per repair rule, True where that rule changed how ``text`` was written (before the value is read)."""
    raw = text.cast(pl.String)
    stripped = raw.str.strip_chars()
    marks = {
        "blank_to_null": raw.is_not_null() & (stripped.str.len_chars() == 0),
        "trimmed": (stripped.str.len_chars() > 0) & (raw != stripped),
    }
    if null_placeholders:
        marks["null_placeholder"] = stripped.is_in(list(null_placeholders))
    if kind is Kind.INTEGER:
        marks["integral_decimal"] = stripped.str.contains(_INTEGRAL)
    elif kind is Kind.INSTANT:
        iso = stripped.str.contains(_ISO_INSTANT)
        marks["utc_offset"] = iso & stripped.str.contains(_OFFSET)
        marks["utc_by_contract"] = iso & ~stripped.str.contains(_ZONE)
    elif kind is Kind.NUMBER and fmt is not NumberFormat.PLAIN:
        pattern, thousands, decimal = _GROUPED[fmt]
        marks["thousands_separator"] = stripped.str.contains(pattern) & stripped.str.contains(thousands, literal=True)
        if decimal == ",":
            marks["decimal_comma"] = stripped.str.contains(",", literal=True) & (
                stripped.str.contains(pattern) | stripped.str.contains(_COMMA_DECIMAL)
            )
    return marks


#: Repairs whose value is null by rule, so they count whatever the value.
_NULL_BY_RULE = ("blank_to_null", "null_placeholder")

REPAIRED_SCHEMA = {"at": pl.Int64, "rule": pl.String, "column": pl.String, "original": pl.String, "repaired": pl.String}


@dataclass
class RepairLog:
    """Repairs counted per (rule, column), with up to :data:`EXAMPLES` examples ``original -> repaired`` each.

    With ``locate`` (a column of the frames it records, e.g. a row number or a
    source line) it also keeps every repaired value with its position, so the
    quarantine table can show it as a warning (see :meth:`located`).
    """

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    locate: str | None = None
    rows: list[pl.DataFrame] = field(default_factory=list)

    def with_locate(self, frame: pl.DataFrame) -> list[str]:
        """The locating column, when ``frame`` has it: what a caller must keep in the subset it records."""
        return [self.locate] if self.locate is not None and self.locate in frame.columns else []

    def record(
        self,
        frame: pl.DataFrame,
        column: str,
        repaired: str,
        kind: Kind,
        fmt: NumberFormat,
        null_placeholders: Sequence[str] = (),
    ) -> None:
        """Count the repairs of ``frame[column]`` (text as read) whose value is ``frame[repaired]``.

        A mark only counts where the value was read (a ``5.5`` is not an
        integral decimal, an unreadable offset is not a repair); a blank or a
        null placeholder always counts: its value is null by rule.
        """
        if frame.is_empty():
            return
        value = pl.col(repaired)
        marks = {
            rule: mark & (value.is_not_null() if rule not in _NULL_BY_RULE else pl.lit(True))
            for rule, mark in repair_marks(pl.col(column), kind, fmt, null_placeholders).items()
        }
        located = self.with_locate(frame)
        marked = frame.select(
            *(pl.col(name).cast(pl.Int64).alias("__at") for name in located),
            pl.col(column).cast(pl.String).alias("__original"),
            value.cast(pl.String).alias("__repaired"),
            *(mark.fill_null(False).alias(rule) for rule, mark in marks.items()),
        )
        totals = marked.select(pl.col(rule).sum() for rule in marks).row(0, named=True)
        for rule, count in totals.items():
            if not count:
                continue
            key = (rule, column)
            self.counts[key] = self.counts.get(key, 0) + int(count)
            if located:
                self.rows.append(
                    marked.filter(pl.col(rule)).select(
                        pl.col("__at").alias("at"),
                        pl.lit(rule).alias("rule"),
                        pl.lit(column).alias("column"),
                        pl.col("__original").alias("original"),
                        pl.col("__repaired").alias("repaired"),
                    )
                )
            kept = self.examples.setdefault(key, [])
            if len(kept) < EXAMPLES:
                sample = marked.filter(pl.col(rule)).head(EXAMPLES - len(kept))
                kept += [
                    f"{o!r} -> {r if r is not None else 'null'}"
                    for o, r in sample.select("__original", "__repaired").iter_rows()
                ]

    def located(self) -> pl.DataFrame:
        """Every repaired value with its position (``at``), rule, column, original and repaired text."""
        return pl.concat(self.rows) if self.rows else pl.DataFrame(schema=REPAIRED_SCHEMA)

    def merge(self, other: RepairLog) -> None:
        """Add ``other``'s counts and examples (not its located rows: positions are the caller's business)."""
        for key, count in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + count
            kept = self.examples.setdefault(key, [])
            kept += other.examples.get(key, [])[: EXAMPLES - len(kept)]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, dict[str, dict[str, object]]]:
        """``{column: {rule: {"count": n, "examples": [...]}}}``, sorted."""
        out: dict[str, dict[str, dict[str, object]]] = {}
        for rule, column in sorted(self.counts, key=lambda k: (k[1], k[0])):
            out.setdefault(column, {})[rule] = {
                "count": self.counts[(rule, column)],
                "examples": self.examples.get((rule, column), []),
            }
        return out

    def metadata(self) -> dict[str, object]:
        """Flat counters ``repair/<rule>/<column>`` plus ``repairs`` (counts and examples) as one mapping."""
        flat: dict[str, object] = {f"repair/{rule}/{column}": n for (rule, column), n in sorted(self.counts.items())}
        return {"values_repaired": self.total, **flat, "repairs": self.as_dict()}


_STRICT = {
    Kind.INTEGER: lambda expr: expr.cast(pl.Int64, strict=False),
    Kind.NUMBER: lambda expr: expr.cast(pl.Float64, strict=False),
}


def read_column(
    frame: pl.DataFrame,
    column: str,
    target: str,
    kind: Kind,
    fmt: NumberFormat = NumberFormat.PLAIN,
    log: RepairLog | None = None,
    *,
    null_blank_source: bool = True,
) -> pl.DataFrame:
    """``frame`` with ``column`` (text) read into ``target`` as ``kind``: strict cast first, repairs only for the rest.

    Most values of a real file read with a plain cast; only those it leaves
    null (while the text is not) go through :func:`reader` and are counted in
    ``log``. With ``null_blank_source`` a blank source value becomes null too,
    so later rules see "missing", not "unreadable".
    """
    if kind is Kind.TEXT or kind is Kind.INSTANT:
        raise ValueError("read_column reads integers and numbers; text and instants have their own fast paths")
    source = pl.col(column)
    strict = frame.with_columns(_STRICT[kind](source).alias(target))
    retry = strict.select(pl.col(target).is_null() & source.is_not_null()).to_series()
    if not retry.any():
        return strict
    return repair_rows(strict, retry, column, target, kind, fmt, log, null_blank_source=null_blank_source)


def repair_rows(
    frame: pl.DataFrame,
    retry: pl.Series,
    column: str,
    target: str,
    kind: Kind,
    fmt: NumberFormat = NumberFormat.PLAIN,
    log: RepairLog | None = None,
    *,
    null_blank_source: bool = True,
) -> pl.DataFrame:
    """``frame`` whose ``target`` is read again with the repairing reader at the rows ``retry`` marks."""
    positions = retry.arg_true()
    subset = frame.select(pl.col(column), *(log.with_locate(frame) if log is not None else [])).filter(retry)
    read = subset.with_columns(reader(kind, fmt)(pl.col(column)).alias("__read"))
    if log is not None:
        log.record(read, column, "__read", kind, fmt)
    updates = [frame[target].scatter(positions, read["__read"].cast(frame.schema[target]))]
    if null_blank_source:
        blank = read.select(pl.col(column).cast(pl.String).str.strip_chars().str.len_chars() == 0).to_series()
        if blank.any():
            updates.append(frame[column].scatter(positions.filter(blank), None))
    return frame.with_columns(updates)


def untrimmed(expr: pl.Expr) -> pl.Expr:
    """Text with whitespace at either end (any Unicode white space: tab, no-break space), or empty.

    A length comparison with the trimmed text: 30 % faster than the pattern
    ``^\\s|\\s$|^$`` on payments' text columns, and the same values (both use
    Unicode's White_Space).
    """
    text = expr.cast(pl.String)
    length = text.str.len_bytes()
    return ((length != text.str.strip_chars().str.len_bytes()) | (length == 0)).fill_null(False)


def normalize_text(
    frame: pl.DataFrame,
    columns: list[str] | tuple[str, ...],
    log: RepairLog | None = None,
    null_placeholders: Sequence[str] = (),
) -> pl.DataFrame:
    """``frame`` with ``columns`` trimmed and blank values null, counted in ``log``.

    One test per column (:func:`untrimmed`) finds the few values that need it (a clean
    column is left as it is, no copy); only those are repaired and counted. A value
    that is one of ``null_placeholders`` (e.g. :data:`SQL_NULLS`) is null too.
    """
    if not columns:
        return frame

    def needs_repair(column: str) -> pl.Expr:
        found = untrimmed(pl.col(column))
        if null_placeholders:
            found = found | pl.col(column).cast(pl.String).is_in(list(null_placeholders)).fill_null(False)
        return found.alias(column)

    masks = frame.select(needs_repair(c) for c in columns)
    updates = []
    for column in columns:
        mask = masks[column]
        if not mask.any():
            continue
        subset = frame.select(pl.col(column), *(log.with_locate(frame) if log is not None else [])).filter(mask)
        read = subset.with_columns(read_text(pl.col(column), null_placeholders).alias("__read"))
        if log is not None:
            log.record(read, column, "__read", Kind.TEXT, NumberFormat.PLAIN, null_placeholders)
        updates.append(frame[column].cast(pl.String).scatter(mask.arg_true(), read["__read"]))
    return frame.with_columns(updates) if updates else frame
