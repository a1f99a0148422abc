"""Applying a month to a support table: the state logic of the ``support_month`` step, with no Dagster in it.

For each table and month: the month's file (as delivered, or the lake's copy)
is typed into changes (:func:`~caseworks_assets.support.changes.typed_changes`),
the changes are applied to the previous month's state
(:func:`~caseworks_assets.support.changes.apply_changes`), the new state is
stored in the lake behind the step's back (:class:`MonthStates`), and the
rows that were not applied are kept as the month's rejects. What a month did
is returned as plain figures (:class:`TableMonth`); the Dagster adapter in
:mod:`~caseworks_assets.support.assets` turns them into materializations and
check results.

A month's state is always rebuilt from the previous month's state, never
patched in place, so applying a month again gives the same state: a delta is
never applied twice. A month whose predecessor has no state raises
:class:`MonthOrderError` naming the month to apply first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from caseworks_assets.resources.sql_literals import sql_identifier, sql_string
from caseworks_assets.support.changes import (
    change_stats,
    duplicated_ids,
    quarantine_schema,
    typed_changes,
)
from caseworks_assets.support.layout import CASE, TABLES, Layout, RawFile, TableSpec
from caseworks_assets.support.schemas import STATE_SCHEMAS
from caseworks_assets.support.states import (
    Chain,
    ChainFiles,
    MonthOrderError,
    changes_parts,
    connect,
    copy_snapshot,
    has_state,
    new_version,
    snapshot_parts,
    state_version,
    stored_chain,
    write_changes,
    write_snapshot,
)

if TYPE_CHECKING:
    from upath import UPath

    from caseworks_assets.resources import LakeResource
    from caseworks_assets.resources.overlap import WriteBehind


def raw_parts(table: str, month: str) -> tuple[str, ...]:
    """Lake path of the file that brought ``table`` in ``month``, as delivered: ``support/raw_<table>/<month>.csv``."""
    return (CASE, f"raw_{table}", f"{month}.csv")


def rejects_parts(table: str, month: str) -> tuple[str, ...]:
    """Lake path of the rows of ``month``'s file of ``table`` that were quarantined."""
    return (CASE, f"{table}_rejects", f"{month}.parquet")


def latest_applied_month(layout: Layout, lake: LakeResource) -> str | None:
    """The latest month (in application order) whose state is in the lake for every table."""
    for month in reversed(layout.months):
        if all(has_state(lake, table, month) for table in TABLES):
            return month
    return None


def months_in_order(keys: list[str], layout: Layout) -> list[str]:
    """The partition keys of a run in application order (fails clearly when the folder has no input for one)."""
    for month in keys:
        layout.previous(month)
    order = {month: index for index, month in enumerate(layout.months)}
    return sorted(keys, key=order.__getitem__)


@dataclass
class Built:
    """A table's state after ``month`` as this step knows it: how to reach it, its version, rows, duplicated ids."""

    month: str | None
    chain: Chain
    version: str
    rows: int
    duplicates: pl.DataFrame  # ids held more than once (key, len): none in a sound state


