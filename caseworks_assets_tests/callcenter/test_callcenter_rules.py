"""The callcenter rules without Dagster or dbt: raw repair, the sample's defects, the answers by hand."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from caseworks_assets.callcenter.answers import BY_NAME, QUESTIONS, disagreements, for_dialect, ordered
from caseworks_assets.callcenter.columns import TABLES
from caseworks_assets.callcenter.engines import raw_file, sources_engine
from caseworks_assets.callcenter.raw import REPAIRS, load_table, local_datetime, validate_inputs
from caseworks_assets.callcenter.sample import DDD_UF, MEDIAS, SALE, sample_tables
from caseworks_assets.registry import InputError
from caseworks_assets.settings import Settings
from caseworks_assets_tests.callcenter.callcenter_fixture import EXPECTED, RAW_ROWS, write_fixture


def test_raw_repairs_losslessly_and_quarantines_only_unreadable_keys(tmp_path: Path) -> None:
    result = load_table(write_fixture(tmp_path), "call_history_queue")
    assert (result.rows_read, result.clean.height, result.quarantine.height) == (9, 8, 1)
    assert result.quarantine["rule"].to_list() == ["id_int64"]
    assert '"abc"' in result.quarantine["raw_record"][0]
    calls = result.clean
    assert calls.filter(pl.col("id") == 4)["duration"].to_list() == [50, 50]  # "50.0" read as 50
    six = calls.filter(pl.col("id") == 6).row(0, named=True)
    assert six["duration"] == 60 and six["wait"] is None and six["user_id"] is None  # " 60 " kept, "xx" nulled
    assert calls.filter(pl.col("id") == 5)["team_id"].is_null().all()
    lines = load_table(tmp_path, "lines_mkt_final").clean
    assert lines["line_id"].to_list() == [10, 20]  # text " 10 " in the source
    links = load_table(tmp_path, "attendances_calls").clean
    assert links["main_connection"].to_list() == [True, True, True, True, False, True]
    assert load_table(tmp_path, "attendances").clean["monthly_value"].to_list() == [100.0, 50.0, None, 80.0, 30.0]


def test_durations_and_timestamps_read_as_exports_write_them() -> None:
    frame = pl.DataFrame(
        {
            "duration": ["125", "00:02:05", "1:00:00.5", "12,5", "x"],
            "created_at": [
                "2024-01-05 08:00:00-03",
                "2024-01-05T11:00:00Z",
                "2024-01-05 08:00:00.25",
                "05/01/2024 08:00",
                "2024-01-05 23:30:00+00",
            ],
        }
    )
    read = frame.select(
        REPAIRS["Seconds"](pl.col("duration")).alias("duration"),
        local_datetime(pl.col("created_at")).alias("created_at"),
    )
    assert read["duration"].to_list() == [125.0, 125.0, 3600.5, 12.5, None]
    wall = [value.isoformat(sep=" ") for value in read["created_at"]]
    # local wall time of the call center: an offset is converted to it, a naive time kept as it is
    assert wall == [
        "2024-01-05 08:00:00",
        "2024-01-05 08:00:00",
        "2024-01-05 08:00:00.250000",
        "2024-01-05 08:00:00",
        "2024-01-05 20:30:00",
    ]


def test_inputs_are_validated_before_a_run(tmp_path: Path) -> None:
    folder = write_fixture(tmp_path / "in")
    validate_inputs(folder)
    (folder / "attendances.csv").write_text("id,customer\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"attendances\.csv: line 1: missing column\(s\) customer_id, status_id"):
        validate_inputs(folder)
    write_fixture(folder)
    (folder / "lines_mkt_final.csv").unlink()
    with pytest.raises(InputError, match="lines_mkt_final"):
        validate_inputs(folder)


def test_the_sample_has_every_defect_class_and_the_originals_shape() -> None:
    tables = sample_tables(20_000, seed=7)
    calls = tables["call_history_queue"]
    assert calls["team_id"].null_count() > 0 and calls["user_id"].null_count() > 0
    repeated = calls.group_by("id").agg(pl.len(), pl.col("queue_log_verb_types_id").null_count().alias("open"))
    assert repeated.filter((pl.col("len") > 1) & (pl.col("open") == 0)).height > 0  # exported twice
    assert repeated.filter((pl.col("len") > 1) & (pl.col("open") == 1)).height > 0  # final status arrives late
    late = calls.filter(pl.col("queue_log_verb_types_id").is_null())["id"]
    first_final = calls.with_row_index().filter(
        pl.col("id").is_in(late.implode()) & pl.col("queue_log_verb_types_id").is_not_null()
    )
    first_open = calls.with_row_index().filter(pl.col("queue_log_verb_types_id").is_null())
    assert first_final["index"].min() > first_open["index"].min()  # the final row comes later in the file
    lines = tables["lines_mkt_final"]
    assert lines.schema["line_id"] == pl.String and calls.schema["lines_id"] == pl.Int64
    described = {int(value.strip()) for value in lines["line_id"]}
    assert set(calls["lines_id"].unique()) - described, "some lines have no marketing row"
    assert set(lines["midia"]) == set(MEDIAS)
    linked = set(tables["attendances_calls"]["token"])
    assert calls.filter(~pl.col("token").is_in(list(linked))).height > 0, "some calls have no attendance"
    assert all(DDD_UF[ddd] == uf for ddd, uf in calls.select("ddd", "uf").unique().iter_rows())
    sales = tables["attendances"].filter(pl.col("type_id") == SALE)
    assert sales.height > 0 and sales["monthly_value"].null_count() == 0
    per_weekday = calls.group_by(pl.col("created_at").dt.weekday().alias("weekday")).len()
    counts = dict(per_weekday.iter_rows())
    assert counts.get(7, 0) < counts[1] / 10, "few calls on Sundays"


def test_rows_scale_the_calls() -> None:
    small, large = sample_tables(1_000)["call_history_queue"], sample_tables(30_000)["call_history_queue"]
    assert 1_000 <= small.height < 1_100 and 30_000 <= large.height < 33_000


def _lake_from_fixture(tmp_path: Path) -> Settings:
    folder = write_fixture(tmp_path / "in")
    lake = tmp_path / "lake"
    (lake / "callcenter").mkdir(parents=True)
    for table in TABLES:
        load_table(folder, table).clean.write_parquet(raw_file(str(lake), f"raw_{table}"))
    return Settings(
        env="local", out_dir=tmp_path, data_dir=tmp_path, warehouse_path=tmp_path / "w.duckdb", lake_root=str(lake),
        spark_master="local[1]", bigquery_project=None, bigquery_location=None, gcp_credentials=None,
    )  # fmt: skip


@pytest.mark.parametrize("question", [q.name for q in QUESTIONS])
def test_answers_on_the_sources_match_the_hand_computed_ones(question: str, tmp_path: Path) -> None:
    with sources_engine(_lake_from_fixture(tmp_path)) as engine:
        answer = engine.frame(BY_NAME[question].on_sources)
    expected = EXPECTED[question]
    assert_frame_equal(ordered(BY_NAME[question], answer).select(expected.columns), expected, check_dtypes=False)


def test_disagreements_name_the_rows_that_differ() -> None:
    question = BY_NAME["calls_per_day"]
    right = EXPECTED["calls_per_day"]
    assert disagreements(question, right, right.reverse()).is_empty()
    wrong = right.with_columns(pl.when(pl.col("calls") == 2).then(3).otherwise(pl.col("calls")).alias("calls"))
    assert disagreements(question, right, wrong)["calls"].to_list() == [2]
    assert disagreements(question, right, right.head(2)).height == 1  # a day only the sources have
    nudged = right.with_columns(pl.col("avg_duration_s") + 1e-12)
    assert disagreements(question, right, nudged).is_empty()  # float noise of two engines is not a difference


def test_the_model_sql_of_every_answer_is_valid_bigquery() -> None:
    import sqlglot

    for question in QUESTIONS:
        for sql in (question.on_sources, question.on_model):
            bigquery = for_dialect(sql.format(schema='"caseworks-prod".callcenter'), "bigquery")
            assert "`caseworks-prod`.callcenter." in bigquery
            sqlglot.parse_one(bigquery, read="bigquery")


def test_an_sql_export_writing_null_as_null_or_backslash_n_loads_as_the_one_with_empty_cells(tmp_path: Path) -> None:
    """``NULL`` (BI tools) and ``\\N`` (psql's text format) are how a database export writes a null: read as one,
    a used value stays null instead of quarantining its row, and a key written so is missing, not a key "NULL"."""
    plain, nulls = write_fixture(tmp_path / "plain"), write_fixture(tmp_path / "nulls")
    attendances = (nulls / "attendances.csv").read_text()
    (nulls / "attendances.csv").write_text(attendances.replace("102,9003,1,2,\n", "102,9003,1,2,\\N\n"))
    calls = (nulls / "call_history_queue.csv").read_text()
    (nulls / "call_history_queue.csv").write_text(
        calls.replace("5,,,20", "5,NULL,\\N,20").replace(",1,\n", ",1,Null\n")
    )
    links = (nulls / "attendances_calls.csv").read_text()
    (nulls / "attendances_calls.csv").write_text(links.replace("6,104,t999,true,10", "6,104,NULL,true,10"))
    for table in ("attendances", "call_history_queue"):
        read = load_table(nulls, table)
        assert read.quarantine.height == load_table(plain, table).quarantine.height, table
        assert_frame_equal(read.clean, load_table(plain, table).clean)
        assert read.repairs.counts.get(("null_placeholder", "monthly_value" if table == "attendances" else "team_id"))
    missing_token = load_table(nulls, "attendances_calls")
    assert missing_token.quarantine["rule"].to_list() == ["token_string"]
    assert '"token":"NULL"' in missing_token.quarantine["raw_record"][0]


def test_a_parquet_export_is_read_by_its_column_names_in_any_spelling_and_nan_as_null(tmp_path: Path) -> None:
    """pandas writes an integer column with nulls as floats holding NaN, and exports name columns their own way."""
    csv_dir, parquet_dir = write_fixture(tmp_path / "csv"), write_fixture(tmp_path / "parquet")
    (parquet_dir / "attendances.csv").unlink()
    pl.DataFrame(
        {
            "ID": [100.0, 101.0, 102.0, 103.0, 104.0],
            "Customer ID": [9001.0, 9002.0, 9003.0, 9004.0, 9005.0],
            "STATUS_ID": [1.0, 1.0, 1.0, 1.0, 1.0],
            "type_id": [1.0, 1.0, 2.0, 1.0, 1.0],
            "monthly_value": [100.0, 50.0, float("nan"), 80.0, 30.0],
        }
    ).write_parquet(parquet_dir / "attendances.parquet")
    validate_inputs(parquet_dir)
    read = load_table(parquet_dir, "attendances")
    assert read.quarantine.is_empty()
    assert_frame_equal(read.clean, load_table(csv_dir, "attendances").clean)


def test_lines_without_a_single_value_are_no_records(tmp_path: Path) -> None:
    """A spreadsheet saves ``,,,,`` rows below the data, and exports end with blank lines: none is a call."""
    plain, padded = write_fixture(tmp_path / "plain"), write_fixture(tmp_path / "padded")
    calls = padded / "call_history_queue.csv"
    calls.write_text(calls.read_text() + ",,,,,,,,,,,\n\n,,,,,,,,,,,\n")
    read, expected = load_table(padded, "call_history_queue"), load_table(plain, "call_history_queue")
    assert (read.rows_read, read.clean.height, read.quarantine.height) == RAW_ROWS["call_history_queue"]
    assert_frame_equal(read.clean, expected.clean)
