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

import uuid

import dagster as dg
import polars as pl
from upath import UPath

from caseworks_assets.resources import LakeResource
from caseworks_assets.support.changes import apply_changes
from caseworks_assets.support.layout import CASE, TABLES

#: Parquet key-value metadata of state files.
VERSION = "caseworks.state_version"
BASE_MONTH = "caseworks.base_month"
BASE_VERSION = "caseworks.base_version"


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


def read_state(lake: LakeResource, table: str, month: str) -> pl.DataFrame:
    """The state of ``table`` after ``month``: its snapshot, or its changes applied to the state before it."""
    if lake.exists(*snapshot_parts(table, month)):
        return lake.read_parquet(*snapshot_parts(table, month))
    if not lake.exists(*changes_parts(table, month)):
        raise dg.Failure(f"the state of {table} after {month} is not in the lake; apply {month} first")
    stored = lake.file_metadata(*changes_parts(table, month))
    base = stored[BASE_MONTH]
    if not has_state(lake, table, base) or state_version(lake, table, base) != stored[BASE_VERSION]:
        raise dg.Failure(
            f"the state of {table} after {month} is kept as changes on the state after {base}, "
            f"which has been applied again (or removed) since: apply {month} again, then the months after it"
        )
    changes = lake.read_parquet(*changes_parts(table, month))
    state, _ = apply_changes(read_state(lake, table, base), changes, TABLES[table].key)
    return state


def write_snapshot(lake: LakeResource, table: str, month: str, state: pl.DataFrame, version: str) -> UPath:
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