class MonthStates:
    """The states one step builds, as files: each month's state is reached from the lake, never held whole.

    The initial extract's state (the month's typed rows) is written as a
    snapshot behind the step's back; every later month stores its changes and
    is reached by a :class:`~caseworks_assets.support.states.Chain` from the
    last snapshot. The last month of the run is written in full by one
    streaming DuckDB statement over that chain (the snapshot anti-joined with
    each month's changed ids, ``UNION ALL`` the months' upserts), so no state is
    in memory. :meth:`wait` is called before a state's materialization is
    recorded, so a recorded state is always stored.
    """

    def __init__(self, lake: LakeResource, layout: Layout, writes: WriteBehind, files: ChainFiles, spill: Path) -> None:
        self.lake, self.layout, self.writes, self.files, self.spill = lake, layout, writes, files, spill
        self.connection = connect()
        self.built: dict[str, Built] = {}
        self._written: dict[str, Future[object]] = {}  # per table, its snapshot being written behind

    def write_behind(self, table: str, write: Callable[..., object], *args: object) -> None:
        """Write ``table``'s snapshot behind: the next table's month is typed meanwhile, on the other core."""
        self._written[table] = self.writes.submit(write, *args)

    def stored(self, table: str) -> None:
        """Block until ``table``'s snapshot written behind is complete (only its own: a read of one table's
        files need not wait for another's write; the interactions snapshot of the initial extract is then
        written while the next month's interactions are typed)."""
        written = self._written.pop(table, None)
        if written is not None:
            written.result()

    def sql(self, table: str, query: str) -> list[tuple]:
        """``query``, which reads ``table``'s files, once they are all written."""
        self.stored(table)
        return self.connection.execute(query).fetchall()

    def previous(self, spec: TableSpec, month: str) -> Built:
        """The state ``month`` builds on (empty before the first month)."""
        before = self.layout.previous(month)
        if before is None:
            return Built(None, Chain(None), "", 0, pl.DataFrame(schema={spec.key: pl.String, "len": pl.UInt32}))
        built = self.built.get(spec.name)
        if built is not None and built.month == before:
            return built
        if not has_state(self.lake, spec.name, before):
            raise MonthOrderError(
                f"{spec.name} for {month} builds on the state after {before}, which has not been applied: "
                f"apply the months in order ({', '.join(self.layout.months)}), starting with {before}"
            )
        # a state another run stored: its rows and duplicated ids counted once, streaming its files
        chain = stored_chain(self.lake, spec.name, before)
        key = sql_identifier(spec.key)
        ids = self.files.state_sql(spec.name, chain, [spec.key])
        ((rows, distinct),) = self.sql(spec.name, f"SELECT count(*), count(DISTINCT {key}) FROM ({ids})")
        duplicates = pl.DataFrame(
            self.sql(spec.name, f"SELECT {key}, count(*) FROM ({ids}) GROUP BY ALL HAVING count(*) > 1 ORDER BY 1")
            if distinct < rows
            else [],
            schema={spec.key: pl.String, "len": pl.UInt32},
            orient="row",
        )
        return Built(before, chain, state_version(self.lake, spec.name, before), rows, duplicates)

    def known(self, spec: TableSpec, month: str, previous: Built) -> dict[str, int]:
        """Per action, the month's changed ids the previous state holds (one stream of its ids past the changes)."""
        if previous.month is None:
            return {}
        key = sql_identifier(spec.key)
        changes = f"read_parquet({sql_string(self.files.path(*changes_parts(spec.name, month)))})"
        ids = self.files.state_sql(spec.name, previous.chain, [spec.key])
        return dict(
            self.sql(
                spec.name,
                f"SELECT action, count(*) FROM {changes} c SEMI JOIN ({ids}) p ON c.{key} = p.{key} GROUP BY ALL",
            )
        )

    def wait(self) -> None:
        self.writes.wait()

    def close(self) -> None:
        self.connection.close()


def copy_raw(spec: TableSpec, layout: Layout, month: str, lake: LakeResource) -> UPath:
    """``raw_<table>``: the month's file copied into the lake byte for byte, the record of what was delivered.

    A table without a delta that month gets a file with the delta's header and no rows.
    """
    path = layout.file_for(spec.name, month)
    parts = raw_parts(spec.name, month)
    if path is None:
        return lake.write_csv(pl.DataFrame(schema=dict.fromkeys(spec.delta_columns, pl.String)), *parts)
    return lake.copy_in(path, *parts)


def raw_figures(spec: TableSpec, layout: Layout, month: str, stored: UPath, rows: int) -> dict[str, object]:
    """What ``raw_<table>`` holds for the month: where it came from, where it is, its size and rows."""
    path = layout.file_for(spec.name, month)
    return {
        "source_file": str(path) if path else "none (no delta this month)",
        "path": str(stored),
        "bytes": stored.stat().st_size,
        "dagster/row_count": rows,
    }


