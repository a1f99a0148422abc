"""The crm case end to end through Dagster on the hand-written export: clean tables, quarantine, checks, answers."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb

from caseworks_assets.code_location import build_definitions
from caseworks_assets.crm import queries
from caseworks_assets.crm.queries import Filters, SnapshotReader
from caseworks_assets.crm.serving import snapshot_folder
from caseworks_assets.crm.store import current_snapshot, head_revision
from caseworks_assets.settings import Settings
from caseworks_assets_tests.crm.crm_kit import CHANNELS, CUSTOMER_1, NO_INTERACTIONS, QUARANTINED, STATISTICS


def _warehouse(out: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)


def test_the_case_loads_alone_with_its_assets_checks_and_sensor(caseworks_env: Settings) -> None:
    defs = build_definitions(caseworks_env, cases=["crm"])
    graph = defs.resolve_asset_graph()
    names = {key.path[-1] for key in graph.get_all_asset_keys() if key.path[0] == "crm"}
    assert {"raw_customers", "raw_interactions", "raw_products", "customers", "interactions", "products"} <= names
    assert {"quarantine", "serving_store"} <= names
    assert defs.resolve_sensor_def("crm_interaction_anomalies") is not None
    assert defs.resolve_job_def("crm_job") is not None


def test_clean_tables_hold_the_hand_computed_rows(crm_out: Path) -> None:
    with _warehouse(crm_out) as con:
        customers = con.execute("select * from crm.customers order by customer_id").fetchall()
        interactions = con.execute(
            "select customer_id, channel, day, topic from crm.interactions order by customer_id, started_at"
        ).fetchall()
        products = con.execute("select month, product from crm.products order by month").fetchall()
    assert customers == [
        (1, "Engineer", "Business"),
        (2, "Teacher", "Individual"),
        (3, None, None),
        (4, "Nurse", "Business"),
    ]
    assert interactions == [
        (1, "Email", date(2019, 10, 4), "Mortgage"),  # day first: 04/10 is 4 October
        (1, "Call", date(2019, 10, 5), "Mortgage"),
        (1, "Call", date(2019, 11, 12), "Credit card"),
        (2, "Bird", date(2019, 10, 13), "Mortgage"),
        (2, "Email", date(2019, 12, 1), None),  # December has no product of discussion
        (3, "Email", date(2019, 11, 2), "Credit card"),
    ]
    assert products == [(date(2019, 10, 1), "Mortgage"), (date(2019, 11, 1), "Credit card")]


def test_every_rejected_row_is_in_quarantine_with_its_rule_and_raw_record(crm_out: Path) -> None:
    with _warehouse(crm_out) as con:
        rows = con.execute('select "table", rule, raw_record from crm.quarantine').fetchall()
    counted: dict[tuple[str, str], int] = {}
    for table, rule, _raw in rows:
        counted[(table, rule)] = counted.get((table, rule), 0) + 1
    assert counted == QUARANTINED
    raw = {rule: json.loads(record) for table, rule, record in rows if table == "interactions"}
    assert raw["customer_unknown"]["customer_id"] == "99"
    assert raw["date_start_invalid"]["date_start"] == "31/02/2019 10:00"
    assert raw["date_start_invalid"]["source_file"] == "interactions.csv"
    assert raw["duplicate"]["channel"] == " email "  # the raw record keeps the value as it was


def test_answers_on_the_published_snapshot(reader: SnapshotReader) -> None:
    assert queries.known_channels(reader) == CHANNELS
    assert queries.customer_interactions(reader, 1, Filters())["interactions"] == CUSTOMER_1
    assert queries.customer_interactions(reader, 4, Filters())["interactions"] == NO_INTERACTIONS
    assert queries.customer_interactions(reader, 99, Filters()) is None
    # filters: channel, inclusive day range, topic
    assert queries.customer_interactions(reader, 1, Filters(channels=("Email",)))["interactions"] == {"Email": 1}
    one_day = Filters(date_from=date(2019, 10, 5), date_to=date(2019, 10, 5))
    assert queries.customer_interactions(reader, 1, one_day)["interactions"] == {"Bird": 0, "Call": 1, "Email": 0}
    from_oct5 = Filters(date_from=date(2019, 10, 5))
    assert queries.customer_interactions(reader, 1, from_oct5)["interactions"] == {"Bird": 0, "Call": 2, "Email": 0}
    mortgage = Filters(topic="Mortgage")
    assert queries.customer_interactions(reader, 1, mortgage)["interactions"] == {"Bird": 0, "Call": 1, "Email": 1}
    assert queries.statistics(reader, Filters()) == STATISTICS
    assert queries.customer(reader, 3) == {
        "customer_id": 3,
        "occupation": None,
        "customer_type": None,
        "interactions": 1,
    }


def test_the_snapshot_carries_the_newest_schema_revision(crm_out: Path) -> None:
    path = current_snapshot(snapshot_folder(crm_out))
    assert path is not None and path.exists()
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select version_num from alembic_version").fetchall() == [(head_revision(),)]


def test_precomputed_counts_agree_with_sql_for_every_filter_combination(reader: SnapshotReader) -> None:
    """The snapshot's in-memory counts answer only where they apply; every answer equals the SQL's."""
    for channels in ((), ("Email",), ("Call", "Bird")):
        for date_from in (None, date(2019, 10, 5)):
            for date_to in (None, date(2019, 11, 30)):
                for topic in (None, "Mortgage"):
                    filters = Filters(channels=channels, date_from=date_from, date_to=date_to, topic=topic)
                    for customer_id in (1, 2, 3, 4, 99):
                        fast = queries.customer_interactions(reader, customer_id, filters)
                        assert fast == queries.customer_interactions_sql(reader, customer_id, filters), filters
    counts = reader.ready(queries.CHANNEL_COUNTS)
    assert counts is not None and counts.channels == tuple(CHANNELS)
    assert not counts.applies(Filters(topic="Mortgage")) and counts.applies(Filters(channels=("Email",)))
