"""Where the answers' SQL runs (no Dagster): DuckDB locally, BigQuery in production.

Locally the sources are the lake files Dagster's warehouse views read
(``<lake>/callcenter/raw_<table>.parquet``), attached in an in-memory DuckDB,
and the model is dbt's own DuckDB file, opened read-only: the answers open
neither Dagster's warehouse file (the IO manager holds it during a run) nor
dbt's for writing. In production both are the case's BigQuery dataset.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import duckdb
import polars as pl

from caseworks_assets.callcenter.answers import for_dialect
from caseworks_assets.callcenter.columns import CASE, TABLES
from caseworks_assets.resources.sql_literals import sql_string
from caseworks_assets.settings import Settings

RAW_TABLES = tuple(f"raw_{table}" for table in TABLES)


class Engine(Protocol):
    def frame(self, sql: str) -> pl.DataFrame:
        """The result of ``sql`` (DuckDB SQL with ``{schema}`` for the case's schema) as a polars frame."""
        ...


def raw_file(lake_root: str, table: str) -> str:
    """Lake path of a raw table's Parquet file (``table`` as ``raw_<name>``)."""
    return f"{lake_root.rstrip('/')}/{CASE}/{table}.parquet"


class DuckDBEngine:
    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection

    def frame(self, sql: str) -> pl.DataFrame:
        return self.connection.sql(sql.format(schema=CASE)).pl()


class BigQueryEngine:
    def __init__(self, settings: Settings) -> None:
        from google.cloud import bigquery

        credentials = None
        if settings.gcp_credentials:
            from google.oauth2 import service_account

            info = json.loads(base64.b64decode(settings.gcp_credentials))
            credentials = service_account.Credentials.from_service_account_info(info)
        self.project = settings.bigquery_project
        self.client = bigquery.Client(
            project=self.project, location=settings.bigquery_location, credentials=credentials
        )

    def frame(self, sql: str) -> pl.DataFrame:
        query = for_dialect(sql.format(schema=f'"{self.project}".{CASE}'), "bigquery")
        return pl.from_arrow(self.client.query(query).to_arrow())


@contextmanager
def sources_engine(settings: Settings) -> Iterator[Engine]:
    """The raw tables, as the model's sources read them."""
    if settings.env == "prod":
        yield BigQueryEngine(settings)
        return
    with duckdb.connect() as connection:
        connection.execute(f"create schema {CASE}")
        for table in RAW_TABLES:
            path = sql_string(raw_file(settings.lake_root, table))
            connection.execute(f"create view {CASE}.{table} as select * from read_parquet({path})")
        yield DuckDBEngine(connection)


@contextmanager
def model_engine(settings: Settings) -> Iterator[Engine]:
    """The dbt models: dbt's DuckDB file opened read-only, or the case's BigQuery dataset."""
    if settings.env == "prod":
        yield BigQueryEngine(settings)
        return
    with duckdb.connect(str(settings.dbt_warehouse_path), read_only=True) as connection:
        yield DuckDBEngine(connection)
