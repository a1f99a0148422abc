"""The sample holds every defect of the issue, deterministically; the reader finds headers under title rows."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from caseworks_assets.crm import reader, rules
from caseworks_assets.crm.sample import write_sample
from caseworks_assets.registry import InputError


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("crm_sample")
    write_sample(folder, 600, 7)
    return folder


@pytest.fixture(scope="module")
def cleaned(sample: Path) -> dict[str, rules.QualityResult]:
    raw = {table: reader.read_table(sample, table) for table in ("customers", "products", "interactions")}
    customers = rules.clean_customers(raw["customers"])
    products = rules.clean_products(raw["products"])
    interactions = rules.clean_interactions(raw["interactions"], customers.clean["customer_id"], products.clean)
    return {"customers": customers, "products": products, "interactions": interactions}


def test_sample_is_csv_and_xlsx_in_both_header_variants_and_deterministic(sample: Path, tmp_path: Path) -> None:
    assert sorted(p.suffix for p in sample.iterdir()) == [".csv", ".csv", ".xlsx", ".xlsx"]
    assert (sample / "interactions.csv").read_text().startswith("date_start,event,customers\n")
    header = pl.read_excel(sample / "interactions_export.xlsx", engine="calamine", has_header=False).row(2)
    assert header == ("Date Start", "Interaction", "Customers")  # under two title rows (the blank row is skipped)
    write_sample(tmp_path / "again", 600, 7)
    write_sample(tmp_path / "other", 600, 8)
    assert _digest(tmp_path / "again") == _digest(sample)
    assert _digest(tmp_path / "other") != _digest(sample)


def test_rows_scale_the_interactions(cleaned: dict[str, rules.QualityResult], tmp_path: Path) -> None:
    write_sample(tmp_path / "big", 3000, 7)
    big = reader.read_table(tmp_path / "big", "interactions").height
    assert cleaned["interactions"].rows_read < 700 and 3000 <= big < 3100


def test_each_defect_class_of_the_sample_is_quarantined_or_repaired(cleaned: dict[str, rules.QualityResult]) -> None:
    interactions, customers = cleaned["interactions"], cleaned["customers"]
    counts = interactions.counts
    for rule in ("blank_row", "duplicate", "channel_unknown", "customer_unknown"):
        assert counts[rule] > 0, rule
    assert counts["channel_unknown:repaired"] > 0  # ' email ', 'EMAIL', ... renamed, not rejected
    assert cleaned["products"].counts["blank_row"] == 1 and cleaned["products"].counts["duplicate"] == 1
    assert customers.counts["duplicate"] == 1
    assert customers.counts["customer_id_invalid:repaired"] == 1  # ' 7 ' read as 7
    kept = customers.clean.filter(pl.col("customer_id") == 3).row(0)
    assert kept == (3, None, None)  # empty occupation and type: the customer stays
    assert set(interactions.clean["channel"].unique()) == {"Bird", "Call", "Chat", "Email", "Meeting"}
    assert interactions.clean["topic"].null_count() > 0  # the month without a product
    last = customers.clean["customer_id"].max()
    assert last not in set(interactions.clean["customer_id"])  # a customer without interactions
    for result in cleaned.values():
        assert result.reconciles


def test_header_is_found_under_title_rows_in_csv_too_and_its_absence_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "customer_export.csv").write_text("CRM export\nsecond title,,\nCustomer_Id,Occupation,Type\n1,a,b\n")
    frame = reader.read_table(tmp_path, "customers")
    assert frame.select("customer_id", "occupation", "customer_type").rows() == [("1", "a", "b")]
    with xlsxwriter.Workbook(str(tmp_path / "product.xlsx")) as book:
        book.add_worksheet().write_row(0, 0, ["month", "thing"])
    with pytest.raises(InputError, match=r"product\.xlsx: no products header"):
        reader.read_table(tmp_path, "products")
    with pytest.raises(InputError, match="no interaction"):
        reader.validate_inputs(tmp_path)


def test_semicolons_and_windows_1252_are_read_as_written(tmp_path: Path) -> None:
    text = "Customer_Id;Occupation;Type\n1;Engenheiro Elétrico;Pessoa Física\n"
    (tmp_path / "customer.csv").write_bytes(text.encode("cp1252"))
    frame = reader.read_table(tmp_path, "customers")
    assert frame.select("customer_id", "occupation", "customer_type").rows() == [
        ("1", "Engenheiro Elétrico", "Pessoa Física")
    ]


def test_iso_dates_without_a_time_are_a_month_and_a_day_as_the_day_first_forms_are() -> None:
    """A spreadsheet's date cell exported as text is ``2019-10-01``: a product month and an interaction's day."""
    frame = pl.DataFrame(
        {
            "month": ["10-2019", "2019-10-01", "2019-10", "Oct-2019"],
            "date_start": ["04/10/2019 14:30", "2019-10-04", "04/10/2019", "04.10.2019"],
        }
    )
    read = frame.select(
        rules.parse_month(pl.col("month")).alias("month"),
        rules.parse_date_start(pl.col("date_start")).alias("date_start"),
    )
    assert read["month"].cast(pl.String).to_list() == ["2019-10-01", "2019-10-01", "2019-10-01", None]
    assert read["date_start"].cast(pl.String).to_list() == [
        "2019-10-04 14:30:00.000000",
        "2019-10-04 00:00:00.000000",
        "2019-10-04 00:00:00.000000",
        None,
    ]


def test_a_separator_inside_an_unquoted_field_is_refused_naming_the_line_and_trailing_separators_are_not(
    tmp_path: Path,
) -> None:
    """``1,Engineer, Senior,Government`` would load occupation ``Engineer`` and type ``Senior``: refused."""
    shifted = tmp_path / "customer.csv"
    shifted.write_text("CRM export\nCustomer_Id,Occupation,Type\n1,Engineer, Senior,Government\n2,Doctor,Business\n")
    with pytest.raises(InputError, match=r"customer\.csv, line 3: more values than the header has columns"):
        reader.read_csv(shifted, "customers")
    trailing = tmp_path / "customer_trailing.csv"
    trailing.write_text("Customer_Id,Occupation,Type\n1,Engineer,Government,\n2,Doctor,Business,,\n")
    read = reader.read_csv(trailing, "customers")
    assert read.select("customer_id", "occupation", "customer_type").rows() == [
        ("1", "Engineer", "Government"),
        ("2", "Doctor", "Business"),
    ]


def test_a_customer_type_or_occupation_written_in_another_case_is_one_value_in_its_usual_spelling() -> None:
    raw = pl.DataFrame(
        {
            "customer_id": ["1", "2", "3", "4", "5"],
            "occupation": ["Engineer", "engineer", "Engineer", "CEO", None],
            "customer_type": ["Business", "business", "BUSINESS", "SME", "Business"],
            "source_file": ["customer.csv"] * 5,
            "source_row": [1, 2, 3, 4, 5],
        }
    )
    clean = rules.clean_customers(raw).clean
    assert clean["occupation"].to_list() == ["Engineer", "Engineer", "Engineer", "CEO", None]
    assert clean["customer_type"].to_list() == ["Business", "Business", "Business", "SME", "Business"]
