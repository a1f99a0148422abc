"""Key rotation: re-seal every stored restricted value with the active key.

Works on the two places restricted values live: Parquet files (lake, local or
``gs://``; streamed batch by batch and replaced atomically) and tables of the
local DuckDB warehouse (an ``UPDATE`` through a vectorized UDF). Values already
under the active key are left as they are, so a rotation can be re-run safely
after an interruption. Once it reports zero stale values, old keys can be
removed from ``CASEWORKS_ENCRYPTION_KEYS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from duckdb import sqltypes
from upath import UPath

from caseworks_assets.governance.encryption import KeyRing
from caseworks_assets.resources.lake_tables import iter_parquet
from caseworks_assets.resources.staging import staged_path

BATCH_ROWS = 65_536


@dataclass(frozen=True)
class RotationResult:
    target: str
    rows: int
    rotated: int


def _stale(frame: pl.DataFrame, columns: Sequence[str], ring: KeyRing) -> int:
    prefix = f"{ring.active_id}:"
    return int(
        frame.select(
            pl.sum_horizontal([(pl.col(c).is_not_null() & ~pl.col(c).str.starts_with(prefix)).sum() for c in columns])
        ).item()
    )


def rotate_parquet(path: UPath, columns: Sequence[str], ring: KeyRing) -> RotationResult:
    """Rewrite ``path`` with ``columns`` re-sealed under the active key (streaming, atomic rename)."""
    path = UPath(path)
    rows = rotated = 0
    with staged_path(path, suffix=".rotating") as staging, path.open("rb") as source, staging.open("wb") as sink:
        reader = pq.ParquetFile(source)
        writer = pq.ParquetWriter(sink, reader.schema_arrow)
        for batch in iter_parquet(source, BATCH_ROWS):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            rotated += _stale(frame, columns, ring)
            frame = frame.with_columns([ring.rotate(frame[c]) for c in columns])
            writer.write_table(frame.to_arrow().cast(reader.schema_arrow))
            rows += frame.height
        writer.close()
    return RotationResult(str(path), rows, rotated)


def rotate_duckdb_table(database: str, table: str, columns: Sequence[str], ring: KeyRing) -> RotationResult:
    """Re-seal ``columns`` of ``table`` (``schema.table``) in a DuckDB file in place."""

    def rotate(values: pa.Array) -> pa.Array:
        return pa.array(ring.rotate_values(values.to_pylist()), type=pa.string())

    prefix = f"{ring.active_id}:"
    with duckdb.connect(database) as con:
        con.create_function("caseworks_rotate", rotate, [sqltypes.VARCHAR], sqltypes.VARCHAR, type="arrow")
        rows = con.execute(f"select count(*) from {table}").fetchone()[0]  # type: ignore[index]
        rotated = 0
        for column in columns:
            stale = f"{column} is not null and not starts_with({column}, ?)"
            rotated += con.execute(f"select count(*) from {table} where {stale}", [prefix]).fetchone()[0]  # type: ignore[index]
            con.execute(f"update {table} set {column} = caseworks_rotate({column}) where {stale}", [prefix])
    return RotationResult(f"{database}:{table}", rows, rotated)


def duckdb_table_exists(database: str, table: str) -> bool:
    schema, _, name = table.rpartition(".")
    with duckdb.connect(database, read_only=True) as con:
        found = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema or "main", name],
        ).fetchone()
    return bool(found and found[0])


@dataclass(frozen=True)
class EncryptedData:
    """Where one case keeps ciphertext: lake files (path parts under the lake root) and warehouse tables."""

    case: str
    files: dict[tuple[str, ...], tuple[str, ...]]
    tables: dict[str, tuple[str, ...]]


_ENCRYPTED: dict[str, EncryptedData] = {}


def register_encrypted(data: EncryptedData) -> EncryptedData:
    """Declare a case's encrypted files and tables, so ``caseworks rotate-keys`` re-seals them."""
    _ENCRYPTED[data.case] = data
    return data


def encrypted_data() -> list[EncryptedData]:
    return list(_ENCRYPTED.values())


def rotate_all(
    ring: KeyRing, lake_root: str, warehouse: str | None, cases: Sequence[str] | None = None
) -> list[RotationResult]:
    """Re-seal every registered encrypted file and (DuckDB) table that exists; returns one result per target."""
    results = []
    for data in encrypted_data():
        if cases and data.case not in cases:
            continue
        for parts, columns in data.files.items():
            path = UPath(lake_root).joinpath(*parts)
            if path.exists():
                results.append(rotate_parquet(path, columns, ring))
        if warehouse is None:
            continue
        for table, columns in data.tables.items():
            if duckdb_table_exists(warehouse, table):
                results.append(rotate_duckdb_table(warehouse, table, columns, ring))
    return results
