"""Validators and parsers as pure polars expression builders.

Every function takes a polars expression (usually ``pl.col("x")``) and returns a
new expression, so it can be used as ``Rule.valid`` / ``Rule.repair`` or
directly in ``select``/``with_columns``. Nothing here loops over rows in Python:
check digits are computed column-wise from sliced characters.

Conventions (shared by all builders):

* ``is_*`` return Boolean, null for a null input (the rule engine treats null as
  "not my business", see ``Rule.required``).
* ``normalize_*`` / ``parse_*`` return the canonical value or null when the input
  cannot be read; they are idempotent: ``f(f(x)) == f(x)``.
* Only ASCII digits count as digits. Other Unicode digits (Arabic-Indic,
  full-width, ...) are rejected rather than silently transliterated.
* Surrounding whitespace is ignored; anything else unexpected makes the value
  invalid (null for parsers) -- bad data goes to quarantine, it is not guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import polars as pl

ExprFn = Callable[[pl.Expr], pl.Expr]

# --------------------------------------------------------------------------- helpers


def _text(expr: pl.Expr) -> pl.Expr:
    """The value as trimmed text (numbers and dates cast to their canonical string)."""
    return expr.cast(pl.String).str.strip_chars()


def _digit(text: pl.Expr, position: int) -> pl.Expr:
    """The ASCII digit at ``position`` as an integer (null if it is not a digit)."""
    return text.str.slice(position, 1).cast(pl.Int64, strict=False)


def _weighted_sum(values: Sequence[pl.Expr], weights: Sequence[int]) -> pl.Expr:
    return pl.sum_horizontal([value * weight for value, weight in zip(values, weights, strict=True)])


def _all_same(values: Sequence[pl.Expr]) -> pl.Expr:
    return pl.all_horizontal([value == values[0] for value in values[1:]])


# --------------------------------------------------------------------------- nulls

NULL_TOKENS = ("", "null", "none", "nan", "n/a", "na", "-", "--")


def null_if_blank(tokens: Sequence[str] = NULL_TOKENS) -> ExprFn:
    """Builder (a repair): trimmed text, with blanks and placeholder tokens (case-insensitive) turned into null.

    Use it with ``Action.SET_NULL``: the engine counts a repair that turns a value
    into null as a failure, so the rule's count is the number of placeholders
    found; follow it with ``not_null(column)`` when the column is required.
    """
    lowered = [token.lower() for token in tokens]

    def build(expr: pl.Expr) -> pl.Expr:
        text = _text(expr)
        return pl.when(~text.str.to_lowercase().is_in(lowered)).then(text)

    return build


# --------------------------------------------------------------------------- e-mail

_EMAIL_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = rf"^{_EMAIL_ATOM}(?:\.{_EMAIL_ATOM})*@(?:{_EMAIL_LABEL}\.)+[A-Za-z]{{2,63}}$"


def is_email(expr: pl.Expr) -> pl.Expr:
    """A syntactically valid address: dot-atom local part, host names, alphabetic TLD, <= 254 chars.

    Deliberately ASCII-only and without quoted local parts: those are legal in
    RFC 5322 but in practice mark garbage in a customer table.
    """
    text = _text(expr)
    return (text.str.len_chars() <= 254) & text.str.contains(EMAIL_PATTERN)


def normalize_email(expr: pl.Expr) -> pl.Expr:
    """Trimmed, lower-cased address, or null when it is not a valid e-mail."""
    text = _text(expr).str.to_lowercase()
    return pl.when(is_email(text)).then(text)


# --------------------------------------------------------------------------- CEP

_CEP_PATTERN = r"^[0-9]{2}\.?[0-9]{3}-?[0-9]{3}$"


def _cep_digits(expr: pl.Expr) -> pl.Expr:
    text = _text(expr)
    digits = text.str.replace_all(r"[.\-]", "")
    return pl.when(text.str.contains(_CEP_PATTERN) & (digits != "00000000")).then(digits)


def is_cep(expr: pl.Expr) -> pl.Expr:
    """A Brazilian postal code: ``01310-100``, ``01310100`` or ``01.310-100`` (not all zeros)."""
    return pl.when(expr.is_not_null()).then(_cep_digits(expr).is_not_null())


def normalize_cep(expr: pl.Expr) -> pl.Expr:
    """The CEP as ``NNNNN-NNN``, or null when it is not a CEP."""
    digits = _cep_digits(expr)
    return pl.concat_str([digits.str.slice(0, 5), pl.lit("-"), digits.str.slice(5, 3)])


# --------------------------------------------------------------------------- phone

_PHONE_CHARS = r"^\+?[0-9 ().\-]+$"
_NATIONAL_PHONE = r"^[1-9]{2}(?:9[0-9]{8}|[2-5][0-9]{7})$"


def normalize_br_phone(expr: pl.Expr) -> pl.Expr:
    """A Brazilian phone number in E.164 (``+5511987654321``), or null.

    Accepted shapes: ``(11) 98765-4321``, ``11987654321``, ``+55 11 98765-4321``,
    ``5511987654321``, trunk prefix ``011 98765 4321``, trunk + carrier code
    ``0 21 11 98765-4321``, and 8-digit landlines ``(11) 3456-7890``. The national
    number must have a DDD without zeros, then either a 9-digit mobile starting
    with 9 or an 8-digit landline starting with 2-5. A ``+`` other than ``+55``
    (a foreign number), letters or extensions give null.
    """
    text = _text(expr)
    shaped = (text.str.len_chars() <= 40) & text.str.contains(_PHONE_CHARS)
    digits = text.str.replace_all(r"[^0-9]", "")
    size = digits.str.len_chars()
    international = text.str.starts_with("+")
    national = (
        pl.when(international & digits.str.starts_with("55"))
        .then(digits.str.slice(2))
        .when(international)
        .then(None)
        .when(digits.str.starts_with("0") & size.is_in([11, 12]))
        .then(digits.str.slice(1))  # trunk prefix 0
        .when(digits.str.starts_with("0") & size.is_in([13, 14]))
        .then(digits.str.slice(3))  # trunk prefix 0 + carrier code
        .when(digits.str.starts_with("55") & size.is_in([12, 13]))
        .then(digits.str.slice(2))  # country code without "+"
        .otherwise(digits)
    )
    return pl.when(shaped & national.str.contains(_NATIONAL_PHONE)).then(pl.concat_str([pl.lit("+55"), national]))


def is_br_phone(expr: pl.Expr) -> pl.Expr:
    """True when :func:`normalize_br_phone` can read the value."""
    return pl.when(expr.is_not_null()).then(normalize_br_phone(expr).is_not_null())


# --------------------------------------------------------------------------- CPF / CNPJ

_CPF_PATTERN = r"^[0-9]{3}\.?[0-9]{3}\.?[0-9]{3}-?[0-9]{2}$"
_CNPJ_PATTERN = r"^[0-9A-Z]{2}\.?[0-9A-Z]{3}\.?[0-9A-Z]{3}/?[0-9A-Z]{4}-?[0-9]{2}$"
_CNPJ_VALUES = {c: ord(c) - 48 for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def _cpf_digits(expr: pl.Expr) -> pl.Expr:
    """The 11 digits of a well-formed CPF (formatted or not), else null."""
    text = _text(expr)
    return pl.when(text.str.contains(_CPF_PATTERN)).then(text.str.replace_all(r"[.\-]", ""))


def _unchecked_digits(expr: pl.Expr, separators: str) -> pl.Expr:
    """The value without separators; a small expression to slice digits from (shape checked separately)."""
    return _text(expr).str.replace_all(separators, "")


def _cpf_check(numbers: Sequence[pl.Expr]) -> pl.Expr:
    """CPF check digit over ``numbers`` (weights n+1 .. 2): (10 * sum mod 11), 10 -> 0."""
    remainder = (_weighted_sum(numbers, range(len(numbers) + 1, 1, -1)) * 10) % 11
    return pl.when(remainder == 10).then(0).otherwise(remainder)


def is_cpf(expr: pl.Expr) -> pl.Expr:
    """A CPF with correct check digits, formatted (``123.456.789-09``) or not; all-equal digits are invalid."""
    digits = _unchecked_digits(expr, r"[.\-]")
    d = [_digit(digits, i) for i in range(11)]
    valid = (_cpf_check(d[:9]) == d[9]) & (_cpf_check(d[:10]) == d[10]) & ~_all_same(d)
    return pl.when(expr.is_not_null()).then(_text(expr).str.contains(_CPF_PATTERN) & valid.fill_null(False))


def restore_cpf(expr: pl.Expr) -> pl.Expr:
    """A CPF that a spreadsheet read as a number (``4396990472``, ``4396990472.0``) with its 11 digits back.

    A CPF always has 11 digits; a spreadsheet drops the leading zeros of one it
    takes for a number, and may write it with ``.0``. Padding restores exactly
    what was written, and the check digits then say whether it is a CPF. Any
    other text is returned trimmed, as written.
    """
    text = _text(expr)
    number = text.str.extract(r"^([0-9]{9,11})(?:\.0+)?$")
    return pl.when(number.is_not_null()).then(number.str.zfill(11)).otherwise(text)


def normalize_cpf(expr: pl.Expr) -> pl.Expr:
    """The CPF's 11 digits without punctuation, or null when it is not a valid CPF."""
    return pl.when(is_cpf(expr)).then(_cpf_digits(expr))


