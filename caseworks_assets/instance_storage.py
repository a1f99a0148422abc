"""Dagster's SQLite run and event storage, keeping one SQLAlchemy engine per database file.

Dagster's SQLite storages create and dispose of an engine around every
statement. Each new engine starts with an empty compiled-statement cache, so
every stored event also pays for compiling its INSERT again. A CLI run of the
support case stores about 440 events (the index database mirrors every asset
event and check result), and building engines was a tenth of its wall time.

These subclasses keep the engines (at most :data:`MAX_ENGINES` event-log
shards, least recently used dropped) and change nothing else: the same files,
schema and migrations, the same lock around each connection, ``NullPool`` so
no connection stays open between statements, and the webserver and daemon
share the files as before. The instance ``caseworks`` writes
(``DAGSTER_HOME/dagster.yaml``) names them; delete those lines to go back to
Dagster's classes, nothing on disk changes. Production deployments use a
Postgres instance and never load this module.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from dagster import Field, StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

#: Event-log databases (one per run, plus the index) whose engines are kept; a webserver reading old runs
#: opens many, a CLI run two.
MAX_ENGINES = 64


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    """An engine that opens a connection per use and closes it after, as Dagster's own do."""
    return create_engine(url, poolclass=NullPool, **kwargs)


def _history_dir(*parts: str) -> str:
    """Dagster's default location under ``DAGSTER_HOME`` (``history/``, ``history/runs/``)."""
    return str(Path(os.environ["DAGSTER_HOME"], "history", *parts))


def _base_dir_config() -> Mapping[str, Field]:
    return {"base_dir": Field(StringSource, is_required=False, description="default: DAGSTER_HOME's")}


class CachedEngineSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` that builds one engine per shard (run database or index) and keeps it."""

    def __init__(self, base_dir: str | None = None, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir or _history_dir("runs"), inst_data)

    @classmethod
    def config_type(cls) -> Mapping[str, Field]:
        return _base_dir_config()

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> CachedEngineSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
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

    def wipe(self) -> None:
        super().wipe()
        with self._db_lock:
            self._engines.clear()


class CachedEngineSqliteRunStorage(SqliteRunStorage):
    """``SqliteRunStorage`` with one engine for its one database (``history/runs.db``)."""

    @classmethod
    def config_type(cls) -> Mapping[str, Field]:
        return _base_dir_config()

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> CachedEngineSqliteRunStorage:
        return cls.from_local(inst_data=inst_data, base_dir=config_value.get("base_dir") or _history_dir())

    @cached_property
    def _engine(self) -> Engine:
        return _sqlite_engine(self._conn_string)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn
