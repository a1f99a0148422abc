"""The serving store: its schema migrated by Alembic, then loaded; DuckDB snapshots or PostgreSQL.

* **DuckDB snapshot** (local default): each publication is a new file
  ``<folder>/snapshots/<version>.duckdb``, migrated and loaded while nobody reads
  it, then made current by atomically replacing the pointer file ``CURRENT``
  (write a temporary file, rename it over the pointer). The API opens the current file
  read-only and notices a new pointer on its next request: no restart, and it
  never holds the warehouse's writer lock (the snapshot is not the warehouse).
  The previous snapshot is kept for requests still reading it; older ones go.
* **PostgreSQL** (``CASEWORKS_CRM_DATABASE_URL``): migrations and the load run in
  one transaction, so readers see the old data until the new data commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.ddl.impl import DefaultImpl
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
POINTER = "CURRENT"
SNAPSHOTS = "snapshots"
KEEP_SNAPSHOTS = 2

INTERACTION_COLUMNS = ("customer_id", "channel", "started_at", "day", "month", "topic")
CUSTOMER_COLUMNS = ("customer_id", "occupation", "customer_type")


class AlembicDuckDBImpl(DefaultImpl):
    """Lets Alembic run on DuckDB through the ``duckdb_engine`` SQLAlchemy dialect (registered by subclassing)."""

    __dialect__ = "duckdb"
    transactional_ddl = True


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision of the serving schema."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def migrate(connection: sa.Connection) -> str:
    """Bring the serving schema on ``connection`` to the newest revision; return it."""
    command.upgrade(alembic_config(connection), "head")
    return head_revision()


def sqlalchemy_url(url: str) -> str:
    """``postgresql://`` URLs use psycopg 3 (the driver installed); other URLs are taken as they are."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class ServingData:
    """What the API serves, built from the clean tables."""

    customers: pl.DataFrame
    interactions: pl.DataFrame
    channels: list[str]

    @classmethod
    def from_clean(cls, customers: pl.DataFrame, interactions: pl.DataFrame) -> ServingData:
        """The serving columns; rows in the clean tables' order (a DuckDB snapshot sorts them as it loads)."""
        return cls(
            customers=customers.select(CUSTOMER_COLUMNS),
            interactions=interactions.select(INTERACTION_COLUMNS),
            channels=sorted(interactions["channel"].unique().to_list()),
        )


def new_version() -> str:
    """A version that sorts by publication time: ``20261206T211600123456Z``."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _meta(version: str, data: ServingData) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "key": ["version", "published_at", "customers", "interactions"],
            "value": [
                version,
                datetime.now(UTC).isoformat(timespec="seconds"),
                str(data.customers.height),
                str(data.interactions.height),
            ],
        }
    )


# --------------------------------------------------------------------------- DuckDB snapshots


def current_snapshot(folder: Path) -> Path | None:
    """The snapshot file the pointer names, or None before the first publication."""
    try:
        name = (folder / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return folder / SNAPSHOTS / name if name else None


def publish_snapshot(folder: Path, data: ServingData, version: str | None = None) -> tuple[str, Path, str]:
    """Write a new snapshot (migrations, then the load), then make it current; return (version, file, revision)."""
    version = version or new_version()
    snapshots = folder / SNAPSHOTS
    snapshots.mkdir(parents=True, exist_ok=True)
    path = snapshots / f"{version}.duckdb"
    staging = path.with_suffix(".loading")
    staging.unlink(missing_ok=True)
    engine = sa.create_engine(f"duckdb:///{staging}", poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            revision = migrate(connection)
    finally:
        engine.dispose()
    with duckdb.connect(str(staging)) as con:
        con.execute("BEGIN")
        for table, frame, order in (
            ("customers", data.customers, " ORDER BY customer_id"),
            ("interactions", data.interactions, " ORDER BY customer_id, started_at"),
            ("channels", pl.DataFrame({"channel": data.channels}, schema={"channel": pl.String}), ""),
            ("serving_meta", _meta(version, data), ""),
        ):
            # sorted by customer as they are written: DuckDB's zone maps then narrow a customer's lookup to a
            # few row groups (no index); DuckDB's parallel sort costs less than sorting the frame beforehand
            con.register("incoming", frame)
            con.execute(f"INSERT INTO {table} ({', '.join(frame.columns)}) SELECT * FROM incoming{order}")
            con.unregister("incoming")
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    staging.replace(path)
    pointer = folder / f".{POINTER}.{version}"
    pointer.write_text(path.name, encoding="utf-8")
    pointer.replace(folder / POINTER)  # the swap: readers see the old file or the new one, never a mix
    _prune(snapshots, keep=path.name)
    return version, path, revision


def _prune(snapshots: Path, keep: str) -> None:
    """Drop snapshots older than the newest :data:`KEEP_SNAPSHOTS` (a reader still in one keeps its open file)."""
    files = sorted(snapshots.glob("*.duckdb"), reverse=True)
    for old in files[KEEP_SNAPSHOTS:]:
        if old.name != keep:
            old.unlink(missing_ok=True)


# --------------------------------------------------------------------------- PostgreSQL


def _copy(connection: sa.Connection, table: str, frame: pl.DataFrame) -> None:
    """COPY ``frame`` into ``table`` as CSV through psycopg (a null is an empty unquoted field)."""
    driver = connection.connection.driver_connection
    columns = ", ".join(frame.columns)
    with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(frame.write_csv(include_header=False, datetime_format="%Y-%m-%d %H:%M:%S%.f"))


def load_postgres(url: str, data: ServingData, version: str | None = None) -> tuple[str, str]:
    """Migrate and replace the serving tables' contents in one transaction; return (version, revision)."""
    version = version or new_version()
    engine = sa.create_engine(sqlalchemy_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            revision = migrate(connection)
            for table in ("interactions", "channels", "customers", "serving_meta"):
                connection.execute(sa.text(f"DELETE FROM {table}"))
            _copy(connection, "customers", data.customers)
            _copy(connection, "interactions", data.interactions)
            _copy(connection, "channels", pl.DataFrame({"channel": data.channels}, schema={"channel": pl.String}))
            _copy(connection, "serving_meta", _meta(version, data))
    finally:
        engine.dispose()
    return version, revision
