"""How the state of a support table after a month is kept in the lake, and read back.

A month's state is stored in one of two forms:

* a **snapshot**, ``support/<table>_state/<month>.parquet``: every row of the
  table after the month;
* **changes**, ``support/<table>_changes/<month>.parquet``: the month's typed
  change rows (action, columns, source line), which give the state when
  applied to the state after the previous month, by the function that built
  it (:func:`~caseworks_assets.support.changes.apply_changes`).

A run over a range of months keeps each month but the last as changes: the
months after it were built from memory, and the next run, the final tables
and the report read the range's last month, a snapshot. Writing every month
in full cost more than applying it (millions of rows a month for a few hundred
thousand changes). A single month, the first month and the last month of a
range are snapshots.

Every file carries a version in its Parquet metadata, and changes carry the
version of the state they apply to. Applying an earlier month again gives its
state a new version, so a later month kept as changes on the old one cannot
be read: reading it fails and says to apply that month again, instead of
silently building on a state it was not built on.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl
from upath import UPath

from caseworks_assets.resources import LakeResource
from caseworks_assets.resources.sql_literals import sql_identifier, sql_string
from caseworks_assets.resources.staging import staged_path
from caseworks_assets.scratch import scratch_folder
from caseworks_assets.support.changes import apply_changes
from caseworks_assets.support.layout import CASE, EASTERN, TABLES, Frame
from caseworks_assets.support.schemas import STATE_SCHEMAS

#: Parquet key-value metadata of state files.
VERSION = "caseworks.state_version"
BASE_MONTH = "caseworks.base_month"
BASE_VERSION = "caseworks.base_version"


class MonthOrderError(Exception):
    """A month asked for before what it builds on (its predecessor's state, or its raw file) is there."""


def snapshot_parts(table: str, month: str) -> tuple[str, ...]:
    """Lake path of a table's full state after ``month``: ``support/<table>_state/<month>.parquet``."""
    return (CASE, f"{table}_state", f"{month}.parquet")


def changes_parts(table: str, month: str) -> tuple[str, ...]:
    """Lake path of a month's changes kept instead of its snapshot: ``support/<table>_changes/<month>.parquet``."""
    return (CASE, f"{table}_changes", f"{month}.parquet")


def new_version() -> str:
    return uuid.uuid4().hex


def has_state(lake: LakeResource, table: str, month: str) -> bool:
    """Whether the state of ``table`` after ``month`` is in the lake, in either form."""
    return lake.exists(*snapshot_parts(table, month)) or lake.exists(*changes_parts(table, month))


def state_version(lake: LakeResource, table: str, month: str) -> str:
    """The version of the stored state after ``month`` (empty for files written before versions existed)."""
    parts = snapshot_parts(table, month)
    if not lake.exists(*parts):
        parts = changes_parts(table, month)
    return lake.file_metadata(*parts).get(VERSION, "")


def as_state(frame: Frame, table: str) -> Frame:
    """``frame`` in the state's schema: instants in Eastern time (a snapshot written by DuckDB reads back in UTC)."""
    schema, stored = STATE_SCHEMAS[table], frame.collect_schema()
    return frame.with_columns(
        pl.col(name).dt.convert_time_zone(EASTERN)
        for name, dtype in schema.items()
        if isinstance(dtype, pl.Datetime) and stored.get(name) != dtype
    )


def scan_snapshot(lake: LakeResource, table: str, month: str) -> pl.LazyFrame:
    """The snapshot after ``month`` as a lazy frame in the state's schema, read only as far as the query needs."""
    return as_state(lake.scan_parquet(*snapshot_parts(table, month)), table)


def _base_month(lake: LakeResource, table: str, month: str) -> str | None:
    """None when the state after ``month`` is a snapshot; else the month its stored changes apply to.

    :class:`MonthOrderError` when neither is stored, or when that base has been applied
    again (or removed) since the changes were written: they would apply to another state.
    """
    if lake.exists(*snapshot_parts(table, month)):
        return None
    if not lake.exists(*changes_parts(table, month)):
        raise MonthOrderError(f"the state of {table} after {month} is not in the lake; apply {month} first")
    stored = lake.file_metadata(*changes_parts(table, month))
    base = stored[BASE_MONTH]
    if not has_state(lake, table, base) or state_version(lake, table, base) != stored[BASE_VERSION]:
        raise MonthOrderError(
            f"the state of {table} after {month} is kept as changes on the state after {base}, "
            f"which has been applied again (or removed) since: apply {month} again, then the months after it"
        )
    return base


def read_state(lake: LakeResource, table: str, month: str) -> pl.DataFrame:
    """The state of ``table`` after ``month``: its snapshot, or its changes applied to the state before it."""
    base = _base_month(lake, table, month)
    if base is None:
        return as_state(lake.read_parquet(*snapshot_parts(table, month)), table)
    changes = lake.read_parquet(*changes_parts(table, month))
    state, _ = apply_changes(read_state(lake, table, base), changes, TABLES[table].key)
    return state


def write_snapshot(
    lake: LakeResource, table: str, month: str, state: pl.DataFrame | pl.LazyFrame, version: str
) -> UPath:
    """Store ``state`` as the snapshot after ``month``, replacing changes kept for that month."""
    path = lake.write_parquet(
        state,
        *snapshot_parts(table, month),
        compression=lake.working_compression,
        metadata={VERSION: version},
    )
    lake.remove(*changes_parts(table, month))
    return path


def write_changes(
    lake: LakeResource, table: str, month: str, changes: pl.DataFrame, version: str, base: tuple[str, str]
) -> UPath:
    """Store the month's ``changes`` on the state ``base`` (month, version), replacing a snapshot of that month."""
    base_month, base_version = base
    path = lake.write_parquet(
        changes,
        *changes_parts(table, month),
        compression=lake.working_compression,
        metadata={VERSION: version, BASE_MONTH: base_month, BASE_VERSION: base_version},
    )
    lake.remove(*snapshot_parts(table, month))
    return path


@dataclass(frozen=True)
class Chain:
    """How the state after a month is reached from stored files: a snapshot, then months kept as changes.

    ``base`` is the snapshot's month (None: the empty state before the initial
    extract); ``changes`` the months after it, in order, each stored as its
    changes on the one before.
    """

    base: str | None
    changes: tuple[str, ...] = field(default_factory=tuple)

    def then(self, month: str) -> Chain:
        return Chain(self.base, (*self.changes, month))


def stored_chain(lake: LakeResource, table: str, month: str) -> Chain:
    """The chain the lake keeps for the state after ``month`` (checked as :func:`read_state` checks it)."""
    base = _base_month(lake, table, month)
    return Chain(month) if base is None else stored_chain(lake, table, base).then(month)


class ChainFiles:
    """Local paths of a chain's files, for DuckDB (a remote lake's files are downloaded once, for the step)."""

    def __init__(self, lake: LakeResource, stack: ExitStack) -> None:
        self.lake, self.stack = lake, stack
        self.local: dict[tuple[str, ...], Path] = {}

    def path(self, *parts: str) -> str:
        if parts not in self.local:
            self.local[parts] = self.stack.enter_context(self.lake.local_file(*parts))
        return str(self.local[parts])

    def state_sql(self, table: str, chain: Chain, columns: list[str] | None = None) -> str:
        """A ``SELECT`` of the state the chain gives: the snapshot anti-joined with every later month's changed
        ids, then each month's added and updated rows anti-joined with the months after it, ``UNION ALL``.

        Each anti-join builds its hash table on a month's changes (small) and
        streams the large side past it: nothing is held whole.
        """
        key = sql_identifier(TABLES[table].key)
        names = ", ".join(sql_identifier(name) for name in (columns or list(STATE_SCHEMAS[table])))
        months = list(chain.changes)
        changes = [f"read_parquet({sql_string(self.path(*changes_parts(table, m)))})" for m in months]

        def later(index: int, alias: str) -> str:
            return " ".join(
                f"ANTI JOIN (SELECT {key} FROM {changes[after]}) c{after} ON {alias}.{key} = c{after}.{key}"
                for after in range(index, len(months))
            )

        parts = []
        if chain.base is not None:
            snapshot = f"read_parquet({sql_string(self.path(*snapshot_parts(table, chain.base)))})"
            parts.append(f"SELECT {names} FROM (SELECT {names} FROM {snapshot}) s {later(0, 's')}")
        for index, source in enumerate(changes):
            upserts = f"(SELECT {names} FROM {source} WHERE action <> 'delete')"
            parts.append(f"SELECT {names} FROM {upserts} u{index} {later(index + 1, f'u{index}')}")
        if not parts:  # the state before the initial extract
            return (
                f"SELECT {', '.join(f'NULL::VARCHAR AS {sql_identifier(n)}' for n in (columns or [key]))} WHERE false"
            )
        return " UNION ALL ".join(parts)


@contextmanager
def chain_files(lake: LakeResource) -> Iterator[ChainFiles]:
    with ExitStack() as stack:
        yield ChainFiles(lake, stack)


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for the states' statements: instants handled in UTC, spilling to a temporary folder."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(f"SET temp_directory = {sql_string(tempfile.gettempdir())}")
    return connection


def copy_snapshot(
    connection: duckdb.DuckDBPyConnection, files: ChainFiles, table: str, month: str, chain: Chain, version: str
) -> UPath:
    """Store the state ``chain`` gives as the snapshot after ``month``, by one streaming ``COPY (query) TO``.

    Written to a hidden sibling and renamed into place (a crash leaves the
    previous file), then the month's changes, now part of the snapshot, removed.
    """
    lake = files.lake
    target = lake.path(*snapshot_parts(table, month))
    metadata = f"{{{sql_string(VERSION)}: {sql_string(version)}}}"
    options = f"FORMAT parquet, COMPRESSION {lake.working_compression}, KV_METADATA {metadata}"
    query = files.state_sql(table, chain)
    if lake.is_local:
        with staged_path(Path(target.path)) as staging:
            connection.execute(f"COPY ({query}) TO {sql_string(str(staging))} ({options})")
    else:
        with scratch_folder("state") as folder:
            local = folder / "state.parquet"
            connection.execute(f"COPY ({query}) TO {sql_string(str(local))} ({options})")
            lake.copy_in(local, *snapshot_parts(table, month))
    lake.remove(*changes_parts(table, month))
    return target