@contextmanager
def month_rows(spec: TableSpec, layout: Layout, month: str, lake: LakeResource, copied: bool) -> Iterator[RawFile]:
    """The month's rows of ``spec``'s table as ``raw_<table>`` holds them.

    Just copied in this step: the delivered file itself (same bytes, and no
    download from a remote lake). Otherwise the lake's copy, named as the
    delivered file in quarantine rows and errors.
    """
    delivered = layout.raw_file(spec, month)
    if copied:
        yield delivered
        return
    parts = raw_parts(spec.name, month)
    if not lake.exists(*parts):
        raise MonthOrderError(f"raw_{spec.name} for {month} is missing: materialize it first")
    with lake.local_file(*parts) as local:
        yield RawFile(spec, local, initial=delivered.initial, source=str(delivered.path or local))


def count_rows(spec: TableSpec, layout: Layout, month: str) -> int:
    """Rows of the month's file (checking its header), for a run of ``raw_<table>`` without its state."""
    return layout.raw_file(spec, month).count()


@dataclass
class TableMonth:
    """What applying one month to one table did: its typing figures, the state's figures, where it is stored.

    Figures only: the typed rows and the month's quarantine rows are not kept
    once stored (the quarantine is read back from the rejects files), so a month
    of millions of rows, or a million warnings, is not held past its table.
    """

    spec: TableSpec
    month: str
    before: str | None
    typing: dict[str, object]  # the typing figures (Changes.metadata)
    stats: dict[str, int]
    rows_after: int
    duplicates: pl.DataFrame
    path: UPath
    in_full: bool

    @property
    def rows_read(self) -> int:
        return int(self.typing["rows_read"])

    @property
    def rows_loaded(self) -> int:
        return int(self.typing["rows_loaded"])

    @property
    def rows_quarantined(self) -> int:
        return int(self.typing["rows_quarantined"])

    @property
    def bad_actions(self) -> int:
        return int(self.typing.get("rule/bad_action", 0))

    @property
    def unknown_ids(self) -> int:
        return self.stats["unknown_deletes"] + self.stats["unknown_updates"]

    def metadata(self) -> dict[str, object]:
        """The state's materialization metadata for the month."""
        return {
            **self.typing,
            **self.stats,
            "builds_on": self.before or "nothing (initial extract)",
            "stored_as": "snapshot" if self.in_full else f"changes on the state after {self.before}",
            "path": str(self.path),
            "dagster/row_count": self.rows_after,
        }


def _stats(per_action: dict[str, int], known: dict[str, int], rows_before: int) -> dict[str, int]:
    """What applying the changes did, as :func:`~caseworks_assets.support.changes.apply_changes` reports it."""
    upserts = per_action.get("add", 0) + per_action.get("update", 0)
    return change_stats(per_action, known, rows_before, rows_before - sum(known.values()) + upserts)


#: An initial extract whose file is bigger than this is typed into spill files, not memory. Its typed
#: rows take about as much memory as its text: 10M interactions (a 1.2 GB file) would pass the 2 GiB budget
#: in memory, while 2M (232 MB) typed in memory take 0.24 s less (9.09 s against 9.33 s for the run) at the
#: same peak RSS, the peak being elsewhere.
SPILL_ABOVE_BYTES = 512 * 2**20


def spills(raw: RawFile) -> bool:
    """Whether ``raw`` is big enough to be typed into spill files (:data:`SPILL_ABOVE_BYTES`)."""
    return raw.path is not None and raw.path.stat().st_size > SPILL_ABOVE_BYTES


