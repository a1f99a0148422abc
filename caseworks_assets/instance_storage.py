"""Dagster's SQLite run and event storage, keeping one SQLAlchemy engine and connection per database.

Dagster's SQLite storages create an engine, open a connection, run one
statement, commit with an fsync and dispose of it all, around every event.
Each new engine also starts with an empty compiled-statement cache and looks
the schema up again. A CLI run of the support case stores about 440 events
(the index database mirrors every asset event and check result), and that
bookkeeping took about a second per monthly run, as long as applying a
200k-row delta.

These subclasses keep an engine per database (at most :data:`MAX_ENGINES`
event-log shards, least recently used dropped) with one open connection, and
commit with ``synchronous=NORMAL``, in WAL mode from a new database's first
statement (see :func:`_sqlite_engine`). Everything
else is Dagster's: the same files, schema and migrations, the same lock around
each statement; the webserver and daemon share the files as before. The
instance ``caseworks`` writes (``DAGSTER_HOME/dagster.yaml``) names them;
delete those lines to go back to Dagster's classes, nothing on disk changes.
Production deployments use a Postgres instance and never load this module.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from dagster._core.storage.event_log.sqlite.consolidated_sqlite_event_log import ConsolidatedSqliteEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

#: Event-log databases (one per run, plus the index) whose engines are kept; a webserver reading old runs
#: opens many, a CLI run two.
MAX_ENGINES = 64


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    """An engine keeping one open connection to a WAL database, committing without an fsync each time.

    The storage's lock lets one statement run at a time, so one pooled
    connection serves it (a few more may open for a nested lookup). Dagster's
    databases are in WAL mode, where ``synchronous=NORMAL`` cannot corrupt
    them: a power cut may only lose the last events before it.
    """
    engine = create_engine(url, pool_size=1, max_overflow=4, **kwargs)
    event.listen(engine, "connect", _wal_without_fsync)
    return engine


def _wal_without_fsync(dbapi_connection: Any, _record: Any) -> None:
    """WAL from the first statement on, committing without an fsync.

    Dagster switches a database to WAL only after creating its schema, and
    Python's ``sqlite3`` commits each ``CREATE`` on its own: in the default
    rollback-journal mode, some 70 fsyncs of the file, its journal and its
    folder for every run's new event-log database (fast on an idle disk,
    tens of milliseconds each on a busy one). On a WAL database the pragma
    changes nothing.
    """
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class CachedEngineSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` that builds one engine per shard (run database or index) and keeps it."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._tables: set[str] = set()
        # innermost lock: taken under Dagster's statement lock, and alone by has_table
        self._engines_lock = threading.Lock()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> CachedEngineSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            return self._kept_engine(shard)

    def _kept_engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = _sqlite_engine(
                self.conn_string_for_shard(shard), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
            )
        self._engines[shard] = engine  # most recently used last
        while len(self._engines) > MAX_ENGINES:
            self._engines.popitem(last=False)[1].dispose()
        # checked on every connection, as Dagster does: a wipe forgets which databases exist
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock, self._engine(shard).connect() as conn, conn.begin():
            yield conn

    def has_table(self, table_name: str) -> bool:
        """Whether the index has ``table_name``; Dagster asks before every tagged asset event and check.

        Only a table's presence is remembered: migrations add tables, nothing
        here drops one.
        """
        if table_name not in self._tables:
            engine = self._engine(INDEX_SHARD_NAME)
            with engine.connect() as conn:
                if engine.dialect.has_table(conn, table_name):
                    self._tables.add(table_name)
        return table_name in self._tables

    def wipe(self) -> None:
        super().wipe()
        with self._db_lock, self._engines_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()


class CachedEngineSqliteRunStorage(SqliteRunStorage):
    """``SqliteRunStorage`` with one engine for its one database (``history/runs.db``)."""

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> CachedEngineSqliteRunStorage:
        return cls.from_local(inst_data=inst_data, **config_value)

    @cached_property
    def _engine(self) -> Engine:
        return _sqlite_engine(self._conn_string)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn


class CachedEngineConsolidatedSqliteEventLogStorage(ConsolidatedSqliteEventLogStorage):
    """Dagster's one-file SQLite event log (every run in one database), with one kept engine.

    An instance of many runs in one file reads across runs in one query, as a
    PostgreSQL instance does; the platform case's synthetic histories use it.
    Dagster's class opens a new engine for every statement and for every
    ``has_table`` question, about 70 ms per event on a busy disk.
    """

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> CachedEngineConsolidatedSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @cached_property
    def _engine(self) -> Engine:
        return _sqlite_engine(self._conn_string, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    def has_table(self, table_name: str) -> bool:
        with self._engine.connect() as conn:
            return bool(self._engine.dialect.has_table(conn, table_name))

    def dispose(self) -> None:
        super().dispose()
        if "_engine" in self.__dict__:
            self._engine.dispose()
