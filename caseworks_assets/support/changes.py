"""From a month's raw rows to typed changes, and from changes to the next state.

Two business rules live here:

* **Typing** (``typed_changes``): the action is normalized (``" Update"`` ->
  ``update``) and must be add/update/delete; the id must be present; on add and
  update rows the timestamps (UTC ``...Z``) become ``America/New_York`` and the
  numbers are read. A delete row only needs its id. A row that breaks a rule
  goes to quarantine with its file, line and raw record; within one file the
  last row of an id wins and earlier ones are quarantined as superseded. Every
  row read ends in exactly one of the two outputs.
* **Applying** (``apply_changes``): anti-join the previous state on the changed
  ids, then append the added and updated rows; deletes just drop. Deletes and
  updates of ids the state does not hold are counted for the checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg
import polars as pl

from caseworks_assets.quality import Action, Dedupe, QualityResult, Rule, apply_rules, empty_quarantine, may_repeat
from caseworks_assets.quality.rules import ExprFn
from caseworks_assets.quality.validators import parse_date
from caseworks_assets.support.layout import ACTIONS, EASTERN, SOURCE_FILE, SOURCE_LINE, TableSpec
from caseworks_assets.support.schemas import STATE_SCHEMAS

UTC_FORMAT = "%Y-%m-%dT%H:%M:%S%.fZ"
#: The form the sources write (whole seconds): polars parses it on a fast path, four times quicker than UTC_FORMAT.
UTC_WHOLE_SECONDS = "%Y-%m-%dT%H:%M:%SZ"
UTC = pl.Datetime("us", "UTC")


def _parse_utc_series(text: pl.Series) -> pl.Series:
    """Every value through the fast whole-seconds parser; only the values it leaves null through UTC_FORMAT.

    Same result as parsing everything with UTC_FORMAT (after stripping spaces):
    the fast format accepts a subset of what UTC_FORMAT accepts, with the same
    value, and what it does not read (fractions, trailing spaces, garbage) is
    parsed again by the general one, a few rows instead of millions.
    """
    # no cache: timestamps are nearly all distinct, and hashing them costs as much as parsing them again
    parsed = text.str.to_datetime(UTC_WHOLE_SECONDS, time_unit="us", time_zone="UTC", strict=False, cache=False)
    retry = parsed.is_null() & text.is_not_null()
    if retry.any():
        again = text.filter(retry).str.strip_chars()
        parsed = parsed.scatter(
            retry.arg_true(), again.str.to_datetime(UTC_FORMAT, time_unit="us", time_zone="UTC", strict=False)
        )
    return parsed


def parse_utc(expr: pl.Expr) -> pl.Expr:
    """A UTC text timestamp (``2025-03-09T06:30:00Z``, fractions allowed) as a UTC instant, or null if unreadable.

    One strict format, straight to polars' parser: this runs on every timestamp
    of every row, and the sources write exactly this ISO form (see
    :func:`_parse_utc_series` for the fast path that makes that cheap).
    """
    return expr.cast(pl.String).map_batches(_parse_utc_series, return_dtype=UTC, is_elementwise=True)


def to_eastern(expr: pl.Expr) -> pl.Expr:
    """A UTC text timestamp in the contact centers' wall time, DST-aware."""
    return parse_utc(expr).dt.convert_time_zone(EASTERN)