def apply_table_month(
    spec: TableSpec, layout: Layout, month: str, lake: LakeResource, raw: RawFile, states: MonthStates, in_full: bool
) -> TableMonth:
    """``<table>_state`` after ``month``: the previous state with the month's typed changes applied, stored.

    The initial extract's typed rows are its state, written as a snapshot. A
    later month stores its changes; its figures come from streaming the
    previous state's ids past them; in full (the run's last month) its state
    is written by one ``COPY`` over the chain of files.
    """
    previous = states.previous(spec, month)
    # a big initial extract (tens of millions of rows) is typed into files, its state streamed from them
    spill = states.spill / f"{spec.name}-{month}" if previous.month is None and spills(raw) else None
    if spill is not None:
        spill.mkdir()
    changes = typed_changes(spec, raw, spill=spill)
    version = new_version()
    lake.write_parquet(changes.issues, *rejects_parts(spec.name, month))
    if previous.month is None:
        # nothing to replace and no id to know: the state is the typed rows
        state = changes.rows.lazy().select(list(STATE_SCHEMAS[spec.name]))
        stats = change_stats(changes.per_action, {}, 0, changes.rows_loaded)
        duplicates = duplicated_ids(state.select(spec.key).collect(), spec.key)
        states.write_behind(spec.name, write_snapshot, lake, spec.name, month, state, version)
        built = Built(month, Chain(month), version, changes.rows_loaded, duplicates)
        path = lake.path(*snapshot_parts(spec.name, month))
        in_full = True
    else:
        write_changes(lake, spec.name, month, changes.rows, version, (previous.month, previous.version))
        stats = _stats(changes.per_action, states.known(spec, month, previous), previous.rows)
        upserts = changes.rows.filter(pl.col("action") != "delete").select(spec.key)
        changed = changes.rows[spec.key].implode()
        duplicates = pl.concat(
            [previous.duplicates.filter(~pl.col(spec.key).is_in(changed)), duplicated_ids(upserts, spec.key)]
        )
        chain = previous.chain.then(month)
        path = lake.path(*changes_parts(spec.name, month))
        if in_full:
            states.stored(spec.name)
            path = copy_snapshot(states.connection, states.files, spec.name, month, chain, version)
            chain = Chain(month)
        built = Built(month, chain, version, stats["rows_after"], duplicates)
    states.built[spec.name] = built
    return TableMonth(
        spec=spec,
        month=month,
        before=previous.month,
        typing=changes.metadata(),
        stats=stats,
        rows_after=built.rows,
        duplicates=duplicates,
        path=path,
        in_full=in_full,
    )


def quarantine_rows(month: str, lake: LakeResource) -> pl.LazyFrame:
    """The month's rejected rows of every table, with the month, as a scan of the tables' rejects files.

    Lazy: a month can hold a million warnings; they are streamed into the
    month's quarantine file (:func:`quarantine_parts`) without being held in memory.
    """
    schema = quarantine_schema()
    frames = [pl.LazyFrame(schema=schema)]
    for table in TABLES:
        if lake.exists(*rejects_parts(table, month)):
            frame = lake.scan_parquet(*rejects_parts(table, month))
            if "severity" not in frame.collect_schema():  # written before warnings existed: rejected rows only
                frame = frame.with_columns(pl.lit("error").alias("severity"))
            frames.append(frame.select(list(schema)).cast(schema))  # type: ignore[arg-type]
    return pl.concat(frames).select(pl.lit(month).alias("month"), pl.all())


def quarantine_parts(month: str) -> tuple[str, ...]:
    """Lake path of a month's quarantine rows, ``support/quarantine/<month>.parquet`` (``*``: every month's).

    One file per month partition: the warehouse table is a view over them all,
    and applying a month again replaces its file.
    """
    return (CASE, "quarantine", f"{month}.parquet")


def quarantine_figures(rows: pl.DataFrame | pl.LazyFrame) -> dict[str, object]:
    """Rows rejected, values warned and repaired, and rows per table and rule."""
    rows = rows.lazy().select("table", "rule", "severity").collect(engine="streaming")
    by_rule = rows.group_by("table", "rule").len().sort("table", "rule")
    warnings = rows["severity"] == "warning"
    repaired = warnings & rows["rule"].str.starts_with("repaired_")
    return {
        "dagster/row_count": rows.height,
        "rows_rejected": int((~warnings).sum()),
        "values_warned": int((warnings & ~repaired).sum()),
        "values_repaired": int(repaired.sum()),
        "by_rule": {f"{t}/{r}": n for t, r, n in by_rule.iter_rows()},
    }