def _cnpj_digits(expr: pl.Expr) -> pl.Expr:
    text = _text(expr).str.to_uppercase()
    return pl.when(text.str.contains(_CNPJ_PATTERN)).then(text.str.replace_all(r"[./\-]", ""))


def _cnpj_check(values: Sequence[pl.Expr]) -> pl.Expr:
    """CNPJ check digit: weights 2..9 cycling from the right; remainder < 2 -> 0, else 11 - remainder."""
    weights = [2 + (i % 8) for i in range(len(values))][::-1]
    remainder = _weighted_sum(values, weights) % 11
    return pl.when(remainder < 2).then(0).otherwise(11 - remainder)


def is_cnpj(expr: pl.Expr) -> pl.Expr:
    """A CNPJ with correct check digits, formatted (``11.222.333/0001-81``) or not.

    Also accepts the alphanumeric CNPJ (IN RFB 2.229/2024: letters in the first
    12 positions, each worth its ASCII code - 48). All-equal digits are invalid.
    """
    digits = _unchecked_digits(expr, r"[./\-]").str.to_uppercase()
    values = [
        digits.str.slice(i, 1).replace_strict(_CNPJ_VALUES, default=None, return_dtype=pl.Int64) for i in range(14)
    ]
    valid = (_cnpj_check(values[:12]) == values[12]) & (_cnpj_check(values[:13]) == values[13]) & ~_all_same(values)
    shaped = _text(expr).str.to_uppercase().str.contains(_CNPJ_PATTERN)
    return pl.when(expr.is_not_null()).then(shaped & valid.fill_null(False))