def _stripped(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars()


def _is_action(expr: pl.Expr) -> pl.Expr:
    return expr.is_in(ACTIONS)


def _non_empty(expr: pl.Expr) -> pl.Expr:
    return expr.str.len_chars() > 0


def _duration(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().cast(pl.Float64, strict=False)


def _rating(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().cast(pl.Int64, strict=False)


def _lower(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().str.to_lowercase()


ENTRY_RULES = (
    Rule(
        "bad_action",
        "action",
        repair=_lower,
        valid=_is_action,
        required=True,
        reason="action is not add, update or delete",
    ),
)


def _key_rule(spec: TableSpec) -> Rule:
    return Rule(
        "missing_id", spec.key, repair=_stripped, valid=_non_empty, required=True, reason=f"{spec.key} is empty"
    )


def typed_name(column: str) -> str:
    """Name of the typed companion of a text column while the rules run."""
    return f"__typed_{column}"


def parsers(spec: TableSpec) -> dict[str, ExprFn]:
    """How each typed column of ``spec``'s table is read from its text."""
    readers: dict[str, ExprFn] = dict.fromkeys(spec.timestamps, to_eastern)
    if spec.name == "interactions":
        readers |= {"call_duration_minutes": _duration, "satisfaction_rating": _rating}
    if spec.name == "agents":
        readers["hire_date"] = parse_date(["%Y-%m-%d"], iso=False)
    return readers


def _typed(column: str) -> pl.Expr:
    return pl.col(typed_name(column))


def value_rules(spec: TableSpec) -> list[Rule]:
    """The typing rules of add/update rows of ``spec``'s table.

    Typed values are parsed once into ``__typed_<column>`` companions (see
    :func:`parsers`) and the rules test them, so a text value that does not
    read (non-null text, null typed value) or breaks a range quarantines its
    row, and a missing value is fine unless the column is required.
    """
    rules = [
        Rule(
            f"unparseable_{column}",
            column,
            valid=lambda _text, column=column: _typed(column).is_not_null(),
            required=column in spec.required,
            reason=f"{column} is missing or not a UTC timestamp (YYYY-MM-DDTHH:MM:SSZ)",
        )
        for column in spec.timestamps
    ]
    if spec.name == "interactions":
        rules += [
            Rule(
                "bad_call_duration",
                "call_duration_minutes",
                valid=lambda _text: (_typed("call_duration_minutes") >= 0).fill_null(False),
                reason="call_duration_minutes is not a non-negative number",
            ),
            Rule(
                "bad_satisfaction_rating",
                "satisfaction_rating",
                valid=lambda _text: _typed("satisfaction_rating").is_between(1, 5).fill_null(False),
                reason="satisfaction_rating is not an integer 1-5",
            ),
            Rule("channel", "channel", repair=_lower, action=Action.REPAIR),
        ]
    if spec.name == "agents":
        rules.append(
            Rule(
                "bad_hire_date",
                "hire_date",
                valid=lambda _text: _typed("hire_date").is_not_null(),
                reason="hire_date is not YYYY-MM-DD",
            )
        )
    id_columns = [c for c in spec.columns if c.endswith("_id") and c != spec.key]
    rules += [Rule(f"trim_{c}", c, repair=_stripped, action=Action.REPAIR) for c in id_columns]
    return rules


#: Rows per call of the rule engine: its working copies (raw records as JSON,
#: one column per rule) are bounded by a chunk instead of by the whole file.
CHUNK_ROWS = 250_000


def apply_rules_chunked(
    frame: pl.DataFrame,
    rules: list[Rule],
    chunk_rows: int = CHUNK_ROWS,
    prepare: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    finish: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> QualityResult:
    """:func:`apply_rules` over slices of ``frame``; row-local rules give the same result, in bounded memory.

    ``prepare`` runs on each slice before the rules (e.g. parsing typed
    columns), ``finish`` on each slice's clean rows (e.g. keeping only the
    typed columns), so the full-width intermediate never exists for the whole
    file. Row numbers stay global (the row index in ``frame``).
    """
    parts = []
    for offset in range(0, max(frame.height, 1), chunk_rows):
        chunk = frame.slice(offset, chunk_rows)
        result = apply_rules(prepare(chunk) if prepare else chunk, rules, row_number_offset=offset)
        if finish:
            result.clean = finish(result.clean)
        parts.append(result)
    counts: dict[str, int] = {}
    for part in parts:
        for name, count in part.counts.items():
            counts[name] = counts.get(name, 0) + count
    return QualityResult(
        clean=pl.concat([part.clean for part in parts]),
        quarantine=pl.concat([part.quarantine for part in parts]),
        counts=counts,
        rows_read=frame.height,
    )


def _relined(result: QualityResult, frame: pl.DataFrame) -> pl.DataFrame:
    """Quarantine rows numbered by ``frame``'s row index, renumbered by source line."""
    lines = frame.select(pl.col(SOURCE_LINE)).with_row_index("__index").with_columns(pl.col("__index").cast(pl.Int64))
    return (
        result.quarantine.join(lines, left_on="row_number", right_on="__index", how="left")
        .with_columns(pl.col(SOURCE_LINE).alias("row_number"))
        .drop(SOURCE_LINE)
    )


@dataclass
class Changes:
    """One month's typed changes of one table and what was rejected on the way."""

    rows: pl.DataFrame
    quarantine: pl.DataFrame
    rows_read: int
    counts: dict[str, int] = field(default_factory=dict)

    def metadata(self) -> dict[str, int]:
        return {
            "rows_read": self.rows_read,
            "rows_loaded": self.rows.height,
            "rows_quarantined": self.quarantine.height,
            **{f"rule/{name}": count for name, count in sorted(self.counts.items()) if ":" not in name},
        }


def _sum_counts(total: dict[str, int], part: dict[str, int]) -> None:
    for name, count in part.items():
        total[name] = total.get(name, 0) + count


def typed_changes(spec: TableSpec, raw: pl.DataFrame | pl.LazyFrame, chunk_rows: int = CHUNK_ROWS) -> Changes:
    """Type ``raw`` (text rows with source file and line) into changes; see the module docstring.

    The action/id rules and the de-duplication run on narrow frames (id, action,
    line) and the raw record of a quarantined row is taken from ``raw`` by its
    line at the end, so only the typing rules see every column, ``chunk_rows``
    rows at a time. With ``raw`` a lazy scan of the month's raw Parquet, the
    file's text is therefore never in memory as a whole: only the narrow
    columns, one chunk and the typed rows are.
    """
    source = raw.lazy()
    narrow = source.select("action", spec.key, SOURCE_LINE).collect().with_row_index("__index")
    rows_read = narrow.height
    source_file = source.select(pl.col(SOURCE_FILE).first()).collect().item() if rows_read else ""
    entry = apply_rules_chunked(narrow, [*ENTRY_RULES, _key_rule(spec)])
    quarantines = [_relined(entry, narrow)]
    counts = dict(entry.counts)
    del narrow
    # entry.clean keeps raw's order; ``__index`` (the row in raw) ties its rows to each chunk of raw.
    entered_index = entry.clean["__index"]

    is_delete = pl.col("action") == "delete"
    readers = parsers(spec)
    state_schema = STATE_SCHEMAS[spec.name]
    rules = value_rules(spec)
    delete_parts: list[pl.DataFrame] = []
    upsert_parts: list[pl.DataFrame] = []
    upsert_counts: dict[str, int] = {}
    for offset in range(0, max(rows_read, 1), chunk_rows):
        chunk = source.slice(offset, chunk_rows).drop(SOURCE_FILE).collect()
        first, last = entered_index.search_sorted(pl.Series([offset, offset + chunk_rows])).to_list()
        entered = entry.clean.slice(first, last - first)
        if entered.height < chunk.height:  # rows that failed the action/id rules stay out
            chunk = chunk.filter(pl.int_range(offset, offset + pl.len()).is_in(entered["__index"].implode()))
        chunk = chunk.with_columns(entered["action"], entered[spec.key])
        # an initial extract is all adds: skip copying the whole chunk through a filter then
        has_deletes = bool(chunk.select(is_delete.any()).item())
        delete_parts.append(
            (chunk.filter(is_delete) if has_deletes else chunk.clear()).select(
                pl.col(spec.key),
                *(pl.lit(None, dtype=dtype).alias(name) for name, dtype in state_schema.items() if name != spec.key),
                pl.col("action"),
                pl.col(SOURCE_LINE),
            )
        )
        upserts_raw = chunk.filter(~is_delete) if has_deletes else chunk
        del chunk
        upserts = apply_rules(
            upserts_raw.with_columns(
                reader(pl.col(column)).alias(typed_name(column)) for column, reader in readers.items()
            ),
            rules,
            row_number_offset=0,
        )
        quarantines.append(_relined(upserts, upserts_raw))
        _sum_counts(upsert_counts, upserts.counts)
        upsert_parts.append(
            upserts.clean.select(
                *(
                    (_typed(name) if name in readers else pl.col(name)).cast(dtype).alias(name)
                    for name, dtype in state_schema.items()
                ),
                pl.col("action"),
                pl.col(SOURCE_LINE),
            )
        )
        del upserts, upserts_raw
    counts |= upsert_counts
    del entry, entered_index

    combined = pl.concat([pl.concat(delete_parts), pl.concat(upsert_parts)])
    del delete_parts, upsert_parts
    # Only ids that occur more than once in the file can be superseded: de-duplicate just those rows
    # (ruling out repeats first is much cheaper than marking duplicates, and most files have none).
    ids = combined.select(spec.key, "action", SOURCE_LINE)
    repeated = ids.filter(pl.col(spec.key).is_duplicated()) if may_repeat(ids[spec.key]) else ids.clear()
    latest = apply_rules(
        repeated, dedupe=Dedupe(keys=[spec.key], order_by=SOURCE_LINE, name="superseded"), row_number_offset=0
    )
    superseded = _relined(latest, repeated)
    quarantines.append(superseded)
    counts |= latest.counts
    # An id added and then updated in the same file is, for the state, an add.
    added = repeated.filter(pl.col("action") == "add")[spec.key]
    if superseded.height:
        combined = combined.filter(~pl.col(SOURCE_LINE).is_in(superseded["row_number"].implode()))
    rows = (
        combined.with_columns(
            pl.when((pl.col("action") == "update") & pl.col(spec.key).is_in(added.implode()))
            .then(pl.lit("add"))
            .otherwise(pl.col("action"))
            .alias("action")
        )
        if added.len()
        else combined
    )
    del combined

    quarantine = pl.concat(quarantines) if quarantines else empty_quarantine()
    raw_records = (
        source.filter(pl.col(SOURCE_LINE).is_in(quarantine["row_number"].implode()))
        .select(
            pl.col(SOURCE_LINE).alias("row_number"),
            pl.struct([pl.col(c) for c in spec.delta_columns]).struct.json_encode().alias("raw_record"),
        )
        .collect(engine="streaming")
    )
    quarantine = (
        quarantine.drop("raw_record")
        .join(raw_records, on="row_number", how="left")
        .sort("row_number")
        .select(
            pl.lit(spec.name).alias("table"),
            pl.lit(source_file).alias("source_file"),
            pl.col("row_number").alias("line"),
            "rule",
            "column",
            "reason",
            "raw_record",
        )
    )
    return Changes(rows=rows, quarantine=quarantine, rows_read=rows_read, counts=counts)


def apply_changes(previous: pl.DataFrame, changes: pl.DataFrame, key: str) -> tuple[pl.DataFrame, dict[str, int]]:
    """The state after ``changes``: upsert add/update rows by ``key``, drop deleted ids; plus what happened."""
    action = pl.col("action")
    upserts = changes.filter(action != "delete")
    # One probe of the previous ids (millions) against the changed ids (a month's worth): the mask
    # drops the changed rows and its hits are the changed ids the state already holds, counted per action.
    changed = (
        previous.select(pl.col(key).is_in(changes[key].implode()).alias("changed"))["changed"]
        if previous.height  # the initial extract: no need to hash its millions of ids to find none of them
        else pl.Series("changed", [], dtype=pl.Boolean)
    )
    known_ids = previous.select(key).filter(changed)
    per_action = dict(changes.group_by("action").len().iter_rows())
    known = dict(changes.select(key, "action").join(known_ids, on=key, how="semi").group_by("action").len().iter_rows())
    stats = {
        "adds": per_action.get("add", 0),
        "updates": per_action.get("update", 0),
        "deletes": per_action.get("delete", 0),
        "unknown_deletes": per_action.get("delete", 0) - known.get("delete", 0),
        "unknown_updates": per_action.get("update", 0) - known.get("update", 0),
        "adds_of_existing_ids": known.get("add", 0),
    }
    state = pl.concat([previous.filter(~changed), upserts.select(previous.columns)])
    stats |= {"rows_before": previous.height, "rows_after": state.height}
    return state, stats


def quarantine_schema() -> dict[str, pl.DataType]:
    """Columns of the case's quarantine rows (before the month column is added)."""
    return {
        "table": pl.String,
        "source_file": pl.String,
        "line": pl.Int64,
        "rule": pl.String,
        "column": pl.String,
        "reason": pl.String,
        "raw_record": pl.String,
    }


def unique_key_result(frame: pl.DataFrame, key: str, asset_key: dg.AssetKey | None = None) -> dg.AssetCheckResult:
    """``unique_<key>``: each id once in the state (deltas are upserts by id), evaluated as the state is built."""
    ids = frame[key]
    duplicates = (  # the exact detail only when the cheap test cannot rule duplicates out
        frame.group_by(key).len().filter(pl.col("len") > 1).sort(key)
        if may_repeat(ids)
        else pl.DataFrame(schema={key: ids.dtype, "len": pl.UInt32})
    )
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=f"unique_{key}",
        passed=duplicates.is_empty(),
        metadata={
            "rows": frame.height,
            "duplicate_ids": duplicates.height,
            "sample": ", ".join(duplicates[key].head(10).cast(pl.String).to_list()),
        },
        description=f"{duplicates.height} duplicated {key} value(s)",
    )
