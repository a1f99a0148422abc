"""A month's file typed in one streaming DuckDB statement: the fast path of :func:`~caseworks_assets.support.changes.typed_changes`.

One ``COPY (query) TO`` Parquet reads the CSV, numbers its records, normalizes
the action, types every value and writes the typed change rows, with the
lossless repairs made inside the same statement (no Python per row):

* clean values -- ``...Z`` instants, plain numbers, ratings ``1``-``5``,
  unpadded text -- are read as they are;
* the repairs real exports need most -- an instant with an explicit
  ``+hh:mm``/``-hh:mm`` offset, ``4.0`` for a rating, a padded number, a blank
  for an optional value -- are read *and* listed per row (rule, column, what was
  read, what it was read as, the raw record), which the quarantine shows as
  warnings and the metadata counts, exactly as the polars engine records them.

Anything else in a file -- a row a rule would quarantine, an unreadable
optional value, a repair other than those above, an id repeated in the file,
a record spanning lines, a CSV DuckDB will not read -- makes this path decline
the whole file (:func:`fast_changes` returns ``None``) and the caller types it
with the polars rule engine, which knows every rule. The two give the same
rows, counts and warnings on what this path accepts (see
``test_support_month_sql.py``); a delivery as dirty as the product's sample
(2 % of values repaired) stays on this path.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from caseworks_assets.quality.repairs import EXAMPLES, RepairLog
from caseworks_assets.support.layout import RawFile, TableSpec

#: Columns of the typed change files besides the state's: the change, its line, and (fast path) its repairs.
ACTION, LINE, REPAIRS, RAW = "action", "_source_line", "__repairs", "__raw"

_WHITESPACE = r"[\t-\r \x{85}\pZ]"
_PADDED = f"^{_WHITESPACE}|{_WHITESPACE}$"
_Z_INSTANT = "____-__-__T__:__:__Z"
_NUMBER = r"[0-9]+(\.[0-9]+)?"
#: Shaped like an instant or a number somewhere (padded, signed, fractions, offsets): only the polars readers decide.
_INSTANTISH = rf"{_WHITESPACE}*[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}.*"
_NUMBERISH = rf"{_WHITESPACE}*[+-]?[0-9]*[.,]?[0-9]*{_WHITESPACE}*"


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _padded(r: str) -> str:
    return f"regexp_matches({r}, {sql_text(_PADDED)})"


@dataclass(frozen=True)
class _Column:
    """How one column of add/update rows is typed: its value, its repair marks, and when it is beyond this path.

    ``warned``: the condition under which an optional value is unreadable by any
    reader (``n/a`` for a rating), so the value is nulled with a warning.
    """

    value: str
    marks: dict[str, str]  # rule -> condition
    hard: str
    warned: str = "false"


def _instant(r: str, required: bool) -> _Column:
    fast = f"CASE WHEN {r} LIKE '{_Z_INSTANT}' THEN try_strptime({r}, '%Y-%m-%dT%H:%M:%SZ')::TIMESTAMPTZ END"
    offset = f"({r} LIKE '____-__-__T__:__:__+__:__' OR {r} LIKE '____-__-__T__:__:__-__:__')"
    value = f"coalesce({fast}, CASE WHEN {offset} THEN try_cast({r} AS TIMESTAMPTZ) END)"
    blank = f"({r} IS NOT NULL AND trim({r}) = '')"
    marks = {"utc_offset": f"({offset} AND {value} IS NOT NULL)", "blank_to_null": blank}
    if required:
        return _Column(value, marks, f"({value} IS NULL)")
    # text no reader of instants reads (not even shaped like one) is nulled with a warning
    warned = f"({r} IS NOT NULL AND {value} IS NULL AND NOT {blank} AND NOT regexp_full_match({r}, {sql_text(_INSTANTISH)}))"
    return _Column(value, marks, f"({value} IS NULL AND {r} IS NOT NULL AND NOT {blank} AND NOT {warned})", warned)


def _number(r: str) -> _Column:
    stripped = f"trim({r})"
    clean = f"regexp_full_match({r}, '{_NUMBER}')"
    trimmed = f"(NOT {clean} AND regexp_full_match({stripped}, '{_NUMBER}'))"
    value = f"CASE WHEN {clean} THEN {r}::DOUBLE WHEN {trimmed} THEN {stripped}::DOUBLE END"
    blank = f"({r} IS NOT NULL AND {stripped} = '')"
    return _Column(value, {"trimmed": trimmed, "blank_to_null": blank}, f"({r} IS NOT NULL AND {value} IS NULL AND NOT {blank})")


def _rating(r: str) -> _Column:
    stripped = f"trim({r})"
    ratings = "('1', '2', '3', '4', '5')"
    integral = f"regexp_full_match({r}, '[1-5]\\.0*')"
    trimmed = f"({r} NOT IN {ratings} AND {stripped} IN {ratings})"
    digits = f"regexp_full_match({r}, '[0-9]{{1,18}}')"
    in_range = f"coalesce(try_cast({r} AS BIGINT) BETWEEN 1 AND 5, false)"
    value = (
        f"CASE WHEN {r} IN {ratings} THEN {r}::BIGINT WHEN {digits} AND {in_range} THEN try_cast({r} AS BIGINT) "
        f"WHEN {integral} THEN left({r}, 1)::BIGINT WHEN {trimmed} THEN {stripped}::BIGINT END"
    )
    blank = f"({r} IS NOT NULL AND {stripped} = '')"
    marks = {"integral_decimal": integral, "trimmed": trimmed, "blank_to_null": blank}
    # a whole number out of 1-5, or text that reads as no number at all: nulled with a warning
    warned = (
        f"({r} IS NOT NULL AND {r} NOT IN {ratings} AND (({digits} AND NOT {in_range}) "
        f"OR NOT regexp_full_match({r}, {sql_text(_NUMBERISH)})))"
    )
    return _Column(value, marks, f"({r} IS NOT NULL AND {value} IS NULL AND NOT {blank} AND NOT {warned})", warned)


def _text(r: str, lower: bool) -> _Column:
    # padded or blank text is trimmed with a warning by the polars engine: left to it
    value = f"lower({r})" if lower else r
    return _Column(value, {}, f"({r} IS NOT NULL AND ({r} = '' OR {_padded(r)}))")


#: Kinds of typed columns this path reads, by table: tables with other readers (e.g. a date) use the polars engine.
def supported(spec: TableSpec) -> bool:
    from caseworks_assets.support.changes import NUMERIC, parsers

    return not parsers(spec) and set(NUMERIC.get(spec.name, {})) <= {"call_duration_minutes", "satisfaction_rating"}


def _warn_rules(spec: TableSpec) -> dict[str, tuple[str, str]]:
    """Column -> (rule, reason) of the rules that null an unreadable optional value with a warning."""
    from caseworks_assets.quality import Action
    from caseworks_assets.support.changes import value_rules

    return {rule.column: (rule.name, rule.describe()) for rule in value_rules(spec) if rule.action is Action.WARN}


def rule_names(spec: TableSpec) -> list[str]:
    """Every rule the polars engine counts for ``spec``'s table (all zero on a clean file)."""
    from caseworks_assets.support.changes import ENTRY_RULES, _key_rule, value_rules

    return [rule.name for rule in (*ENTRY_RULES, _key_rule(spec), *value_rules(spec))] + ["superseded"]


