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

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from caseworks_assets.quality import Action, Dedupe, QualityResult, Rule, apply_rules, empty_quarantine, may_repeat
from caseworks_assets.quality.repairs import Kind, RepairLog, Severity, read_column, read_instant, repair_rows
from caseworks_assets.quality.rules import ExprFn, raw_record_expr
from caseworks_assets.quality.validators import parse_date
from caseworks_assets.support.layout import ACTIONS, EASTERN, SOURCE_FILE, SOURCE_LINE, RawFile, TableSpec
from caseworks_assets.support.schemas import STATE_SCHEMAS, TABLE_COLUMNS

#: The form the sources write (whole seconds): polars parses it on a fast path, four times quicker than a general one.
UTC_WHOLE_SECONDS = "%Y-%m-%dT%H:%M:%SZ"
UTC = pl.Datetime("us", "UTC")


def _fast_utc(expr: pl.Expr) -> pl.Expr:
    # no cache: timestamps are nearly all distinct, and hashing them costs as much as parsing them again
    return expr.cast(pl.String).str.to_datetime(
        UTC_WHOLE_SECONDS, time_unit="us", time_zone="UTC", strict=False, cache=False
    )


def _read_again(text: pl.Series, parsed: pl.Series) -> pl.Series:
    """``parsed`` with the values the fast parser left null (though ``text`` has one) read with :func:`read_instant`."""
    retry = parsed.is_null() & text.is_not_null()
    if not retry.any():
        return parsed
    again = text.filter(retry).to_frame().select(read_instant(pl.col(text.name))).to_series()
    return parsed.scatter(retry.arg_true(), again)


def _parse_utc_series(text: pl.Series) -> pl.Series:
    """Every value through the fast whole-seconds parser; only the values it leaves null through :func:`read_instant`.

    Same result as :func:`read_instant` on everything: the fast format accepts a
    subset of what it accepts, with the same value, and what it does not read
    (fractions, offsets, surrounding spaces, garbage) is read again by the
    general one, a few rows instead of millions.
    """
    return _read_again(text, text.to_frame().select(_fast_utc(pl.col(text.name))).to_series())


def with_eastern_instants(frame: pl.DataFrame, targets: dict[str, str], log: RepairLog | None = None) -> pl.DataFrame:
    """``frame`` plus each text column ``source`` read as an Eastern instant into ``targets[source]``.

    The values :func:`to_eastern` gives, computed the fast way for a frame:
    every column through the fast parser at once (polars runs them in
    parallel, with no Python in between), then the repairing reader
    (:func:`~caseworks_assets.quality.repairs.read_instant`: offsets, fractions,
    blanks) only for the values of a column it left unread, counted in ``log``.
    A blank source becomes null, so the rules see it as missing.
    """
    if not targets:
        return frame
    parsed = frame.with_columns(_fast_utc(pl.col(source)).alias(target) for source, target in targets.items())
    unread = parsed.select(
        (pl.col(target).is_null() & pl.col(source).is_not_null()).any().alias(target)
        for source, target in targets.items()
    ).row(0, named=True)
    for source, target in targets.items():
        if unread[target]:
            retry = parsed.select(pl.col(target).is_null() & pl.col(source).is_not_null()).to_series()
            parsed = repair_rows(parsed, retry, source, target, Kind.INSTANT, log=log)
    return parsed.with_columns(pl.col(target).dt.convert_time_zone(EASTERN) for target in targets.values())


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


#: Numeric columns, read by a strict cast first and repaired only where it fails (``5.0``, `` 5 ``, blank).
NUMERIC: dict[str, dict[str, Kind]] = {
    "interactions": {"call_duration_minutes": Kind.NUMBER, "satisfaction_rating": Kind.INTEGER},
}


def parsers(spec: TableSpec) -> dict[str, ExprFn]:
    """How each typed column of ``spec``'s table other than its timestamps and numbers is read from its text.

    Timestamps are read by :func:`with_eastern_instants`, as :func:`to_eastern`
    reads them; numbers by :func:`~caseworks_assets.quality.repairs.read_column` (see :data:`NUMERIC`).
    """
    readers: dict[str, ExprFn] = {}
    if spec.name == "agents":
        readers["hire_date"] = parse_date(["%Y-%m-%d"], iso=False)
    return readers


