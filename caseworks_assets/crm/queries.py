"""The API's answers, as SQL on the serving store (DuckDB snapshot or PostgreSQL), no web framework here.

A :class:`ServingReader` runs parameterised SQL (``:name`` placeholders) on the
current data: :class:`SnapshotReader` follows the snapshot pointer (a new
snapshot is picked up on the next query, the old one stays open for queries
already running on it), :class:`PostgresReader` uses a connection pool.
The answer functions take a reader, so the API, the demo's summary, the
benchmark's direct queries and the tests ask the same questions.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import duckdb
import sqlalchemy as sa

from caseworks_assets.crm.store import POINTER, current_snapshot, sqlalchemy_url


class NoDataError(RuntimeError):
    """Nothing has been published yet."""


class ServingReader(Protocol):
    kind: str
    #: whether answers computed once per data version (:func:`channel_counts`) are worth building: a server
    #: answering many requests on a snapshot, not a store changing in place nor a reader asked a few questions
    caches_answers: bool

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple]: ...

    def version(self) -> str: ...

    def memo(self, name: str, compute: Callable[[], Any]) -> Any: ...

    def ready(self, name: str) -> Any | None: ...

    def close(self) -> None: ...


_PLACEHOLDER = re.compile(r"(?<!:):([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class _Snapshot:
    """One open snapshot: its connection, version and the answers computed once on it (it never changes)."""

    stamp: tuple[int, int]
    connection: duckdb.DuckDBPyConnection
    version: str
    memo: dict[str, Any] = field(default_factory=dict)
    building: threading.RLock = field(default_factory=threading.RLock)  # a memo may use another memo


class SnapshotReader:
    """Reads the current DuckDB snapshot of ``folder`` read-only, reopening when the pointer moves.

    Per snapshot it keeps a memo of answers computed once (the snapshot is read-only): a new
    publication opens a new :class:`_Snapshot` with an empty memo, while requests already
    holding the old one finish on it.
    """

    kind = "duckdb"

    def __init__(self, folder: Path, caches_answers: bool = True) -> None:
        self.folder = folder
        self.caches_answers = caches_answers
        self._lock = threading.Lock()
        self._state: _Snapshot | None = None
        self._local = threading.local()  # one cursor per thread and snapshot: opening one per query costs

    def _pointer_stamp(self) -> tuple[int, int] | None:
        try:
            stat = (self.folder / POINTER).stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    def snapshot(self) -> _Snapshot:
        """The current snapshot (opened once per publication); a thread computing a memo stays on its own."""
        pinned = getattr(self._local, "pinned", None)
        if pinned is not None:
            return pinned
        stamp = self._pointer_stamp()
        if stamp is None:
            raise NoDataError(f"no crm snapshot published in {self.folder}")
        state = self._state
        if state is not None and state.stamp == stamp:
            return state
        with self._lock:
            state = self._state
            if state is None or state.stamp != stamp:
                path = current_snapshot(self.folder)
                if path is None:
                    raise NoDataError(f"no crm snapshot published in {self.folder}")
                # one thread per query: the API's questions are point lookups, and a server answering many at
                # once gains nothing from splitting each one (it costs twice the CPU)
                con = duckdb.connect(str(path), read_only=True)
                con.execute("SET threads = 1")
                version = con.execute("SELECT value FROM serving_meta WHERE key = 'version'").fetchone()[0]  # type: ignore[index]
                # the previous connection is not closed: queries still running on it finish there
                state = self._state = _Snapshot(stamp, con, version)
        return state

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple]:
        state = self.snapshot()
        local = self._local
        if getattr(local, "state", None) is not state:
            local.cursor, local.state = state.connection.cursor(), state
        return local.cursor.execute(_PLACEHOLDER.sub(r"$\1", sql), params).fetchall()

    def version(self) -> str:
        return self.snapshot().version

    def close(self) -> None:
        """Close the open snapshot's connection, and with it every thread's cursor; a later query reopens it."""
        with self._lock:
            state, self._state = self._state, None
        if state is not None:
            state.connection.close()

    def memo(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per snapshot, every query of it on that same snapshot (a snapshot never changes)."""
        state = self.snapshot()
        if name in state.memo:
            return state.memo[name]
        with state.building:  # concurrent first requests wait for one computation instead of each running it
            if name not in state.memo:
                outer = getattr(self._local, "pinned", None)
                self._local.pinned = state
                try:
                    state.memo[name] = compute()
                finally:
                    self._local.pinned = outer
        return state.memo[name]

    def ready(self, name: str) -> Any | None:
        """The memo ``name`` of the current snapshot if it is computed already, else None; no query, no wait.

        One ``stat`` of the pointer tells whether the snapshot is still current (a new publication: None,
        until a request computes the memo on the new snapshot)."""
        state = self._state
        if state is None or state.stamp != self._pointer_stamp():
            return None
        return state.memo.get(name)


