"""Bad input: clear errors for broken files, quarantine for bad rows, checks that fail on bad data."""

from __future__ import annotations

import logging
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from support_testkit import make_run, make_settings, warehouse_table

from caseworks_assets.cli import main
from caseworks_assets.quality import validate_frame
from caseworks_assets.registry import InputError
from caseworks_assets.runner import CaseRunFailed
from caseworks_assets.support import checks
from caseworks_assets.support.assets import PARTITIONED_ASSETS
from caseworks_assets.support.changes import apply_changes, duplicated_ids, to_eastern, typed_changes
from caseworks_assets.support.layout import INTERACTIONS, SOURCE_LINE, RawFile, discover, read_raw, validate_inputs
from caseworks_assets.support.sample import write_sample
from caseworks_assets.support.schemas import REPORT_SCHEMA, STATE_SCHEMAS

MONTH_KEYS = [key for asset in PARTITIONED_ASSETS for key in asset.keys]
HEADER = ",".join(INTERACTIONS.columns)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _small_inputs(root: Path) -> Path:
    """Two initial interactions (X0, X1) and a January delta with one bad row of each kind."""
    data = root / "data" / "support"
    _write(
        data / "initial" / "agents.csv",
        "agent_id,full_name,contact_center_id,hire_date,category_id\nA1,Ann,C1,2020-01-02,S1\n",
    )
    _write(data / "initial" / "contact_centers.csv", "contact_center_id,contact_center_name,location\nC1,Main,NYC\n")
    _write(data / "initial" / "service_categories.csv", "category_id,category_name,department\nS1,Billing,Finance\n")
    row = "{id},2025-01-05T12:00:00Z,phone,S1,A1,C1,{start},2025-01-05T12:05:00Z,{end},10,{rating}"
    ok = {"start": "2024-12-05T12:00:00Z", "end": "2024-12-05T12:10:00Z", "rating": "4"}
    _write(
        data / "initial" / "interactions.csv",
        "\n".join([HEADER, row.format(id="X0", **ok), row.format(id="X1", **ok)]) + "\n",
    )
    jan = {"start": "2025-01-05T12:00:00Z", "end": "2025-01-05T12:10:00Z", "rating": "4"}
    lines = [
        HEADER + ",action",
        row.format(id="X2", **jan) + ",add",  # line 2: applied
        row.format(id="X3", **jan) + ",upsert",  # line 3: bad action
        row.format(id="X4", **{**jan, "start": "2025-01-05 25:00"}) + ",add",  # line 4: bad start
        row.format(id="X5", **{**jan, "end": "yesterday"}) + ",add",  # line 5: bad end (optional: warning)
        row.format(id="X6", **{**jan, "rating": "9"}) + ",add",  # line 6: rating out of range (optional: warning)
        "NOPE,,,,,,,,,,, DELETE ",  # line 7: delete of an unknown id, id only
        row.format(id="NEW1", **jan) + ",update",  # line 8: update of an unknown id (inserted)
        row.format(id="X9", **jan) + ",add",  # line 9: superseded by line 10
        row.format(id="X9", **{**jan, "rating": "5"}) + ",Update",  # line 10: X9 added then updated: an add
        "X1,,,,,,,,,,,delete",  # line 11: delete with id only
        row.format(id=" ", **jan) + ",add",  # line 12: no id
    ]
    _write(data / "delta" / "interactions_delta_202501.csv", "\n".join(lines) + "\n")
    return data


#: The January delta's rows that :func:`_small_inputs` makes bad: (line, rule), in line order.
JANUARY_REJECTS = [
    (3, "bad_action"),
    (4, "unparseable_interaction_start"),
    (9, "superseded"),
    (12, "missing_id"),
]
#: Defects in optional attributes: the value is nulled, the row applied, a warning recorded.
JANUARY_WARNINGS = [
    (5, "unparseable_interaction_end"),
    (6, "bad_satisfaction_rating"),
]


# --------------------------------------------------------------------------- malformed folders and files