def normalize_cnpj(expr: pl.Expr) -> pl.Expr:
    """The CNPJ's 14 characters without punctuation (upper case), or null when it is not valid."""
    return pl.when(is_cnpj(expr)).then(_cnpj_digits(expr))


# --------------------------------------------------------------------------- patterns


def matches(pattern: str) -> ExprFn:
    """Builder: the whole trimmed value matches the regular expression ``pattern``.

    The pattern is anchored for you (``^(?:pattern)$``); it is Rust regex syntax
    (no look-around), where ``\\d`` also matches non-ASCII digits -- write
    ``[0-9]`` when that matters.
    """
    anchored = f"^(?:{pattern})$"

    def build(expr: pl.Expr) -> pl.Expr:
        return _text(expr).str.contains(anchored)

    return build


# --------------------------------------------------------------------------- numbers

_CURRENCY = r"(?i)R\$|US\$|\$|€|£|\bBRL\b|\bUSD\b|\bEUR\b"
_PLAIN = r"^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_BR_GROUPED = r"^[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?$"  # 1.234.567,89 / 1.234,5 / 1.234.567
_BR_DECIMAL = r"^[0-9]*,[0-9]+$"  # 1234,56 / ,5
_US_GROUPED = r"^[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$"  # 1,234,567.89 / 1,234.5


def parse_number(expr: pl.Expr) -> pl.Expr:
    """A number written by people, as Float64, or null when it cannot be read unambiguously.

    * Currency markers (``R$``, ``US$``, ``$``, ``€``, ``£``, ``BRL``, ``USD``,
      ``EUR``) and all whitespace (NBSP included) are dropped: ``R$ 1.234,56`` ->
      1234.56, `` 12 `` -> 12.
    * Sign: leading ``-``/``+`` (before or after the currency) or accounting
      parentheses ``(1.234,56)`` -> -1234.56.
    * Separators: with both ``.`` and ``,`` the last one is the decimal mark and
      the other must group thousands (``1.234,56``, ``1,234.56``); a lone ``,`` is a
      decimal comma (``-12,5`` -> -12.5); a lone ``.`` is a decimal point
      (``1234.56``), except after ``R$`` where ``R$ 1.234`` means 1234; repeated
      separators must group thousands (``1.234.567`` / ``1,234,567``).
    * Anything else -- letters among digits (``12a``), two decimal marks, bad
      grouping (``1.23.4``), non-finite results -- gives null.
    """
    text = _text(expr)
    negative_parens = text.str.contains(r"^\(.*\)$")
    brazilian = text.str.contains(r"R\$|\bBRL\b")
    signed = (
        text.str.replace(r"^\((.*)\)$", "$1")
        .str.replace_all(_CURRENCY, "")
        .str.replace_all(r"\s", "")
        .str.strip_prefix("+")
    )
    negative = signed.str.starts_with("-")
    body = signed.str.strip_prefix("-")
    grouped_br = body.str.contains(_BR_GROUPED) & (
        brazilian | body.str.contains(",", literal=True) | (body.str.count_matches(".", literal=True) > 1)
    )
    grouped_us = body.str.contains(_US_GROUPED) & (
        body.str.contains(".", literal=True) | (body.str.count_matches(",", literal=True) > 1)
    )
    canonical = (
        pl.when((body.str.len_chars() > 64) | (negative & negative_parens))
        .then(None)
        .when(grouped_br)
        .then(body.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True))
        .when(body.str.contains(_PLAIN))
        .then(body)
        .when(body.str.contains(_BR_DECIMAL))
        .then(body.str.replace(",", ".", literal=True))
        .when(grouped_us)
        .then(body.str.replace_all(",", "", literal=True))
    )
    sign = pl.when(negative != negative_parens).then(pl.lit("-")).otherwise(pl.lit(""))
    value = pl.concat_str([sign, canonical]).cast(pl.Float64, strict=False)
    return value.replace([float("inf"), float("-inf")], None)