def severity(spec: TableSpec, column: str) -> Severity:
    """The column contract's severity of ``column`` (see :data:`~caseworks_assets.support.schemas.TABLE_COLUMNS`)."""
    return next(col.severity for col in TABLE_COLUMNS[spec.name] if col.name == column)


def _action(spec: TableSpec, column: str) -> Action:
    return Action.WARN if severity(spec, column) is Severity.WARNING else Action.QUARANTINE


def text_columns(spec: TableSpec) -> list[str]:
    """Text columns of add/update rows other than the key: trimmed, blank = null before the rules."""
    typed = {*spec.timestamps, *parsers(spec), *NUMERIC.get(spec.name, {})}
    return [c for c in spec.columns if c != spec.key and c not in typed]


def _typed(column: str) -> pl.Expr:
    return pl.col(typed_name(column))


def _blank(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars().str.len_chars() == 0


def value_rules(spec: TableSpec) -> list[Rule]:
    """The typing rules of add/update rows of ``spec``'s table.

    Typed values are read once into ``__typed_<column>`` companions (see
    :func:`parsers`, :data:`NUMERIC`, :func:`with_eastern_instants`; lossless
    repairs such as ``5.0`` or ``+00:00`` already made there) and the rules
    test them. A text value that still does not read (non-null text, null
    typed value) or breaks a range is a defect: for a column whose contract
    says ``error`` it quarantines the row, for ``warning`` it nulls the value
    and keeps the row with a warning. A missing value is fine unless the
    column is required.
    """
    rules = [
        Rule(
            f"unparseable_{column}",
            column,
            valid=lambda _text, column=column: _typed(column).is_not_null(),
            required=column in spec.required,
            action=_action(spec, column),
            reason=f"{column} is missing or not an ISO 8601 date-time (YYYY-MM-DDTHH:MM:SS[Z or offset])",
        )
        for column in spec.timestamps
    ]
    if spec.name == "interactions":
        rules += [
            Rule(
                "bad_call_duration",
                "call_duration_minutes",
                valid=lambda _text: (_typed("call_duration_minutes") >= 0).fill_null(False),
                action=_action(spec, "call_duration_minutes"),
                reason="call_duration_minutes is not a non-negative number",
            ),
            Rule(
                "bad_satisfaction_rating",
                "satisfaction_rating",
                valid=lambda _text: _typed("satisfaction_rating").is_between(1, 5).fill_null(False),
                action=_action(spec, "satisfaction_rating"),
                reason="satisfaction_rating is not an integer 1-5",
            ),
            Rule("channel", "channel", repair=_lower, action=Action.REPAIR),
        ]
    if spec.name == "agents":
        rules.append(
            Rule(
                "bad_hire_date",
                "hire_date",
                valid=lambda text: _typed("hire_date").is_not_null() | _blank(text),
                action=_action(spec, "hire_date"),
                reason="hire_date is not YYYY-MM-DD",
            )
        )
    return rules


#: Rows per chunk: the text rows and the rule engine's working copies (raw
#: records as JSON, one column per rule) are bounded by a chunk, not by the file.
CHUNK_ROWS = 250_000


def _relined(result: QualityResult | pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """Quarantine (or warning) rows numbered by ``frame``'s row index, renumbered by source line."""
    rows = result.quarantine if isinstance(result, QualityResult) else result
    if rows.is_empty():
        return rows
    lines = frame.select(pl.col(SOURCE_LINE)).with_row_index("__index").with_columns(pl.col("__index").cast(pl.Int64))
    return (
        rows.join(lines, left_on="row_number", right_on="__index", how="left")
        .with_columns(pl.col(SOURCE_LINE).alias("row_number"))
        .drop(SOURCE_LINE)
    )


def _with_records(quarantine: pl.DataFrame, rows: pl.DataFrame | pl.LazyFrame, spec: TableSpec) -> pl.DataFrame:
    """Quarantine rows (numbered by source line) with their record as read, from the text ``rows``."""
    if quarantine.is_empty():
        return quarantine
    records = (
        rows.lazy()
        .filter(pl.col(SOURCE_LINE).is_in(quarantine["row_number"].implode()))
        .select(pl.col(SOURCE_LINE).alias("row_number"), raw_record_expr(spec.delta_columns))
        .collect(engine="streaming")
    )
    return quarantine.drop("raw_record").join(records, on="row_number", how="left").select(quarantine.columns)


def _line_breaks(chunk: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``chunk`` with line breaks inside quoted fields, and how many: ``SOURCE_LINE``, ``breaks``."""
    texts = [name for name, dtype in chunk.schema.items() if dtype == pl.String and name != SOURCE_FILE]
    counts = [pl.col(name).str.count_matches("\n", literal=True).fill_null(0) for name in texts]
    return chunk.select(pl.col(SOURCE_LINE), pl.sum_horizontal(counts).cast(pl.Int64).alias("breaks")).filter(
        pl.col("breaks") > 0
    )


#: Bytes counted at a time when counting a file's lines.
_BLOCK_BYTES = 16 * 1024 * 1024
_NO_BREAKS = pl.DataFrame(schema={SOURCE_LINE: pl.Int64, "breaks": pl.Int64})


def _line_count(path: Path) -> int:
    """Physical lines of ``path`` (a last line without a line break counts), by C-speed block counts."""
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK_BYTES):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")


def _record_breaks(raw: RawFile | pl.DataFrame, records: int) -> pl.DataFrame:
    """The records of ``raw`` holding line breaks (see :func:`_line_breaks`), usually none.

    A file with one line per record (its line count is its records plus the
    header) has none, which a count of its line breaks shows; only a file
    that has more lines is read again to find them.
    """
    if isinstance(raw, pl.DataFrame):
        return _line_breaks(raw)
    if raw.path is None or _line_count(raw.path) <= records + 1:
        return _NO_BREAKS
    return pl.concat([_NO_BREAKS, *(_line_breaks(chunk) for chunk in raw.chunks(CHUNK_ROWS))])


def physical_lines(lines: pl.Series, breaks: pl.DataFrame) -> pl.Series:
    """Record-numbered ``lines`` (header = 1, a record per line) as the file's physical line each record starts on.

    A quoted field holding line breaks makes its record span several lines;
    every record after it starts that many lines further down. ``breaks``
    (from :func:`_line_breaks`) lists only the records that hold some, usually none.
    """
    if breaks.is_empty() or lines.is_empty():
        return lines
    ordered = breaks.sort(SOURCE_LINE)
    before = ordered[SOURCE_LINE].search_sorted(lines, side="left")  # records with breaks that come earlier
    prefix = pl.concat([pl.Series([0], dtype=pl.Int64), ordered["breaks"].cum_sum()])
    return (lines + prefix.gather(before)).alias(lines.name)


@dataclass
class Changes:
    """One month's typed changes of one table, what was rejected on the way, and what was repaired or warned.

    ``quarantine`` holds the rejected rows (``severity = error``): every row
    read is in ``rows`` or there. ``warnings`` holds values of kept rows that
    were nulled because an optional attribute was unreadable (``severity =
    warning``); ``issues`` is both, as the quarantine table stores them.
    """

    rows: pl.DataFrame | pl.LazyFrame  # lazy over the spilled files when typed with ``spill``
    quarantine: pl.DataFrame
    rows_read: int
    counts: dict[str, int] = field(default_factory=dict)
    warnings: pl.DataFrame = field(default_factory=lambda: _located(empty_quarantine(), ""))
    repairs: RepairLog = field(default_factory=RepairLog)
    #: rows per action of ``rows`` (counted as they were typed, so a lazy ``rows`` need not be read for it)
    per_action: dict[str, int] = field(default_factory=dict)

    @property
    def rows_loaded(self) -> int:
        return sum(self.per_action.values())

    @property
    def issues(self) -> pl.DataFrame:
        return pl.concat([self.quarantine, self.warnings]).sort("line", "severity", maintain_order=True)

    def metadata(self) -> dict[str, object]:
        repairs = self.repairs.metadata()
        return {
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.quarantine.height,
            # values nulled with a warning; repaired values are warnings too, counted under values_repaired
            "values_warned": int((~self.warnings["rule"].str.starts_with("repaired_")).sum()),
            **{f"rule/{name}": count for name, count in sorted(self.counts.items()) if ":" not in name},
            **{k: v for k, v in repairs.items() if k != "repairs"},
            "repairs": repairs["repairs"],  # shown as JSON
        }


def _located(rows: pl.DataFrame, table: str, source_file: str = "") -> pl.DataFrame:
    """Quarantine-shaped rows (numbered by source line) in the case's quarantine columns."""
    return rows.sort("row_number").select(
        pl.lit(table).alias("table"),
        pl.lit(source_file).alias("source_file"),
        pl.col("row_number").alias("line"),
        "rule",
        "column",
        "reason",
        "raw_record",
        "severity",
    )


def _sum_counts(total: dict[str, int], part: dict[str, int]) -> None:
    for name, count in part.items():
        total[name] = total.get(name, 0) + count


def _repaired_lines(located: pl.DataFrame, loaded_lines: pl.Series) -> pl.DataFrame:
    """Warning rows (numbered by source line) for the repaired values of the loaded lines."""
    return (
        located.filter(pl.col("at").is_in(loaded_lines.implode()))
        .select(
            pl.col("at").alias("row_number"),
            pl.concat_str([pl.lit("repaired_"), pl.col("rule")]).alias("rule"),
            "column",
            pl.concat_str(
                [pl.lit("'"), pl.col("original"), pl.lit("' read as "), pl.col("repaired").fill_null("null")]
            ).alias("reason"),
            pl.lit(None, dtype=pl.String).alias("raw_record"),
            pl.lit("warning").alias("severity"),
        )
        .sort("row_number", "column")
    )


def _state_value(name: str, typed_columns: set[str], warned: set[str]) -> pl.Expr:
    """A state column from the typed rows: the typed companion, nulled where a warning nulled the text."""
    if name not in typed_columns:
        return pl.col(name)
    if name in warned:
        return pl.when(pl.col(name).is_not_null()).then(_typed(name))
    return _typed(name)


def _id_hashes(rows: pl.DataFrame, key: str) -> pl.DataFrame:
    """Each row's id as a 64-bit hash, and its source line: what finding repeated ids needs to keep per row."""
    return rows.select(pl.col(key).hash().alias("hash"), pl.col(SOURCE_LINE))


def _slices(frame: pl.DataFrame, rows: int) -> Iterator[pl.DataFrame]:
    for offset in range(0, frame.height, rows):
        yield frame.slice(offset, rows)


def typed_changes(
    spec: TableSpec, raw: RawFile | pl.DataFrame, chunk_rows: int = CHUNK_ROWS, spill: Path | None = None
) -> Changes:
    """Type ``raw`` (a file, or text rows with source file and line) into changes; see the module docstring.

    The rows are typed ``chunk_rows`` at a time as they are read: the
    action/id rules, then the typing rules on add/update rows; a quarantined
    row takes its record from its chunk. Only the typed rows of the whole file
    are kept, so memory holds one chunk of text besides them. Rows superseded by
    a later row of the same id are known only at the end: a hash of each id and
    its line are kept to find the ids that may repeat, and only those rows are
    compared exactly; their records are read again from ``raw`` (one more pass,
    only for a file that repeats ids).

    With ``spill`` (a folder the caller keeps until it has read ``rows``), each
    chunk's typed rows are written there as Arrow IPC as soon as they are typed,
    and ``rows`` is a lazy frame over those files: an initial extract of tens of
    millions of rows is then never whole in memory, only a chunk and the ids'
    hashes and lines.
    """
    chunks = raw.chunks(chunk_rows) if isinstance(raw, RawFile) else _slices(raw, chunk_rows)
    is_delete = pl.col("action") == "delete"
    entry_rules = [*ENTRY_RULES, _key_rule(spec)]
    readers = parsers(spec)
    typed_columns = {*spec.timestamps, *readers, *NUMERIC.get(spec.name, {})}
    state_schema = STATE_SCHEMAS[spec.name]
    rules = value_rules(spec)
    warned = {rule.column for rule in rules if rule.action is Action.WARN}
    change_schema = {**state_schema, "action": pl.String, SOURCE_LINE: pl.Int64}
    counts = dict.fromkeys([rule.name for rule in (*entry_rules, *rules)], 0)
    rows_read, source_file = 0, ""
    delete_parts: list[pl.DataFrame] = [pl.DataFrame(schema=change_schema)]
    upsert_parts: list[pl.DataFrame] = []
    spilled: list[Path] = []
    id_parts = [_id_hashes(delete_parts[0], spec.key)]  # (hash of the id, source line) of every typed row
    quarantines: list[pl.DataFrame] = [empty_quarantine()]
    warnings: list[pl.DataFrame] = [empty_quarantine()]
    repairs = RepairLog()
    numeric = NUMERIC.get(spec.name, {})
    texts = text_columns(spec)
    for chunk in chunks:
        located = RepairLog(locate=SOURCE_LINE)  # this chunk's repairs, by source line
        rows_read += chunk.height
        source_file = source_file or (chunk[SOURCE_FILE][0] if chunk.height else "")
        entry = apply_rules(chunk.drop(SOURCE_FILE), entry_rules, row_number_offset=0)
        _sum_counts(counts, entry.counts)
        rejected = [_relined(entry, chunk)]
        entered = entry.clean
        # an initial extract is all adds: skip copying the whole chunk through a filter then
        has_deletes = bool(entered.select(is_delete.any()).item())
        deletes = (entered.filter(is_delete) if has_deletes else entered.clear()).select(
            pl.col(spec.key),
            *(pl.lit(None, dtype=dtype).alias(name) for name, dtype in state_schema.items() if name != spec.key),
            pl.col("action"),
            pl.col(SOURCE_LINE),
        )
        delete_parts.append(deletes)
        id_parts.append(_id_hashes(deletes, spec.key))
        upserts_raw = entered.filter(~is_delete) if has_deletes else entered
        del entered
        typed = with_eastern_instants(
            upserts_raw, {column: typed_name(column) for column in spec.timestamps}, located
        ).with_columns(reader(pl.col(column)).alias(typed_name(column)) for column, reader in readers.items())
        for column, kind in numeric.items():
            typed = read_column(typed, column, typed_name(column), kind, log=located)
        repairs.merge(located)
        upserts = apply_rules(typed, rules, row_number_offset=0, text_columns=texts)
        del typed
        rejected.append(_relined(upserts, upserts_raw))
        # warnings: optional values nulled, and every repaired value of a loaded row (what was read, from what)
        noted = [_relined(upserts.warnings, upserts_raw), _relined(upserts.repaired, upserts_raw)]
        if located.rows:
            noted.append(_repaired_lines(located.located(), upserts.clean[SOURCE_LINE]))
        noted = [frame for frame in noted if frame.height]
        if noted:
            warnings.append(_with_records(pl.concat(noted), chunk, spec))
        repairs.merge(upserts.repairs)
        _sum_counts(counts, upserts.counts)
        part = upserts.clean.select(
            *(
                _state_value(name, typed_columns, warned).cast(dtype).alias(name)
                for name, dtype in state_schema.items()
            ),
            pl.col("action"),
            pl.col(SOURCE_LINE),
        )
        id_parts.append(_id_hashes(part, spec.key))
        if spill is None:
            upsert_parts.append(part)
        else:
            spilled.append(spill / f"{len(spilled):06d}.arrow")
            part.write_ipc(spilled[-1], compression="uncompressed")  # read back once, soon: speed over size
        del part
        quarantines.append(_with_records(pl.concat(rejected), chunk, spec))
        del upserts, upserts_raw, chunk

    deleted = pl.concat(delete_parts)
    combined: pl.DataFrame | pl.LazyFrame = (
        pl.concat([deleted.lazy(), pl.scan_ipc(spilled)]) if spilled else pl.concat([deleted, *upsert_parts])
    )
    del delete_parts, upsert_parts
    # Only ids that occur more than once in the file can be superseded: de-duplicate just those rows.
    # Equal ids have equal hashes, so the rows whose hash repeats hold every repeated id (most files have
    # none, and ruling repeats out by hash is much cheaper than comparing the ids themselves).
    hashes = pl.concat(id_parts)
    candidates = (
        hashes.filter(pl.col("hash").is_duplicated())[SOURCE_LINE]
        if hashes["hash"].n_unique() < hashes.height
        else hashes[SOURCE_LINE].clear()
    )
    del hashes, id_parts
    repeated = (
        combined.lazy()
        .filter(pl.col(SOURCE_LINE).is_in(candidates.implode()))
        .select(spec.key, "action", SOURCE_LINE)
        .collect()
        .filter(pl.col(spec.key).is_duplicated())
    )
    latest = apply_rules(
        repeated, dedupe=Dedupe(keys=[spec.key], order_by=SOURCE_LINE, name="superseded"), row_number_offset=0
    )
    superseded = _relined(latest, repeated)
    counts |= latest.counts
    # An id added and then updated in the same file is, for the state, an add.
    added = repeated.filter(pl.col("action") == "add")[spec.key]
    if superseded.height:
        quarantines.append(_with_records(superseded, raw.scan() if isinstance(raw, RawFile) else raw, spec))
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

    quarantine = _located(pl.concat(quarantines), spec.name, source_file)
    # a warned row superseded later in the file is in quarantine already
    warned_rows = _located(pl.concat(warnings), spec.name, source_file).filter(
        ~pl.col("line").is_in(quarantine["line"].implode())
    )
    if quarantine.height or warned_rows.height:
        breaks = _record_breaks(raw, rows_read)
        quarantine = quarantine.with_columns(physical_lines(quarantine["line"], breaks))
        warned_rows = warned_rows.with_columns(physical_lines(warned_rows["line"], breaks))
    return Changes(
        rows=rows,
        quarantine=quarantine,
        rows_read=rows_read,
        counts=counts,
        warnings=warned_rows,
        repairs=repairs,
        # one pass over the action column (of the spilled files, for a lazy ``rows``)
        per_action=dict(rows.lazy().group_by("action").len().collect().iter_rows()),
    )


def apply_changes(previous: pl.DataFrame, changes: pl.DataFrame, key: str) -> tuple[pl.DataFrame, dict[str, int]]:
    """The state after ``changes``: upsert add/update rows by ``key``, drop deleted ids; plus what happened."""
    per_action = dict(changes.group_by("action").len().iter_rows())
    # the initial extract is all adds: no rows to drop, no copy of its millions of rows
    upserts = changes.filter(pl.col("action") != "delete") if per_action.get("delete") else changes
    if previous.height:
        # One probe of the previous ids (millions) against the changed ids (a month's worth): the mask
        # drops the changed rows and its hits are the changed ids the state already holds, counted per action.
        changed = previous.select(pl.col(key).is_in(changes[key].implode()).alias("changed"))["changed"]
        known_ids = previous.select(key).filter(changed)
        known = dict(
            changes.select(key, "action").join(known_ids, on=key, how="semi").group_by("action").len().iter_rows()
        )
        state = pl.concat([previous.filter(~changed), upserts.select(previous.columns)])
    else:  # nothing to replace and no id to know
        known, state = {}, upserts.select(previous.columns)
    return state, change_stats(per_action, known, previous.height, state.height)


def change_stats(
    per_action: dict[str, int], known: dict[str, int], rows_before: int, rows_after: int
) -> dict[str, int]:
    """What applying a month's changes did: rows per action (``per_action``), and per action the rows whose id
    the previous state held (``known``), so deletes and updates of unknown ids and adds of existing ids show."""
    return {
        "adds": per_action.get("add", 0),
        "updates": per_action.get("update", 0),
        "deletes": per_action.get("delete", 0),
        "unknown_deletes": per_action.get("delete", 0) - known.get("delete", 0),
        "unknown_updates": per_action.get("update", 0) - known.get("update", 0),
        "adds_of_existing_ids": known.get("add", 0),
        "rows_before": rows_before,
        "rows_after": rows_after,
    }


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
        "severity": pl.String,
    }


def duplicated_ids(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """The ids of ``frame`` that occur more than once, with how often (``key``, ``len``); usually none."""
    ids = frame[key]
    if not may_repeat(ids):  # the exact detail only when the cheap test cannot rule duplicates out
        return pl.DataFrame(schema={key: ids.dtype, "len": pl.UInt32})
    return frame.group_by(key).len().filter(pl.col("len") > 1).sort(key)
