"""Simulation, cleaning rules and product arithmetic, on inputs small enough to check by hand."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from caseworks_assets.governance.keys import DEMO_ENCRYPTION_KEYS, PrivacyResource
from caseworks_assets.ouchhungry import cleaning
from caseworks_assets.ouchhungry.product import (
    MERGED_CITY,
    build_daily_sales,
    build_insights,
    build_monthly_city_sales,
)
from caseworks_assets.ouchhungry.simulate import DefectRates, simulate_customers, simulate_transactions
from caseworks_assets.quality import apply_rules, is_cpf, restore_cpf

PRODUCTS = pl.DataFrame(
    {
        "product_code": ["REF-0001", "REF-0002", "SAL-0001", "SAL-0002"],
        "product_name": ["Hungry", "Cola", "Ouch", "Crocantes"],
        "brand": ["OuchHungry", "Cola Brasil", "OuchHungry", "Crocantes"],
        "segment": ["Refrigerantes", "Refrigerantes", "Salgadinhos", "Salgadinhos"],
        "list_price": [4.0, 5.0, 8.0, 8.0],
    }
)


def test_simulation_is_deterministic_and_defects_follow_their_rates() -> None:
    day = date(2025, 1, 6)
    assert simulate_transactions(day, 200, 100, 1).equals(simulate_transactions(day, 200, 100, 1))
    assert not simulate_transactions(day, 200, 100, 1).equals(simulate_transactions(date(2025, 1, 7), 200, 100, 1))
    clean = simulate_customers(300, 1, DefectRates(*(0.0,) * 8))
    assert clean.height == 300 and clean["customer_id"].n_unique() == 300
    assert clean.select(is_cpf(pl.col("cpf")).all()).item()
    dirty = simulate_customers(300, 1, DefectRates(invalid_cpf_rate=0.2, duplicate_rate=0.1))
    invalid = dirty.unique("customer_id").select((~is_cpf(pl.col("cpf"))).sum()).item()
    assert 30 <= invalid <= 90 and dirty.height == 330


def test_transaction_rules_repair_reject_and_deduplicate() -> None:
    raw = pl.DataFrame(
        {
            "transaction_id": ["T1", "T2", "T3", "T4", "T5", "T6", "T2", None],
            "sold_at": [
                "06/01/2025 10:15",
                "2025-01-06T11:00:00",
                "2025-01-06 12:00:00",
                "32/13/2025 25:61",
                "2025-01-06 13:00:00",
                "2025-01-06 14:00:00",
                "2025-01-06T11:00:00",
                "2025-01-06",
            ],
            "customer_id": ["C000001", "C000002", "C000009", "C000001", "C000001", "C000001", "C000002", "C000001"],
            "product_code": ["ref 0001", "SAL0001", "REF-0002", "REF-0001", "XX-?", "REF-0001", "SAL0001", "REF-0001"],
            "quantity": ["2", "1", "1", "1", "1", "1.5", "1", "1"],
            "unit_price": ["R$ 1.234,56", "7,99", "4.99", "4.49", "4.49", "4.49", "7,99", "4.49"],
        }
    )
    rules = cleaning.transaction_rules(PRODUCTS["product_code"].to_list(), ["C000001", "C000002"])
    result = apply_rules(raw, rules, cleaning.TRANSACTION_DEDUPE, row_number_offset=2)
    assert result.clean["transaction_id"].to_list() == ["T1", "T2"]
    first = result.clean.row(0, named=True)
    assert first["sold_at"] == datetime(2025, 1, 6, 10, 15) and first["product_code"] == "REF-0001"
    assert first["unit_price"] == 1234.56 and result.clean["product_code"][1] == "SAL-0001"
    rejected = dict(zip(result.quarantine["row_number"], result.quarantine["rule"], strict=True))
    assert rejected == {
        4: "customer_known",  # T3: C000009 is not a known customer
        5: "sold_at_datetime",  # T4
        6: "product_code_format",  # T5
        7: "quantity_whole",  # T6: 1.5 units
        8: "duplicate_transaction",  # T2 re-sent
        9: "transaction_id_required",
    }
    assert result.reconciles


def test_customer_rules_keep_the_latest_record_and_null_bad_contacts() -> None:
    raw = pl.DataFrame(
        {
            "customer_id": ["C000001", "C000001", "C000002", "C000003"],
            "full_name": ["Ana", "Ana Souza", "Bruno", "Caio"],
            "cpf": ["529.982.247-25", "52998224725", "52998224726", "11144477735"],
            "email": ["ana@x.com", "ANA@X.COM ", "bruno@x.com", "caio@@x"],
            "phone": ["(11) 98765-4321", "11987654321", "987654321", "+55 21 3456-7890"],
            "cep": ["01310-100", "01310100", "01.310-100", "1310"],
            "city": ["São Paulo", "São Paulo", "Rio", None],
            "state": ["SP", "SP", "RJ", "RJ"],
            "birth_date": ["01/02/1990", "1990-02-01", "x", "1980-01-01"],
            "updated_at": ["2024-01-01", "2024-06-01", "2024-01-01", "01/03/2024"],
        }
    )
    result = apply_rules(raw, cleaning.CUSTOMER_RULES, cleaning.CUSTOMER_DEDUPE, row_number_offset=2)
    # a CPF with wrong check digits is nulled with a warning: no output reads it, so Bruno and his sales stay
    assert result.clean["customer_id"].to_list() == ["C000001", "C000002", "C000003"]
    assert result.clean["cpf"][1] is None
    assert result.warnings.filter(pl.col("rule") == "cpf_check_digits")["row_number"].to_list() == [4]
    ana, _bruno, caio = result.clean.rows(named=True)
    assert (ana["full_name"], ana["email"], ana["phone"], ana["cep"]) == (
        "Ana Souza",
        "ana@x.com",
        "+5511987654321",
        "01310-100",
    )
    assert caio["email"] is None and caio["cep"] is None and caio["city"] == cleaning.UNKNOWN_CITY
    assert caio["phone"] == "+552134567890" and caio["updated_at"] == date(2024, 3, 1)
    assert sorted(result.quarantine["rule"]) == ["duplicate_customer"]


def test_a_cpf_whose_leading_zeros_a_spreadsheet_dropped_is_that_cpf() -> None:
    """Excel takes ``01234567890`` for a number: it writes ``1234567890`` or ``1234567890.0``."""
    written = ["1234567890", "1234567890.0", " 012.345.678-90 ", "01234567890", "1234567891", "abc"]
    restored = pl.DataFrame({"cpf": written}).select(restore_cpf(pl.col("cpf")))
    assert restored["cpf"].to_list()[:5] == [
        "01234567890",
        "01234567890",
        "012.345.678-90",
        "01234567890",
        "01234567891",
    ]
    assert restored.select(is_cpf(pl.col("cpf")))["cpf"].to_list() == [True, True, True, True, False, False]


def test_a_sale_time_with_an_offset_is_the_same_instant_on_sao_paulo_clock() -> None:
    """``sold_at`` is São Paulo wall time: ``...22:30-03:00`` is 22:30 there, ``...22:30Z`` is 19:30."""
    rule = next(r for r in cleaning.transaction_rules([], []) if r.name == "sold_at_datetime")
    written = ["28/01/2025 22:30", "2025-01-28T22:30:00-03:00", "2025-01-28T22:30:00Z", "2018-11-04 00:30:00"]
    read = pl.DataFrame({"sold_at": written}).select(rule.repair(pl.col("sold_at")))["sold_at"].to_list()
    assert read == [
        datetime(2025, 1, 28, 22, 30),
        datetime(2025, 1, 28, 22, 30),
        datetime(2025, 1, 28, 19, 30),
        datetime(2018, 11, 4, 0, 30),  # in the clock change of 2018, kept as written
    ]


def _sales(rows: list[tuple[str, str, int, float]]) -> pl.DataFrame:
    """(customer, product code, quantity, unit price) -> clean transactions."""
    return pl.DataFrame(
        {
            "transaction_id": [f"T{i}" for i in range(len(rows))],
            "sold_at": [datetime(2025, 2, 3, 12)] * len(rows),
            "customer_id": [r[0] for r in rows],
            "product_code": [r[1] for r in rows],
            "quantity": [r[2] for r in rows],
            "unit_price": [r[3] for r in rows],
        }
    )


CUSTOMERS = pl.DataFrame(
    {
        "customer_id": [f"C{i:06d}" for i in range(1, 9)],
        "city": ["Recife"] * 5 + ["Natal", "Natal", "Parintins"],
        "state": ["PE"] * 5 + ["RN", "RN", "AM"],
    }
)


def test_monthly_city_sales_share_and_k_anonymity_by_hand() -> None:
    rows = [(f"C{i:06d}", "REF-0001", 2, 4.0) for i in range(1, 6)]  # Recife: 5 buyers, 10 units, R$ 40
    rows += [("C000006", "REF-0001", 1, 4.0), ("C000007", "REF-0001", 1, 4.0)]  # Natal: 2 buyers
    rows += [("C000008", "REF-0001", 3, 4.0)]  # Parintins: 1 buyer
    rows += [("C000001", "REF-0002", 10, 5.0), ("C000006", "REF-0002", 2, 5.0)]  # competitor in the segment
    rows += [("C000001", "SAL-0002", 1, 8.0)]  # the other segment, competitor only
    table = build_monthly_city_sales("2025-02", _sales(rows), PRODUCTS, CUSTOMERS, k=5)
    hungry = table.filter(pl.col("product") == "Hungry")
    recife = hungry.filter(pl.col("city") == "Recife").row(0, named=True)
    assert (recife["units"], recife["revenue"], recife["customers_reached"]) == (10, 40.0, 5)
    assert (recife["segment_units"], recife["share_of_segment_units"]) == (20, 0.5)
    assert recife["share_of_segment_revenue"] == round(40 / 90, 4)
    bucket = hungry.filter(pl.col("city") == MERGED_CITY).row(0, named=True)
    assert (bucket["cities_merged"], bucket["units"], bucket["customers_reached"], bucket["segment_units"]) == (
        2,
        5,
        3,
        7,
    )
    assert bucket["state"] == "--" and bucket["avg_price"] == 4.0
    ouch = table.filter(pl.col("product") == "Ouch")  # no Ouch sale: one bucket with zero units, segment counted
    assert ouch.rows(named=True)[0]["units"] == 0 and ouch["segment_units"].sum() == 1
    assert ouch["avg_price"].to_list() == [None]


def test_insights_month_over_month_and_price_versus_segment() -> None:
    now = build_monthly_city_sales(
        "2025-02", _sales([(f"C{i:06d}", "REF-0001", 3, 4.0) for i in range(1, 6)]), PRODUCTS, CUSTOMERS, k=5
    )
    before = build_monthly_city_sales(
        "2025-01", _sales([(f"C{i:06d}", "REF-0001", 2, 4.0) for i in range(1, 6)]), PRODUCTS, CUSTOMERS, k=5
    )
    hungry = build_insights(now, before).filter(pl.col("product") == "Hungry").row(0, named=True)
    assert (hungry["units"], hungry["units_mom_pct"], hungry["revenue_mom_pct"]) == (15, 50.0, 50.0)
    assert hungry["top_cities"] == "Recife" and hungry["price_vs_segment_pct"] == 0.0
    first_month = build_insights(before, None).filter(pl.col("product") == "Hungry").row(0, named=True)
    assert first_month["units_mom_pct"] is None


def test_daily_sales_hold_only_partner_products_and_pseudonyms() -> None:
    privacy = PrivacyResource(pseudonym_key="k1", encryption_keys=DEMO_ENCRYPTION_KEYS)
    transactions = _sales(
        [("C000001", "REF-0001", 2, 4.5), ("C000001", "REF-0002", 1, 5.0), ("C000002", "SAL-0001", 1, 8.0)]
    )
    daily = build_daily_sales(transactions, PRODUCTS, CUSTOMERS, privacy)
    assert daily["product"].to_list() == ["Hungry", "Ouch"] and daily["revenue"].to_list() == [9.0, 8.0]
    assert not daily["customer_pseudonym"].str.contains("C0000").any()
    other_key = build_daily_sales(
        transactions, PRODUCTS, CUSTOMERS, PrivacyResource(pseudonym_key="k2", encryption_keys=DEMO_ENCRYPTION_KEYS)
    )
    assert daily["customer_pseudonym"].to_list() != other_key["customer_pseudonym"].to_list()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("ref 0001", "REF-0001"), ("REF_0001", "REF-0001"), ("sal0002", "SAL-0002"), ("RF-01", "RF-01")],
)
def test_product_code_repair(typed: str, expected: str) -> None:
    assert pl.select(cleaning.normalize_product_code(pl.lit(typed))).item() == expected


def test_a_value_the_marketplace_database_wrote_as_null_is_missing_not_a_city_named_null() -> None:
    from caseworks_assets.ouchhungry.clean import _apply

    raw = pl.DataFrame(
        {
            "customer_id": ["C000001", "C000002"],
            "full_name": ["Ana", "NULL"],
            "cpf": ["529.982.247-25", "\\N"],
            "email": ["ana@x.com", "NULL"],
            "phone": ["11987654321", None],
            "cep": ["01310-100", None],
            "city": ["NULL", "Rio"],
            "state": ["SP", "RJ"],
            "birth_date": [None, None],
            "updated_at": ["2024-01-01", "2024-01-01"],
        }
    )
    result = _apply(raw, cleaning.CUSTOMER_RULES, cleaning.CUSTOMER_DEDUPE)
    assert result.clean["city"].to_list() == [cleaning.UNKNOWN_CITY, "Rio"]
    assert result.clean["customer_id"].to_list() == ["C000001", "C000002"]
    assert (result.clean["full_name"][1], result.clean["cpf"][1], result.clean["email"][1]) == (None, None, None)
    assert result.quarantine.is_empty() and result.warnings.is_empty()