# --------------------------------------------------------------------------- dates

_ISO_DATE = "%Y-%m-%d"
_ISO_DATETIMES = (
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
)
_TIME_TOKENS = ("%H", "%I", "%M", "%S", "%T", "%R", "%s", "%z", "%:z", "%#z")


_OFFSET = r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2}(?::?[0-9]{2})?)?)"
_TOKEN_PATTERNS = {
    "Y": "[1-9][0-9]{3}",  # years 1000-9999: year 0 and below are garbage, and Python cannot hold them
    "y": "[0-9]{2}",
    "C": "[0-9]{2}",
    "m": "[0-9]{1,2}",
    "d": "[0-9]{1,2}",
    "e": " ?[0-9]{1,2}",
    "H": "[0-9]{1,2}",
    "I": "[0-9]{1,2}",
    "M": "[0-9]{1,2}",
    "S": "[0-9]{1,2}",
    "j": "[0-9]{1,3}",
    "f": "[0-9]{1,9}",
    ".f": r"(?:\.[0-9]{1,9})?",
    ".3f": r"\.[0-9]{3}",
    ".6f": r"\.[0-9]{6}",
    ".9f": r"\.[0-9]{9}",
    "b": "[A-Za-z]{3}",
    "h": "[A-Za-z]{3}",
    "B": "[A-Za-z]{3,9}",
    "a": "[A-Za-z]{3}",
    "A": "[A-Za-z]{6,9}",
    "p": "[AaPp][Mm]",
    "z": _OFFSET,
    ":z": _OFFSET,
    "#z": _OFFSET,
    "T": "[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}",
    "R": "[0-9]{1,2}:[0-9]{1,2}",
    "F": "[1-9][0-9]{3}-[0-9]{1,2}-[0-9]{1,2}",
    "D": "[0-9]{1,2}/[0-9]{1,2}/[0-9]{2}",
    "%": "%",
}
_REGEX_META = set("\\.+*?()|[]{}^$#&-~")


