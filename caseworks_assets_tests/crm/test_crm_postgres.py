"""PostgreSQL as the serving store: a real server on 127.0.0.1, migrations, load, and the same answers as DuckDB."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from caseworks_assets.crm import queries
from caseworks_assets.crm.api import create_app
from caseworks_assets.crm.queries import Filters, PostgresReader, SnapshotReader
from caseworks_assets.crm.store import head_revision, sqlalchemy_url
from caseworks_assets_tests.crm.conftest import KEY
from caseworks_assets_tests.crm.crm_kit import materialize_crm, write_fixture
from caseworks_assets_tests.postgres import postgres_installed, postgres_server

pytestmark = pytest.mark.skipif(not postgres_installed(), reason="PostgreSQL is not installed (.ci/run installs it)")

PATHS = [
    "/api/v1/interactions/1",
    "/api/v1/interactions/4",
    "/api/v1/interactions/1?channel=email&date_from=2019-10-01&date_to=2019-10-31",
    "/api/v1/interactions/1?topic=Mortgage",
    "/api/v1/interactions?customer_type=Business&page_size=1",
    "/api/v1/interactions?page=2&page_size=2",
    "/api/v1/statistics",
    "/api/v1/statistics?channel=Call",
    "/api/v1/customers/3",
    "/api/v1/customers/99",
    "/api/v1/interactions/1?date_from=2019-10-06&date_to=2019-10-05",
]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_server(database="crm") as server:
        yield server.url


def test_migrations_load_and_answers_match_duckdb(
    postgres_url: str, reader: SnapshotReader, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("crm_pg")
    result = materialize_crm(write_fixture(root / "data"), root / "out", database_url=postgres_url)
    assert result.success
    published = result.asset_materializations_for_node("crm__serving_store")[0].metadata
    assert published["store"].value == "postgresql"
    engine = sa.create_engine(sqlalchemy_url(postgres_url))
    with engine.connect() as connection:
        assert connection.execute(sa.text("select version_num from alembic_version")).scalar() == head_revision()
        indexes = connection.execute(sa.text("select indexname from pg_indexes where tablename = 'interactions'"))
        assert "ix_interactions_customer_day" in {row[0] for row in indexes}
    engine.dispose()
    assert not (root / "out" / "crm" / "serving").exists()  # nothing published to the embedded store

    postgres = PostgresReader(postgres_url)
    assert postgres.version() == published["version"].value
    assert queries.statistics(postgres, Filters()) == queries.statistics(reader, Filters())
    headers = {"Authorization": f"Bearer {KEY}"}
    with (
        TestClient(create_app(postgres, [KEY])) as on_postgres,
        TestClient(create_app(reader, [KEY])) as on_duckdb,
    ):
        for path in PATHS:
            expected = on_duckdb.get(path, headers=headers)
            answered = on_postgres.get(path, headers=headers)
            assert (answered.status_code, answered.json()) == (expected.status_code, expected.json()), path
        assert on_postgres.get("/healthz").json()["store"] == "postgresql"

    # a second load replaces the data in one transaction and moves the version
    again = materialize_crm(root / "data", root / "out", database_url=postgres_url)
    assert again.success
    assert postgres.version() != published["version"].value
    assert queries.customer_interactions(postgres, 1, Filters())["interactions"] == {"Bird": 0, "Call": 2, "Email": 1}
    postgres.engine.dispose()


def test_the_server_listens_on_loopback(postgres_url: str) -> None:
    engine = sa.create_engine(sqlalchemy_url(postgres_url))
    with engine.connect() as connection:
        assert connection.execute(sa.text("select inet_server_addr()::text")).scalar().startswith("127.0.0.1")
    engine.dispose()