def _cli_error(tmp_path, monkeypatch, capsys, data: Path) -> str:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("CASEWORKS_OUT_DIR", str(tmp_path / "unused"))
    monkeypatch.setenv("CASEWORKS_SUPPORT_DATA_DIR", str(tmp_path / "unused"))
    code = main(["run", "support", "--data-dir", str(data), "--out-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0, err
    return err


def test_missing_initial_file_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    write_sample(data)
    (data / "initial" / "agents.csv").unlink()
    err = _cli_error(tmp_path, monkeypatch, capsys, data)
    assert "initial/agents.csv" in err and "missing initial extract" in err


def test_bad_month_in_a_delta_name_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    write_sample(data)
    (data / "delta" / "interactions_delta_202503.csv").rename(data / "delta" / "interactions_delta_202513.csv")
    err = _cli_error(tmp_path, monkeypatch, capsys, data)
    assert "interactions_delta_202513.csv" in err and "'202513'" in err and "not a YYYYMM month" in err


def test_wrong_header_names_file_and_line(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    write_sample(data)
    path = data / "delta" / "contact_centers_delta_202502.csv"
    path.write_text(path.read_text().replace("contact_center_name", "center_name", 1))
    err = _cli_error(tmp_path, monkeypatch, capsys, data)
    assert "contact_centers_delta_202502.csv, line 1: wrong header" in err
    assert "missing contact_center_name" in err and "unexpected center_name" in err


def test_missing_folder_and_ragged_csv(tmp_path):
    with pytest.raises(InputError, match="input folder not found"):
        validate_inputs(tmp_path / "nowhere")
    path = _write(tmp_path / "bad.csv", HEADER + "\nX1,a,b\nX2," + ",".join(["z"] * 14) + "\n")
    with pytest.raises(InputError, match=r"bad\.csv: malformed CSV"):
        read_raw(INTERACTIONS, path, initial=True)


def test_initial_month_without_deltas_is_the_latest_eastern_month(tmp_path):
    data = _small_inputs(tmp_path)
    (data / "delta" / "interactions_delta_202501.csv").unlink()
    # X0/X1 start 2024-12-05 -> the initial extract is December's state
    assert discover(data).months == ["2024-12"]


# --------------------------------------------------------------------------- rows: typing and quarantine


def test_typing_quarantines_bad_rows_with_their_line():
    path = "delta/interactions_delta_202501.csv"
    raw = pl.DataFrame(
        {
            "interaction_id": ["A", "B", "C", "D"],
            "timestamp": ["2025-01-01T00:00:00Z"] * 4,
            "channel": ["Phone "] * 4,
            "category_id": ["S1"] * 4,
            "agent_id": ["A1"] * 4,
            "contact_center_id": ["C1"] * 4,
            "interaction_start": ["2025-03-09T06:59:59Z", "2025-03-09T07:00:00Z", "not a time", None],
            "agent_resolution_timestamp": [None] * 4,
            "interaction_end": [None] * 4,
            "call_duration_minutes": ["3.5", None, "1", "1"],
            "satisfaction_rating": ["5", None, "1", "1"],
            "action": ["add", "add", "add", "delete"],
            "_source_file": [path] * 4,
            "_source_line": [2, 3, 4, 5],
        }
    )
    changes = typed_changes(INTERACTIONS, raw)
    rows = changes.rows.sort("_source_line")
    assert rows["interaction_id"].to_list() == ["A", "B", "D"]  # D: a delete needs only its id
    starts = rows["interaction_start"].dt.strftime("%H:%M:%S%:z").to_list()
    assert starts == ["01:59:59-05:00", "03:00:00-04:00", None]  # spring forward at 07:00 UTC
    assert rows["channel"].to_list() == ["phone", "phone", None]
    bad = changes.quarantine.row(0, named=True)
    assert (bad["line"], bad["rule"], bad["source_file"]) == (4, "unparseable_interaction_start", path)
    assert '"interaction_start":"not a time"' in bad["raw_record"]
    assert changes.rows_read == changes.rows.height + changes.quarantine.height == 4


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 7])
def test_typing_a_file_chunk_by_chunk_gives_what_typing_it_whole_gives(tmp_path, chunk_rows):
    path = _small_inputs(tmp_path) / "delta" / "interactions_delta_202501.csv"
    whole = typed_changes(INTERACTIONS, read_raw(INTERACTIONS, path, initial=False), chunk_rows=100)
    streamed = typed_changes(INTERACTIONS, RawFile(INTERACTIONS, path), chunk_rows=chunk_rows)
    assert streamed.rows.equals(whole.rows)
    assert streamed.quarantine.equals(whole.quarantine)
    assert (streamed.rows_read, streamed.counts) == (whole.rows_read, whole.counts)
    # one row of each rule, in line order, each with the record as read (line 9 is superseded by line 10)
    assert streamed.quarantine.select("line", "rule").rows() == JANUARY_REJECTS
    assert streamed.warnings.equals(whole.warnings)
    assert streamed.warnings.select("line", "rule").rows() == JANUARY_WARNINGS
    assert set(streamed.quarantine["severity"]) == {"error"} and set(streamed.warnings["severity"]) == {"warning"}
    assert '"satisfaction_rating":"9"' in streamed.warnings["raw_record"][1]
    kept = streamed.rows.filter(pl.col("interaction_id").is_in(["X5", "X6"])).sort("interaction_id")
    assert kept["interaction_end"].is_null().to_list() == [True, False]
    assert kept["satisfaction_rating"].to_list() == [4, None]
    assert streamed.quarantine["raw_record"].is_not_null().all()
    assert '"interaction_id":"X9"' in streamed.quarantine.filter(pl.col("line") == 9)["raw_record"].item()
    assert streamed.rows.filter(pl.col("interaction_id") == "X9")["action"].to_list() == ["add"]


@pytest.mark.parametrize("chunk_rows", [1, 3, 100])
def test_typing_into_spill_files_gives_what_typing_in_memory_gives(tmp_path, chunk_rows):
    """An initial extract is typed into files chunk by chunk; its rows, figures and rejects must not change."""
    path = _small_inputs(tmp_path) / "delta" / "interactions_delta_202501.csv"
    in_memory = typed_changes(INTERACTIONS, RawFile(INTERACTIONS, path), chunk_rows=chunk_rows)
    spill = tmp_path / "spill"
    spill.mkdir()
    spilled = typed_changes(INTERACTIONS, RawFile(INTERACTIONS, path), chunk_rows=chunk_rows, spill=spill)
    assert isinstance(spilled.rows, pl.LazyFrame) and len(list(spill.iterdir())) >= 1
    assert spilled.rows.collect().equals(in_memory.rows)
    assert spilled.per_action == in_memory.per_action == dict(in_memory.rows.group_by("action").len().iter_rows())
    assert spilled.rows_loaded == in_memory.rows.height
    assert spilled.quarantine.equals(in_memory.quarantine)  # the superseded row X9 (line 9) among them
    assert spilled.warnings.equals(in_memory.warnings)
    assert spilled.metadata()["rows_loaded"] == in_memory.metadata()["rows_loaded"]


def test_apply_changes_upserts_and_reports_unknown_ids():
    schema = STATE_SCHEMAS["contact_centers"]
    previous = pl.DataFrame(
        {"contact_center_id": ["C1", "C2"], "contact_center_name": ["One", "Two"], "location": ["x", "y"]},
        schema=schema,
    )
    changes = pl.DataFrame(
        {
            "contact_center_id": ["C1", "C2", "C3", "C9", "C8"],
            "contact_center_name": ["Uno", None, "Three", None, "Eight"],
            "location": ["x", None, "z", None, "w"],
            "action": ["update", "delete", "add", "delete", "update"],
        }
    )
    state, stats = apply_changes(previous, changes, "contact_center_id")
    assert sorted(state.rows()) == [("C1", "Uno", "x"), ("C3", "Three", "z"), ("C8", "Eight", "w")]
    assert stats == {
        "adds": 1,
        "updates": 2,
        "deletes": 2,
        "unknown_deletes": 1,
        "unknown_updates": 1,
        "adds_of_existing_ids": 0,
        "rows_before": 2,
        "rows_after": 3,
    }


def test_to_eastern_is_dst_aware():
    frame = pl.DataFrame({"t": ["2024-11-03T05:30:00Z", "2024-11-03T06:30:00Z", "2025-02-01T01:30:00Z"]})
    text = frame.select(to_eastern(pl.col("t")).dt.strftime("%Y-%m-%dT%H:%M%:z"))["t"].to_list()
    assert text == ["2024-11-03T01:30-04:00", "2024-11-03T01:30-05:00", "2025-01-31T20:30-05:00"]


# --------------------------------------------------------------------------- through Dagster


@pytest.fixture(scope="module")
def crafted_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("support_crafted")
    _small_inputs(root)
    case_run = make_run(root, dg.DagsterInstance.ephemeral())
    case_run.instance.add_dynamic_partitions("support_months", ["2024-12", "2025-01"])
    for month in ("2024-12", "2025-01"):
        case_run.execute("support_job", partition_key=month, asset_selection=MONTH_KEYS)
    return root, case_run


def test_bad_rows_land_in_the_quarantine_table_with_file_and_line(crafted_run):
    root, _ = crafted_run
    rows = warehouse_table(root, "quarantine").filter(pl.col("month") == "2025-01").sort("line")
    assert rows.filter(pl.col("severity") == "error").select("line", "rule").rows() == JANUARY_REJECTS
    assert rows.filter(pl.col("severity") == "warning").select("line", "rule").rows() == JANUARY_WARNINGS
    assert set(rows["source_file"]) == {str(root / "data" / "support" / "delta" / "interactions_delta_202501.csv")}
    assert '"action":"upsert"' in rows["raw_record"][0]


def test_month_checks_report_bad_actions_unknown_ids_and_reconcile(crafted_run):
    root, case_run = crafted_run
    january = case_run.results[-1]
    evaluations = {
        (e.asset_key.path[-1], e.check_name): e
        for e in january.get_asset_check_evaluations()
        if e.asset_key.path[-1] == "interactions_state"
    }
    actions = evaluations[("interactions_state", "valid_actions")]
    assert not actions.passed and actions.metadata["bad_actions"].value == 1
    known = evaluations[("interactions_state", "known_ids")]
    assert not known.passed
    assert (known.metadata["unknown_deletes"].value, known.metadata["unknown_updates"].value) == (1, 1)
    reconciliation = evaluations[("interactions_state", "reconciliation")]
    assert reconciliation.passed
    assert (reconciliation.metadata["rows_read"].value, reconciliation.metadata["rows_quarantined"].value) == (11, 4)
    assert reconciliation.metadata["rows_loaded"].value == 7  # warnings are not rejected rows
    state = pl.read_parquet(root / "out" / "lake" / "support" / "interactions_state" / "2025-01.parquet")
    # X1 deleted, NEW1 inserted, X5 and X6 kept with their bad optional value nulled
    assert sorted(state["interaction_id"]) == ["NEW1", "X0", "X2", "X5", "X6", "X9"]
    assert state.filter(pl.col("interaction_id") == "X9")["satisfaction_rating"].item() == 5


def test_a_month_before_its_predecessor_fails_clearly(tmp_path):
    _small_inputs(tmp_path)
    case_run = make_run(tmp_path, dg.DagsterInstance.ephemeral())
    case_run.instance.add_dynamic_partitions("support_months", ["2024-12", "2025-01"])
    with pytest.raises(CaseRunFailed, match=r"builds on the state after 2024-12.*apply the months in order"):
        case_run.execute("support_job", partition_key="2025-01", asset_selection=MONTH_KEYS)
    assert not (make_settings(tmp_path).out_dir / "lake" / "support" / "interactions_state").exists()


# --------------------------------------------------------------------------- checks on crafted bad data


def test_unique_key_check_fails_on_duplicate_ids():
    def result(ids: list[str]):
        frame = pl.DataFrame({"contact_center_id": ids})
        duplicates = duplicated_ids(frame, "contact_center_id")
        return checks.unique_key_result("contact_center_id", duplicates, frame.height)

    failed = result(["C1", "C1", "C2"])
    assert failed.check_name == "unique_contact_center_id"
    assert not failed.passed and failed.metadata["duplicate_ids"].value == 1 and failed.metadata["sample"].value == "C1"
    assert failed.metadata["rows"].value == 3
    assert result(["C1", "C2"]).passed


def test_report_reconciliation_fails_when_a_join_duplicates_interactions():
    from caseworks_assets.support.report import build_report

    interactions = pl.DataFrame(
        {
            "interaction_id": ["I1", "I2"],
            "channel": ["phone", "chat"],
            "category_id": ["S1", "S1"],
            "contact_center_id": ["C1", "C1"],
            "interaction_start": pl.Series(["2025-01-05T12:00:00Z"] * 2).str.to_datetime(time_zone="UTC"),
            "call_duration_minutes": [5.0, None],
        }
    )
    categories = pl.DataFrame({"category_id": ["S1"], "department": ["Finance"]})
    good = pl.DataFrame({"contact_center_id": ["C1"], "contact_center_name": ["Main"]})
    duplicated = pl.DataFrame({"contact_center_id": ["C1", "C1"], "contact_center_name": ["Main", "Main 2"]})
    assert checks.report_reconciles(build_report(interactions, good, categories), interactions).passed
    failing = checks.report_reconciles(build_report(interactions, duplicated, categories), interactions)
    assert not failing.passed and "interactions" in failing.description


def test_unknown_share_check_warns_above_the_threshold():
    report = pl.DataFrame(
        {
            "month": ["2025-01"] * 2,
            "contact_center_name": ["Unknown", "Main"],
            "department": ["Finance", "Unknown"],
            "total_interactions": [3, 1],
            "total_calls": [0, 0],
            "total_call_duration": [0.0, 0.0],
        }
    )
    result = checks.unknown_dimension_values(report)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert result.metadata["unknown_interactions"].value == 4
    assert checks.unknown_dimension_values(
        report.with_columns(pl.lit("X").alias("department"), pl.lit("Y").alias("contact_center_name"))
    ).passed


def test_report_schema_rejects_negative_calls():
    report = pl.DataFrame(
        {
            "month": ["2025-01"],
            "contact_center_name": ["Main"],
            "department": ["Finance"],
            "total_interactions": [1],
            "total_calls": [-1],
            "total_call_duration": [0.0],
        }
    )
    assert not validate_frame(report, REPORT_SCHEMA).passed
    assert validate_frame(report.with_columns(pl.lit(0, dtype=pl.Int64).alias("total_calls")), REPORT_SCHEMA).passed


# --------------------------------------------------------------------------- hostile bytes and physical lines


def _interaction(interaction_id: str, start: str = "2025-01-05T10:00:00Z", category: str = "S1") -> str:
    return f"{interaction_id},2025-01-05T10:00:00Z,phone,{category},A1,C1,{start},,,3,5"


def test_bytes_that_are_not_utf8_are_read_as_windows_1252_and_the_log_names_the_physical_line(tmp_path, caplog):
    """Far into the file (after polars' first blocks) and after a quoted line break: the line is still exact.

    The rows polars gave before it met the bytes come from the first read, the rest from the repaired copy
    (tens of thousands of each at this size): every row once, in order, with its record number.
    """
    rows = [_interaction(f"X{i}") for i in range(100_000)]
    rows[1] = _interaction("X1", category='"multi\nline"')  # record 3 spans lines 3-4
    body = (HEADER + "\n" + "\n".join(rows) + "\n").encode()
    cut = body.index(b"X90000,")
    path = tmp_path / "interactions.csv"
    path.write_bytes(body[:cut] + b"X90000\xe9\x81" + body[cut + 6 :])  # 0x81: undefined in Windows-1252
    with caplog.at_level(logging.WARNING, logger="caseworks.inputs"):
        raw = RawFile(INTERACTIONS, path, initial=True)
        chunks = list(raw.chunks(1000))
    frame = pl.concat(chunks)
    assert frame.height == 100_000 and frame["interaction_id"].n_unique() == 100_000
    assert frame["interaction_id"].to_list()[89_999:90_002] == ["X89999", "X90000\u00e9\u0081", "X90001"]
    # record numbers (header = 1) run on across the switch to the repaired copy
    assert frame[SOURCE_LINE].to_list() == list(range(2, 100_002))
    # X90000 is record 90002 (header = line 1), one line further down because of the quoted line break
    assert [m for m in caplog.messages if "interactions.csv: not all UTF-8 (first at line 90003" in m]
    assert raw.count() == 100_000

    header_broken = _write(tmp_path / "h.csv", "x")
    header_broken.write_bytes(b"interaction_id\xff," + HEADER.encode()[15:] + b"\n")
    with pytest.raises(InputError, match=r"h\.csv, line 1: wrong header \(missing interaction_id; unexpected"):
        validate_inputs_header(header_broken)


def validate_inputs_header(path: Path) -> None:
    from caseworks_assets.support.layout import _check_header

    _check_header(path, INTERACTIONS.columns)


def test_quarantine_lines_are_physical_lines_after_a_quoted_line_break(tmp_path):
    rows = [
        _interaction("X0", category='"two\nlines"'),
        _interaction("X1", category='"three\nmore\nlines"'),
        _interaction("X2", start="not a time"),
    ]
    path = _write(tmp_path / "interactions.csv", HEADER + "\n" + "\n".join(rows) + "\n")
    changes = typed_changes(INTERACTIONS, RawFile(INTERACTIONS, path, initial=True), chunk_rows=1)
    assert changes.quarantine["line"].to_list() == [7]  # header 1, X0 lines 2-3, X1 lines 4-6, X2 line 7
    assert path.read_text().splitlines()[6].startswith("X2,")


def test_a_semicolon_export_gives_the_same_tables_as_the_comma_one(tmp_path, monkeypatch):
    """pt-BR Excel saves ";" between fields: the separator comes from each file's header."""
    comma, semicolon = tmp_path / "comma", tmp_path / "semicolon"
    write_sample(comma)
    for path in comma.rglob("*.csv"):
        target = semicolon / path.relative_to(comma)
        target.parent.mkdir(parents=True, exist_ok=True)
        pl.read_csv(path, infer_schema=False).write_csv(target, separator=";")
    assert (semicolon / "initial" / "agents.csv").read_text().startswith("agent_id;full_name;")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    for data in (comma, semicolon):
        assert main(["run", "support", "--data-dir", str(data), "--out-dir", str(tmp_path / data.name / "out")]) == 0
    for table in ("agents_final", "contact_centers_final", "interactions_final", "support_report"):
        read = [
            pl.read_parquet(tmp_path / side / "out" / "support" / f"{table}.parquet") for side in ("comma", "semicolon")
        ]
        assert read[0].height > 0 and read[0].equals(read[1]), table


def test_headers_spelled_their_own_way_extra_columns_and_empty_rows_give_the_same_tables(tmp_path, monkeypatch, caplog):
    """What exports from other tools do: ``Interaction ID`` for interaction_id, a column the contract does not name,
    and the ``,,,,`` rows a spreadsheet saves below the data. None of it is a defect of a record."""
    plain, varied = tmp_path / "plain", tmp_path / "varied"
    write_sample(plain)
    for path in plain.rglob("*.csv"):
        target = varied / path.relative_to(plain)
        target.parent.mkdir(parents=True, exist_ok=True)
        frame = pl.read_csv(path, infer_schema=False).with_columns(pl.lit("crm-7").alias("Exported By"))
        frame = frame.rename({name: name.replace("_", " ").upper() for name in frame.columns})
        text = frame.write_csv()
        target.write_text(text + "," * (frame.width - 1) + "\n\n")
    assert (varied / "initial" / "agents.csv").read_text().startswith("AGENT ID,FULL NAME,")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    with caplog.at_level(logging.WARNING, logger="caseworks.inputs"):
        for data in (plain, varied):
            assert (
                main(["run", "support", "--data-dir", str(data), "--out-dir", str(tmp_path / data.name / "out")]) == 0
            )
    for table in ("agents_final", "contact_centers_final", "interactions_final", "support_report"):
        read = [
            pl.read_parquet(tmp_path / side / "out" / "support" / f"{table}.parquet") for side in ("plain", "varied")
        ]
        assert read[0].height > 0 and read[0].equals(read[1]), table
    quarantine = [warehouse_table(tmp_path / side, "quarantine") for side in ("plain", "varied")]
    assert (
        quarantine[0]
        .select("rule", "line")
        .sort("rule", "line")
        .equals(quarantine[1].select("rule", "line").sort("rule", "line"))
    )
    assert any("interactions.csv: columns not in the contract are not read: EXPORTED BY" in m for m in caplog.messages)