def _format_regex(fmt: str) -> str | None:
    """A regex for the exact shape ``fmt`` describes (``%Y`` = four digits), or None for unknown tokens.

    chrono's strptime is lenient (``%Y`` reads ``24`` as year 24); the shape guard
    keeps ``05/01/24`` from matching ``%d/%m/%Y`` so the ``%y`` format can read it.
    """
    parts, i = ["^"], 0
    while i < len(fmt):
        if fmt[i] != "%":
            parts.append("\\" + fmt[i] if fmt[i] in _REGEX_META else fmt[i])
            i += 1
            continue
        token = next((t for t in sorted(_TOKEN_PATTERNS, key=len, reverse=True) if fmt.startswith(t, i + 1)), None)
        if token is None:
            return None
        parts.append(_TOKEN_PATTERNS[token])
        i += 1 + len(token)
    return "".join([*parts, "$"])


def _strptime(text: pl.Expr, dtype: pl.DataType, fmt: str) -> pl.Expr:
    parsed = text.str.strptime(dtype, fmt, strict=False, exact=True)
    shape = _format_regex(fmt)
    return parsed if shape is None else pl.when(text.str.contains(shape)).then(parsed)


def _has_time(fmt: str) -> bool:
    return any(token in fmt for token in _TIME_TOKENS)


def _offset_token(fmt: str) -> str | None:
    return next((token for token in ("%#z", "%:z", "%z") if fmt.endswith(token)), None)


def _wall_clock(text: pl.Expr, fmt: str) -> pl.Expr:
    """Naive timestamp as written (a trailing UTC offset is validated away, not applied)."""
    token = _offset_token(fmt)
    if token is not None:
        text = pl.when(text.str.contains(_OFFSET + "$")).then(text.str.replace(_OFFSET + "$", ""))
        fmt = fmt.removesuffix(token)
    return _strptime(text, pl.Datetime("us"), fmt)


def _as_utc(text: pl.Expr, fmt: str) -> pl.Expr:
    """Naive UTC for a format ending in an offset; offsets with seconds (local mean time) are honoured."""
    if _offset_token(fmt) is None:  # offset in the middle: chrono applies it
        parsed = _strptime(text, pl.Datetime("us", "UTC"), fmt)
        return parsed.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    groups = text.str.extract_groups(r"([+-])([0-9]{2}):?([0-9]{2})?:?([0-9]{2})?$")
    sign = pl.when(groups.struct.field("1") == "-").then(-1).otherwise(1)
    hours, minutes, seconds = (groups.struct.field(str(i)).cast(pl.Int64).fill_null(0) for i in (2, 3, 4))
    offset = sign * (hours * 3600 + minutes * 60 + seconds)
    return _wall_clock(text, fmt) - pl.duration(seconds=offset)


#: An ISO 8601 timestamp (``T`` or a space; seconds, a fraction and ``Z`` or an offset optional).
_ISO_TIMESTAMP = (
    r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,9})?)?"
    + _OFFSET
    + "?$"
)


def _iso_timestamp_date(text: pl.Expr) -> pl.Expr:
    """The date an ISO 8601 timestamp is written on (its first ten characters), whatever its time and offset.

    One pattern for every form machines write (``...T09:15:00.000Z``, ``...-03:00``,
    ``2024-03-02 08:00``) instead of one format each: a date parser runs per batch,
    and each format tried costs a pass of its own.
    """
    return pl.when(text.str.contains(_ISO_TIMESTAMP)).then(_strptime(text.str.slice(0, 10), pl.Date, _ISO_DATE))