def _columns(spec: TableSpec) -> dict[str, _Column]:
    typed: dict[str, _Column] = {}
    for name in spec.columns:
        if name == spec.key:
            continue
        r = quoted(name)
        if name in spec.timestamps:
            typed[name] = _instant(r, required=name in spec.required)
        elif name == "call_duration_minutes":
            typed[name] = _number(r)
        elif name == "satisfaction_rating":
            typed[name] = _rating(r)
        else:
            typed[name] = _text(r, lower=name == "channel")
    return typed


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [name.strip() for name in next(csv.reader(handle), [])]


def _repaired_text(name: str, spec: TableSpec) -> str:
    """What a repaired value was read as, written as the polars engine writes it."""
    value = f"v_{name}"
    if name in spec.timestamps:
        return f"strftime({value}, '%Y-%m-%d %H:%M:%S.%f+00:00')"
    return f"{value}::VARCHAR"


def changes_query(spec: TableSpec, raw: RawFile) -> str:
    """The ``SELECT`` typing ``raw`` (see the module docstring); columns: state, action, line, repairs, raw record, hard."""
    assert raw.path is not None
    header = _header(raw.path)
    columns = "{" + ", ".join(f"{sql_text(name)}: 'VARCHAR'" for name in header) + "}"
    source = (
        f"read_csv({sql_text(str(raw.path))}, header = true, columns = {columns}, delim = ',', quote = '\"', "
        "escape = '\"', auto_detect = false, strict_mode = true)"
    )
    action = "'add'" if raw.initial else f"lower(trim({quoted('action')}))"
    typed = _columns(spec)
    key = quoted(spec.key)
    is_upsert = "a <> 'delete'"
    level2 = [
        "*",
        f"{action} AS a",
        f"CASE WHEN {key} IS NULL OR {_padded(key)} OR {key} = '' THEN NULL ELSE {key} END AS k",
        *(f"{column.value} AS v_{name}" for name, column in typed.items()),
    ]
    warn_rules = _warn_rules(spec)
    # (rule, column, condition, reason): the lossless repairs (reason written later), then the warnings
    marks: list[tuple[str, str, str, str | None]] = [
        (rule, name, condition, None) for name, column in typed.items() for rule, condition in column.marks.items()
    ] + [
        (warn_rules[name][0], name, column.warned, warn_rules[name][1])
        for name, column in typed.items()
        if column.warned != "false"
    ]
    level3 = [
        "*",
        *(f"({condition}) AS m_{i}" for i, (_, _, condition, _) in enumerate(marks)),
        "(k IS NULL OR a NOT IN ('add', 'update', 'delete') OR (a <> 'delete' AND ("
        + " OR ".join(f"coalesce({column.hard}, false)" for column in typed.values())
        + "))) AS hard",
    ]
    any_mark = " OR ".join(f"coalesce(m_{i}, false)" for i in range(len(marks))) or "false"
    entries = ", ".join(
        f"CASE WHEN m_{i} THEN {{'rule': {sql_text(rule)}, 'column': {sql_text(name)}, "
        f"'original': {quoted(name)}, 'repaired': {'NULL' if reason else _repaired_text(name, spec)}, "
        f"'reason': {sql_text(reason) if reason else 'NULL'}}} END"
        for i, (rule, name, _, reason) in enumerate(marks)
    )
    raw_columns = ", ".join(
        f"{sql_text(name)}: {'a_raw' if name == 'action' else quoted(name)}" for name in spec.delta_columns
    )
    final = [
        f"k AS {key}",
        *(f"CASE WHEN {is_upsert} THEN v_{name} END AS {quoted(name)}" for name in typed),
        f"a AS {ACTION}",
        f"{LINE}",
        f"CASE WHEN {is_upsert} AND ({any_mark}) THEN list_filter([{entries}], x -> x IS NOT NULL) END AS {REPAIRS}",
        f"CASE WHEN {is_upsert} AND ({any_mark}) THEN to_json({{{raw_columns}}}) END AS {RAW}",
        "hard AS __hard",
    ]
    raw_action = "'add'" if raw.initial else quoted("action")
    return (
        f"SELECT {', '.join(final)} FROM (SELECT {', '.join(level3)} FROM (SELECT {', '.join(level2)}, "
        f"{raw_action} AS a_raw FROM (SELECT *, row_number() OVER () + 1 AS {LINE} FROM {source})))"
    )


