"""CSV exports with another separator (pt-BR Excel writes ";") are read by their header."""

from __future__ import annotations

from pathlib import Path

import pytest

from caseworks_assets.quality.csv_input import expected_names, header_key, header_separator, read_csv


@pytest.mark.parametrize(
    ("header", "separator"),
    [
        ("id,description", ","),
        ("id;description", ";"),
        ("id\tdescription", "\t"),
        ("id|description", "|"),
        ('"id";"description"', ";"),
        (" id ; description ", ";"),
        ("something else entirely", ","),  # names none of them: "," and the caller's header check speaks
        ("id", ","),  # a one-column file
    ],
)
def test_the_separator_is_the_one_that_names_the_expected_columns(tmp_path: Path, header: str, separator: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(header + "\n1,2\n", encoding="utf-8")
    assert header_separator(path, ["id", "description"]) == separator


def test_a_semicolon_export_with_decimal_commas_and_windows_1252_loads_into_the_contract(tmp_path: Path) -> None:
    """What Excel in pt-BR saves: ";" between fields, "," as the decimal mark, Windows-1252 text."""
    from caseworks_assets.callcenter.raw import load_table, validate_inputs
    from caseworks_assets_tests.callcenter.callcenter_fixture import write_fixture

    write_fixture(tmp_path)
    (tmp_path / "attendances.csv").write_bytes(
        "id;customer_id;status_id;type_id;monthly_value\n1;10;2;1;R$ 1.234,56\n2;11;2;1;99,90\n".encode("cp1252")
    )
    (tmp_path / "telephony_types.csv").write_bytes("id;description\n1;Entrada\n2;Saída\n".encode("cp1252"))
    validate_inputs(tmp_path)
    attendances = load_table(tmp_path, "attendances").clean
    assert attendances["monthly_value"].to_list() == [1234.56, 99.9]
    assert load_table(tmp_path, "telephony_types").clean["description"].to_list() == ["Entrada", "Saída"]


def test_ouchhungry_reads_a_semicolon_export(tmp_path: Path) -> None:
    from caseworks_assets.ouchhungry.extract import read_export

    path = tmp_path / "customers.csv"
    path.write_text("customer_id;name;city\n1;Ana;São Paulo\n", encoding="utf-8")
    assert read_export(path, ["customer_id", "name", "city"]).row(0) == ("1", "Ana", "São Paulo")
    assert read_csv(path).columns == ["customer_id;name;city"]  # no expected columns: read as given


def test_a_header_cell_names_an_expected_column_in_its_own_spelling_and_nothing_else_does() -> None:
    cells = ["Interaction ID", " AGENT-ID ", "Date.Start", "agent_id\u00ff", "exported_by"]
    assert expected_names(cells, ["interaction_id", "agent_id", "date_start"]) == [
        "interaction_id",
        "agent_id",
        "date_start",
        "agent_id\u00ff",  # a damaged name names no column
        "exported_by",
    ]
    assert header_key(" Date  Start ") == header_key("DATE_START") == header_key("date-start") == "date_start"


def test_read_csv_gives_expected_columns_their_expected_names(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("\ufeffID;Description;Extra\n1;a;x\n", encoding="utf-8")
    assert read_csv(path, ["id", "description"], infer_schema=False).columns == ["id", "description", "Extra"]
    twice = tmp_path / "twice.csv"
    twice.write_text("id,ID,description\n1,2,a\n", encoding="utf-8")
    assert read_csv(twice, ["id", "description"], infer_schema=False).columns == ["id", "ID", "description"]