def parse_date(formats: Sequence[str], *, iso: bool = True) -> ExprFn:
    """Builder: the value as ``pl.Date`` using the first of ``formats`` (strptime syntax) that reads it, else null.

    Each format must match the whole value's shape (``%Y`` is exactly four digits,
    years 1000-9999; ``%d``/``%m`` one or two), then parse -- chrono alone would
    read ``05/01/24`` as year 24 under ``%d/%m/%Y``. Formats are tried in the
    declared order, so put the unambiguous ones first
    (``%d/%m/%Y`` before ``%m/%d/%Y`` only if day-first is the house rule).
    Impossible dates (``31/02/2024``) give null. A format with a time part
    (``%Y-%m-%dT%H:%M:%S``) reads timestamps and keeps their date (wall clock,
    offsets ignored). With ``iso`` (default) ISO 8601 is accepted after them:
    ``YYYY-MM-DD`` (so the parser is idempotent on its own output) and the
    timestamps machines write (``2024-01-15T10:30:00.000Z``, JavaScript's
    ``toISOString``; ``...-03:00``), whose date is kept as written: an export
    that writes its dates that way loses no record to the format.
    """
    chosen = list(dict.fromkeys([*formats, *([_ISO_DATE] if iso else [])]))
    if not chosen:
        raise ValueError("parse_date needs at least one format")

    def one(text: pl.Expr, fmt: str) -> pl.Expr:
        return _wall_clock(text, fmt).dt.date() if _has_time(fmt) else _strptime(text, pl.Date, fmt)

    readers = [partial(one, fmt=fmt) for fmt in chosen] + ([_iso_timestamp_date] if iso else [])

    def parse_distinct(values: pl.Series) -> pl.Series:
        # A date column repeats few values (a year is 365 of them), so each distinct value is read once and
        # the rows are mapped to its date. Each format reads only the values the formats before it left
        # unread: most are read by the first, and the ISO forms tried last cost almost nothing.
        pending = pl.DataFrame({"value": values.unique()}).with_columns(_text(pl.col("value")).alias("text"))
        pending = pending.filter(pl.col("text").str.len_chars() <= 64)  # longer text is no date (and null)
        found = [pl.DataFrame(schema={"value": values.dtype, "date": pl.Date})]
        for read in readers:
            if pending.is_empty():
                break
            tried = pending.with_columns(read(pl.col("text")).alias("date"))
            found.append(tried.filter(pl.col("date").is_not_null()).select("value", "date"))
            pending = tried.filter(pl.col("date").is_null()).drop("date")
        dates = pl.concat(found)
        return values.replace_strict(dates["value"], dates["date"], default=None, return_dtype=pl.Date)

    def build(expr: pl.Expr) -> pl.Expr:
        return expr.map_batches(parse_distinct, return_dtype=pl.Date)

    return build


def parse_datetime(
    formats: Sequence[str], *, time_zone: str | None = None, iso: bool = True, wall_clock: bool = False
) -> ExprFn:
    """Builder: the value as ``pl.Datetime("us", time_zone)`` using the first format that reads it, else null.

    Formats with an offset (``%z``) are converted to ``time_zone`` (UTC when
    ``time_zone`` is None, then made naive); formats without one are taken as
    wall time in ``time_zone`` (or stay naive), and wall times that do not exist
    there (the DST gap) give null. Date-only formats give midnight.
    With ``iso`` the ISO forms ``YYYY-MM-DD[T ]HH:MM[:SS[.f]]`` (with or without an
    offset or ``Z``) are accepted last, so the parser is idempotent on its own output.
    With ``wall_clock`` the result is naive wall time in ``time_zone``, for a column
    whose contract is local time: a time without an offset is kept as written, and
    one with an offset or ``Z`` is the same instant on ``time_zone``'s clock
    (``...T22:30:00Z`` is 19:30 in São Paulo), not UTC's.
    """
    if wall_clock and time_zone is None:
        raise ValueError("wall_clock needs the time_zone whose clock it reads")
    chosen = list(dict.fromkeys([*formats, *(_ISO_DATETIMES if iso else ())]))
    if not chosen:
        raise ValueError("parse_datetime needs at least one format")

    def one(text: pl.Expr, fmt: str) -> pl.Expr:
        has_offset = "%z" in fmt or "%:z" in fmt or "%#z" in fmt
        if not _has_time(fmt):
            parsed = _strptime(text, pl.Date, fmt).cast(pl.Datetime("us"))
        elif has_offset:
            parsed = _as_utc(text, fmt)
        else:
            parsed = _strptime(text, pl.Datetime("us"), fmt)
        if has_offset and time_zone is not None:
            zoned = parsed.dt.replace_time_zone("UTC").dt.convert_time_zone(time_zone)
            return zoned.dt.replace_time_zone(None) if wall_clock else zoned
        if time_zone is not None and not wall_clock:
            return parsed.dt.replace_time_zone(time_zone, ambiguous="earliest", non_existent="null")
        return parsed

    def build(expr: pl.Expr) -> pl.Expr:
        text = _text(expr)
        text = pl.when(text.str.len_chars() <= 64).then(text)
        return pl.coalesce([one(text, fmt) for fmt in chosen])

    return build