_WARNINGS = {
    "line": pl.Int64,
    "rule": pl.String,
    "column": pl.String,
    "reason": pl.String,
    "raw_record": pl.String,
    "severity": pl.String,
}


@dataclass
class FastChanges:
    """What the fast path learned about a file it typed (the rows themselves are in its Parquet file)."""

    rows_read: int
    per_action: dict[str, int]
    repairs: RepairLog
    warnings: pl.DataFrame  # quarantine-shaped (line, rule, column, reason, raw_record, severity)
    counts: dict[str, int]  # per rule, as the polars engine counts them

    def metadata(self) -> dict[str, object]:
        """The month's typing figures, under the names :meth:`~caseworks_assets.support.changes.Changes.metadata` uses."""
        import dagster as dg

        repairs = self.repairs.metadata()
        return {
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_read,
            "rows_quarantined": 0,
            "values_warned": int((~self.warnings["rule"].str.starts_with("repaired_")).sum()),
            **{f"rule/{name}": count for name, count in sorted(self.counts.items())},
            **{k: v for k, v in repairs.items() if k != "repairs"},
            "repairs": dg.MetadataValue.json(repairs["repairs"]),
        }


def fast_changes(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, raw: RawFile, target: Path, compression: str
) -> FastChanges | None:
    """Type ``raw`` into ``target`` (Parquet) in one statement; ``None`` when the file needs the polars engine."""
    from caseworks_assets.support.changes import _line_count

    if raw.path is None or not supported(spec):
        return None
    try:
        con.execute(f"COPY ({changes_query(spec, raw)}) TO {sql_text(str(target))} (FORMAT parquet, COMPRESSION {compression})")
    except duckdb.Error:
        return None  # malformed, not UTF-8, ...: the polars engine reads it and names the file and line
    typed = f"read_parquet({sql_text(str(target))})"
    key = quoted(spec.key)
    rows, hard, distinct, marked = con.execute(
        f"SELECT count(*), count(*) FILTER (__hard), count(DISTINCT hash({key})), count({REPAIRS}) FROM {typed}"
    ).fetchone()
    if hard or distinct < rows:
        return None  # a rule to apply, or an id to de-duplicate (or a hash collision): the polars engine decides
    if marked and _line_count(raw.path) > rows + 1:
        return None  # a record spans lines: the polars engine numbers physical lines
    per_action = dict(con.execute(f"SELECT {ACTION}, count(*) FROM {typed} GROUP BY ALL").fetchall())
    counts = dict.fromkeys(rule_names(spec), 0)
    repairs = RepairLog()
    if marked:
        listed = con.execute(
            f"""SELECT r.rule, r."column", count(*) AS n,
                   list(r.original ORDER BY {LINE}) FILTER (WHERE rank <= {EXAMPLES}) AS originals,
                   list(coalesce(r.repaired, 'null') ORDER BY {LINE}) FILTER (WHERE rank <= {EXAMPLES}) AS repaired
                FROM (SELECT {LINE}, r, row_number() OVER (PARTITION BY r.rule, r."column" ORDER BY {LINE}) AS rank
                      FROM (SELECT {LINE}, unnest({REPAIRS}) AS r FROM {typed} WHERE {REPAIRS} IS NOT NULL))
                WHERE r.reason IS NULL GROUP BY ALL"""
        ).fetchall()
        counts |= dict(
            con.execute(
                f"SELECT r.rule, count(*) FROM (SELECT unnest({REPAIRS}) AS r FROM {typed} WHERE {REPAIRS} IS NOT NULL) "
                "WHERE r.reason IS NOT NULL GROUP BY ALL"
            ).fetchall()
        )
        for rule, column, count, originals, repaired in listed:
            repairs.counts[(rule, column)] = count
            repairs.examples[(rule, column)] = [f"{o!r} -> {r}" for o, r in zip(originals, repaired, strict=True)]
    if not marked:
        return FastChanges(rows, per_action, repairs, pl.DataFrame(schema=_WARNINGS), counts)
    warnings = con.execute(
        f"""SELECT {LINE}::BIGINT AS line,
               CASE WHEN r.reason IS NULL THEN 'repaired_' || r.rule ELSE r.rule END AS rule, r."column" AS "column",
               coalesce(r.reason, '''' || r.original || ''' read as ' || coalesce(r.repaired, 'null')) AS reason,
               {RAW} AS raw_record, 'warning' AS severity
            FROM (SELECT {LINE}, {RAW}, unnest({REPAIRS}) AS r FROM {typed} WHERE {REPAIRS} IS NOT NULL)
            ORDER BY line, "column", rule"""
    ).pl()
    warnings = warnings.cast(_WARNINGS)
    return FastChanges(rows, per_action, repairs, warnings, counts)
