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

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from caseworks_assets.support.changes import Changes, apply_changes, duplicated_ids, quarantine_schema, typed_changes
from caseworks_assets.support.layout import CASE, TABLES, Layout, RawFile, TableSpec
from caseworks_assets.support.schemas import STATE_SCHEMAS
from caseworks_assets.support.states import (
    changes_parts,
    has_state,
    new_version,
    read_state,
    snapshot_parts,
    state_version,
    write_changes,
    write_snapshot,
)

if TYPE_CHECKING:
    from upath import UPath

    from caseworks_assets.resources import LakeResource
    from caseworks_assets.resources.overlap import WriteBehind


class MonthOrderError(Exception):
    """A month asked for before what it builds on (its predecessor's state, or its raw file) is there."""


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


class MonthStates:
    """The states one step builds: each written to the lake while the step works on the next table or month.

    A month of a range builds on the previous month's state as this step
    built it, in memory; a month whose predecessor another run built reads
    that state from the lake. One write is pending at a time (the state just
    built, which the step holds anyway), and :meth:`wait` is called before a
    state's materialization is recorded, so a recorded state is always stored.
    """

    def __init__(self, lake: LakeResource, layout: Layout, writes: WriteBehind) -> None:
        self.lake, self.layout, self.writes = lake, layout, writes
        self.built: dict[str, tuple[str, pl.DataFrame, str]] = {}  # table: (month, state, version)

    def previous(self, spec: TableSpec, month: str) -> tuple[pl.DataFrame, str]:
        """The state ``month`` builds on, and its version (empty before the first month)."""
        before = self.layout.previous(month)
        if before is None:
            return pl.DataFrame(schema=STATE_SCHEMAS[spec.name]), ""
        built = self.built.get(spec.name)
        if built is not None and built[0] == before:
            return built[1], built[2]
        if not has_state(self.lake, spec.name, before):
            raise MonthOrderError(
                f"{spec.name} for {month} builds on the state after {before}, which has not been applied: "
                f"apply the months in order ({', '.join(self.layout.months)}), starting with {before}"
            )
        return read_state(self.lake, spec.name, before), state_version(self.lake, spec.name, before)

    def publish(
        self, table: str, month: str, state: pl.DataFrame, changes: pl.DataFrame, base_version: str, *, in_full: bool
    ) -> UPath:
        """Keep ``state`` as ``table``'s state after ``month`` and store it behind: in full, or as ``changes``."""
        version = new_version()
        self.built[table] = (month, state, version)
        if in_full:
            self.writes.submit(write_snapshot, self.lake, table, month, state, version)
            return self.lake.path(*snapshot_parts(table, month))
        base = (self.layout.previous(month), base_version)
        self.writes.submit(write_changes, self.lake, table, month, changes, version, base)
        return self.lake.path(*changes_parts(table, month))

    def wait(self) -> None:
        self.writes.wait()


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
    return layout.raw_file(spec, month).scan().select(pl.len()).collect().item()


@dataclass
class TableMonth:
    """What applying one month to one table did: the changes, the state's figures, where it is stored."""

    spec: TableSpec
    month: str
    before: str | None
    changes: Changes
    stats: dict[str, int]
    rows_after: int
    duplicates: pl.DataFrame
    path: UPath
    in_full: bool
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def rows_read(self) -> int:
        return self.changes.rows_read

    @property
    def bad_actions(self) -> int:
        return self.changes.counts.get("bad_action", 0)

    @property
    def unknown_ids(self) -> int:
        return self.stats["unknown_deletes"] + self.stats["unknown_updates"]

    def metadata(self) -> dict[str, object]:
        """The state's materialization metadata for the month."""
        return {
            **self.changes.metadata(),
            **self.stats,
            "builds_on": self.before or "nothing (initial extract)",
            "stored_as": "snapshot" if self.in_full else f"changes on the state after {self.before}",
            "path": str(self.path),
            "dagster/row_count": self.rows_after,
        }


def apply_table_month(
    spec: TableSpec, layout: Layout, month: str, lake: LakeResource, raw: RawFile, states: MonthStates, in_full: bool
) -> TableMonth:
    """``<table>_state`` after ``month``: the previous state with the month's typed changes applied, stored behind."""
    before = layout.previous(month)
    previous, base_version = states.previous(spec, month)
    changes = typed_changes(spec, raw)
    current, stats = apply_changes(previous, changes.rows, spec.key)
    del previous
    in_full = in_full or before is None
    path = states.publish(spec.name, month, current, changes.rows, base_version, in_full=in_full)
    lake.write_parquet(changes.issues, *rejects_parts(spec.name, month))
    return TableMonth(
        spec=spec,
        month=month,
        before=before,
        changes=changes,
        stats=stats,
        rows_after=current.height,
        duplicates=duplicated_ids(current, spec.key),
        path=path,
        in_full=in_full,
    )


def quarantine_rows(month: str, lake: LakeResource, rejected: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The month's rejected rows of every table, with the month: as this step rejected them, or from the lake."""

    def rows_of(table: str) -> pl.DataFrame:
        if table in rejected:
            return rejected[table]
        if lake.exists(*rejects_parts(table, month)):
            return lake.read_parquet(*rejects_parts(table, month))
        return pl.DataFrame(schema=quarantine_schema())

    # rejects written before warnings existed hold rejected rows only
    frames = [
        frame if "severity" in frame.columns else frame.with_columns(pl.lit("error").alias("severity"))
        for frame in (rows_of(table) for table in TABLES)
    ]
    return pl.concat([f.select(list(quarantine_schema())).cast(quarantine_schema()) for f in frames]).select(
        pl.lit(month).alias("month"), pl.all()
    )


def quarantine_figures(rows: pl.DataFrame) -> dict[str, object]:
    """Rows rejected, values warned and repaired, and rows per table and rule."""
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