class PostgresReader:
    """Reads the PostgreSQL serving store through a pool of connections."""

    kind = "postgresql"
    caches_answers = False  # the tables change in place: a cached answer could outlive its data

    def __init__(self, url: str, pool_size: int = 8) -> None:
        self.engine = sa.create_engine(sqlalchemy_url(url), pool_size=pool_size, max_overflow=8, pool_pre_ping=True)

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(sql), params)]

    def version(self) -> str:
        rows = self.rows("SELECT value FROM serving_meta WHERE key = 'version'", {})
        if not rows:
            raise NoDataError("no crm data loaded in the PostgreSQL serving store")
        return rows[0][0]

    def memo(self, name: str, compute: Callable[[], Any]) -> Any:
        """No cache: the tables change in place, a cached answer could outlive its data."""
        return compute()

    def ready(self, name: str) -> Any | None:
        """Never: nothing is cached (see :meth:`memo`)."""
        return None

    def close(self) -> None:
        """Close the pool's connections."""
        self.engine.dispose()


def reader_for(database_url: str | None, folder: Path, caches_answers: bool = True) -> ServingReader:
    """PostgreSQL when a URL is given, else the snapshots in ``folder``.

    ``caches_answers=False`` for a reader asked a few questions only (the run's example requests): building
    :class:`ChannelCounts` over every customer costs more than the few queries it would save."""
    return PostgresReader(database_url) if database_url else SnapshotReader(folder, caches_answers)


# --------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class Filters:
    """Which interactions count: channels (canonical names), an inclusive day range, a topic."""

    channels: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    topic: str | None = None

    def where(self, alias: str = "") -> tuple[str, dict[str, Any]]:
        """SQL conditions (joined by AND, starting with AND) and their parameters."""
        prefix = f"{alias}." if alias else ""
        sql, params = [], {}
        if self.channels:
            names = [f"ch{i}" for i in range(len(self.channels))]
            sql.append(f"{prefix}channel IN ({', '.join(':' + n for n in names)})")
            params |= dict(zip(names, self.channels, strict=True))
        if self.date_from is not None:
            sql.append(f"{prefix}day >= :date_from")
            params["date_from"] = self.date_from
        if self.date_to is not None:
            sql.append(f"{prefix}day <= :date_to")
            params["date_to"] = self.date_to
        if self.topic is not None:
            sql.append(f"{prefix}topic = :topic")
            params["topic"] = self.topic
        return "".join(f" AND {condition}" for condition in sql), params


def known_channels(reader: ServingReader) -> list[str]:
    return reader.memo(
        "channels", lambda: [row[0] for row in reader.rows("SELECT channel FROM channels ORDER BY channel", {})]
    )


def _counts(channels: Sequence[str], found: dict[str, int]) -> dict[str, int]:
    return {channel: int(found.get(channel, 0)) for channel in channels}


def listed_channels(reader: ServingReader, filters: Filters) -> list[str]:
    """The channels an answer lists: every known channel, or the filtered ones."""
    return list(filters.channels) if filters.channels else known_channels(reader)


def customer(reader: ServingReader, customer_id: int) -> dict[str, Any] | None:
    rows = reader.rows(
        "SELECT c.customer_id, c.occupation, c.customer_type, "
        "(SELECT count(*) FROM interactions i WHERE i.customer_id = c.customer_id) "
        "FROM customers c WHERE c.customer_id = :customer_id",
        {"customer_id": customer_id},
    )
    if not rows:
        return None
    cid, occupation, customer_type, total = rows[0]
    return {"customer_id": cid, "occupation": occupation, "customer_type": customer_type, "interactions": total}


CHANNEL_COUNTS = "channel_counts"


@dataclass(frozen=True)
class ChannelCounts:
    """Every customer's interactions per known channel over all time: one snapshot's unfiltered answers.

    Built once per snapshot (a read-only file) by one grouped query, so the API's most common
    question -- a customer's counts with no filter, or only a channel filter -- is a dictionary
    lookup instead of a query. ``per_customer`` holds every customer, with zeros when none.
    """

    channels: tuple[str, ...]
    per_customer: dict[int, tuple[int, ...]]

    @classmethod
    def build(cls, reader: ServingReader) -> ChannelCounts:
        channels = tuple(known_channels(reader))
        names = [f"ch{i}" for i in range(len(channels))]
        counts = "".join(f", count(i.channel) FILTER (WHERE i.channel = :{name})" for name in names)
        rows = reader.rows(
            f"SELECT c.customer_id{counts} FROM customers c LEFT JOIN interactions i "
            "ON i.customer_id = c.customer_id GROUP BY c.customer_id",
            dict(zip(names, channels, strict=True)),
        )
        return cls(channels, {row[0]: tuple(map(int, row[1:])) for row in rows})

    @staticmethod
    def applies(filters: Filters) -> bool:
        """All-time counts answer a channel filter, not a day range or a topic."""
        return filters.date_from is None and filters.date_to is None and filters.topic is None

    def answer(self, customer_id: int, filters: Filters) -> dict[str, Any] | None:
        """What :func:`customer_interactions` answers, for filters that :meth:`applies` to."""
        counts = self.per_customer.get(customer_id)
        if counts is None:
            return None
        found = dict(zip(self.channels, counts, strict=True))
        return {"customer_id": customer_id, "interactions": _counts(filters.channels or self.channels, found)}


