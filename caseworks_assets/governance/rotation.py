"""Key rotation: re-seal every stored restricted value with the active key.

Works on the two places restricted values live: lake Parquet files whose
columns are sealed with Parquet modular encryption (local or ``gs://``;
re-encrypted batch by batch and replaced atomically) and tables of the local
DuckDB warehouse holding per-value ciphertext (an ``UPDATE`` through a
vectorized UDF). Warehouse views over lake files leave the sealed columns out. Values already
under the active key are left as they are, so a rotation can be re-run safely
after an interruption. Once it reports zero stale values, old keys can be
removed from ``CASEWORKS_ENCRYPTION_KEYS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from duckdb import sqltypes
from upath import UPath

from caseworks_assets.governance.encryption import KeyRing, KeyRingError
from caseworks_assets.governance.lake_encryption import (
    KEY_ID_METADATA,
    decryption_properties,
    sealed_with,
    sealed_writer,
)
from caseworks_assets.resources.lake_tables import iter_parquet, relation_type
from caseworks_assets.resources.staging import staged_path

BATCH_ROWS = 65_536


@dataclass(frozen=True)
class RotationResult:
    target: str
    rows: int
    rotated: int


def rotate_parquet(path: UPath, columns: Sequence[str], ring: KeyRing) -> RotationResult:
    """Re-encrypt a lake file's sealed ``columns`` under the active key (streaming, atomic rename).

    A file already sealed with the active key is left alone, so an
    interrupted rotation can simply be run again.
    """
    path = UPath(path)
    with path.open("rb") as source:
        current = sealed_with(source)
        rows = pq.ParquetFile(source).metadata.num_rows
    if current is None:
        raise KeyRingError(f"{path} has no sealed columns (no {KEY_ID_METADATA.decode()!r} in its metadata)")
    if current == ring.active_id:
        return RotationResult(str(path), rows, 0)
    decryption = decryption_properties(ring)
    with staged_path(path, suffix=".rotating") as staging, path.open("rb") as source, staging.open("wb") as sink:
        schema = pq.ParquetFile(source, decryption_properties=decryption).schema_arrow
        with sealed_writer(sink, schema, ring, columns) as writer:
            for table in iter_parquet(source, BATCH_ROWS, decryption=decryption):
                writer.write_table(table)
    return RotationResult(str(path), rows, rows)


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
    """Whether ``table`` is a base table of the DuckDB file.

    A view over a lake file holds no values of its own: rotating the file
    rotates what the view shows.
    """
    schema, _, name = table.rpartition(".")
    with duckdb.connect(database, read_only=True) as con:
        return relation_type(con, schema or "main", name) == "BASE TABLE"


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