def channel_counts(reader: ServingReader) -> ChannelCounts | None:
    """The snapshot's :class:`ChannelCounts` (computed on first use); None where a reader caches no answers."""
    if not reader.caches_answers:
        return None
    return reader.memo(CHANNEL_COUNTS, lambda: ChannelCounts.build(reader))


def customer_interactions(reader: ServingReader, customer_id: int, filters: Filters) -> dict[str, Any] | None:
    """``{"customer_id": 1, "interactions": {"Email": 1, "Call": 0, ...}}``, or None for an unknown customer.

    From the snapshot's :class:`ChannelCounts` when the filters allow it, else by SQL."""
    counts = channel_counts(reader) if ChannelCounts.applies(filters) else None
    if counts is not None:
        return counts.answer(customer_id, filters)
    return customer_interactions_sql(reader, customer_id, filters)


def customer_interactions_sql(reader: ServingReader, customer_id: int, filters: Filters) -> dict[str, Any] | None:
    """:func:`customer_interactions` asked of the store's tables (any filter, any store)."""
    where, params = filters.where("i")
    found = reader.rows(
        "SELECT i.channel, count(i.channel) FROM customers c LEFT JOIN interactions i "
        f"ON i.customer_id = :customer_id{where} WHERE c.customer_id = :customer_id GROUP BY i.channel",
        {"customer_id": customer_id, **params},
    )
    if not found:  # not even the customer's own row: no such customer
        return None
    counts = {channel: n for channel, n in found if channel is not None}
    return {"customer_id": customer_id, "interactions": _counts(listed_channels(reader, filters), counts)}


def interactions_page(
    reader: ServingReader, filters: Filters, customer_type: str | None, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of customers (by id) with their counts per channel, and the number of customers in all pages."""
    # a type in any case: the clean table holds one spelling of each (rules.one_spelling)
    type_sql = " WHERE lower(customer_type) = lower(:customer_type)" if customer_type is not None else ""
    type_params = {"customer_type": customer_type} if customer_type is not None else {}
    total = reader.rows(f"SELECT count(*) FROM customers{type_sql}", type_params)[0][0]
    ids = [
        row[0]
        for row in reader.rows(
            f"SELECT customer_id FROM customers{type_sql} ORDER BY customer_id LIMIT :limit OFFSET :offset",
            {**type_params, "limit": page_size, "offset": (page - 1) * page_size},
        )
    ]
    channels = listed_channels(reader, filters)
    if not ids:
        return [], int(total)
    where, params = filters.where("i")
    found = reader.rows(
        "SELECT i.customer_id, i.channel, count(*) FROM interactions i "
        f"WHERE i.customer_id BETWEEN :first AND :last{where} GROUP BY i.customer_id, i.channel",
        {"first": ids[0], "last": ids[-1], **params},
    )
    per_customer: dict[int, dict[str, int]] = {}
    for cid, channel, n in found:
        per_customer.setdefault(cid, {})[channel] = n
    return [{"customer_id": cid, "interactions": _counts(channels, per_customer.get(cid, {}))} for cid in ids], int(
        total
    )


def statistics(reader: ServingReader, filters: Filters) -> dict[str, Any]:
    """Interactions per channel (every known channel), per customer type, per month and per topic."""
    where, params = filters.where("i")
    base = f"FROM interactions i WHERE 1 = 1{where}"
    per_channel = dict(reader.rows(f"SELECT i.channel, count(*) {base} GROUP BY i.channel", params))
    per_type = reader.rows(
        "SELECT c.customer_type, count(*) FROM interactions i JOIN customers c ON c.customer_id = i.customer_id "
        f"WHERE 1 = 1{where} GROUP BY c.customer_type ORDER BY c.customer_type NULLS LAST",
        params,
    )
    per_month = reader.rows(f"SELECT i.month, count(*) {base} GROUP BY i.month ORDER BY i.month", params)
    per_topic = reader.rows(f"SELECT i.topic, count(*) {base} GROUP BY i.topic ORDER BY i.topic NULLS LAST", params)
    return {
        "total": int(sum(per_channel.values())),
        "per_channel": _counts(listed_channels(reader, filters), per_channel),
        "per_customer_type": [{"customer_type": t, "interactions": int(n)} for t, n in per_type],
        "per_month": [{"month": m.strftime("%Y-%m"), "interactions": int(n)} for m, n in per_month],
        "per_topic": [{"topic": t, "interactions": int(n)} for t, n in per_topic],
    }


def daily_counts(reader: ServingReader) -> list[tuple[str, date, int]]:
    """Interactions per channel and day: the series the anomaly sensor scores."""
    return reader.rows("SELECT channel, day, count(*) FROM interactions GROUP BY channel, day ORDER BY 1, 2", {})
