"""The rules engine: actions, counts, de-duplication and the "nothing lost" property."""

import datetime as dt
import json

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseworks_assets.quality import (
    QUARANTINE_SCHEMA,
    Action,
    Dedupe,
    Rule,
    apply_rules,
    fill_null,
    is_cpf,
    is_email,
    matches,
    normalize_br_phone,
    normalize_cep,
    not_null,
    null_if_blank,
    parse_date,
    parse_number,
    quality_metadata,
)

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CUSTOMERS = pl.DataFrame(
    {
        "id": [1, 2, 3, 4, 5, 6],
        "email": ["a@x.com", "bad-email", None, "d@x.com", "e@x.com", "f@x.com"],
        "cep": ["01310100", "01310-100", "123", None, "20040-020", "20040020"],
        "amount": ["R$ 1.234,56", "12a", "3", "1,5", None, " 7 "],
        "cpf": ["529.982.247-25", "52998224725", "111.111.111-11", "12345678909", "123", None],
    }
)


def test_each_action_and_its_counts() -> None:
    rules = [
        Rule("email_valid", "email", valid=is_email, action=Action.SET_NULL),
        Rule("cep_format", "cep", repair=normalize_cep, action=Action.REPAIR),
        Rule("amount_number", "amount", repair=parse_number, action=Action.SET_NULL),
        Rule("cpf_valid", "cpf", valid=is_cpf, reason="CPF check digits do not match"),
    ]
    result = apply_rules(CUSTOMERS, rules)
    # cep "123" cannot be repaired -> row 3 quarantined; cpf "111..." (row 3, gone already) and "123" (row 5)
    assert result.clean["id"].to_list() == [1, 2, 4, 6]
    assert result.quarantine.select("row_number", "rule").rows() == [(3, "cep_format"), (5, "cpf_valid")]
    assert result.clean["email"].to_list() == ["a@x.com", None, "d@x.com", "f@x.com"]
    assert result.clean["cep"].to_list() == ["01310-100", "01310-100", None, "20040-020"]
    assert result.clean["amount"].to_list() == [1234.56, None, 1.5, 7.0]
    assert result.counts == {
        "email_valid": 1,
        "cep_format": 1,
        "cep_format:repaired": 2,  # 01310100 and 20040020; 01310-100 and 20040-020 were already canonical
        "amount_number": 1,  # 12a (row 3's "3" left with its row)
        "amount_number:repaired": 3,  # R$ 1.234,56, 1,5 and " 7 " (trimmed); "3" -> 3.0 is a plain conversion
        "cpf_valid": 1,
    }
    assert result.reconciles
    quarantined = result.quarantine.row(1, named=True)
    assert quarantined["reason"] == "CPF check digits do not match"
    assert quarantined["column"] == "cpf"
    assert json.loads(quarantined["raw_record"]) == {
        "id": 5,
        "email": "e@x.com",
        "cep": "20040-020",
        "amount": None,
        "cpf": "123",
    }
    assert result.quarantine.schema == pl.Schema(QUARANTINE_SCHEMA)


def test_raw_record_is_the_row_as_read_not_as_repaired() -> None:
    frame = pl.DataFrame({"phone": ["(11) 98765-4321", "12"], "amount": ["R$ 1,00", "x"]})
    result = apply_rules(
        frame,
        [
            Rule("phone", "phone", repair=normalize_br_phone, action=Action.REPAIR),
            Rule("amount", "amount", repair=parse_number),
        ],
    )
    assert result.clean.rows() == [("+5511987654321", 1.0)]
    assert [json.loads(r) for r in result.quarantine["raw_record"]] == [{"phone": "12", "amount": "x"}]


def test_row_number_offset_points_at_source_lines() -> None:
    result = apply_rules(
        pl.DataFrame({"x": ["ok", "bad"]}), [Rule("ok", "x", valid=matches("ok"))], row_number_offset=2
    )
    assert result.quarantine["row_number"].to_list() == [3]  # header on line 1, data from line 2


def test_null_policies() -> None:
    frame = pl.DataFrame({"name": ["Ana", None, " ", "N/A"], "uf": [None, "SP", None, "RJ"]})
    result = apply_rules(
        frame,
        [
            Rule("name_blank", "name", repair=null_if_blank(), action=Action.SET_NULL),
            not_null("name"),
            fill_null("uf", "ZZ"),
        ],
    )
    assert result.clean.rows() == [("Ana", "ZZ")]
    assert result.quarantine.select("row_number", "rule", "reason").rows() == [
        (2, "name_required", "name is missing"),
        (3, "name_required", "name is missing"),
        (4, "name_required", "name is missing"),
    ]
    # "N/A" became null (a repair to null counts as a failure); " " is blank, and blank is null: not a failure
    assert result.counts["name_blank"] == 1
    assert result.counts["uf_filled:repaired"] == 1
    counted_only = apply_rules(frame, [not_null("uf", action=Action.SET_NULL)])
    assert counted_only.clean.height == 4
    assert counted_only.counts == {"uf_required": 2}


def test_dates_convert_without_counting_as_repairs() -> None:
    frame = pl.DataFrame({"day": ["2024-01-05", "05/01/2024", "31/02/2024"]})
    result = apply_rules(frame, [Rule("day", "day", repair=parse_date(["%d/%m/%Y"]), action=Action.SET_NULL)])
    assert result.clean["day"].to_list() == [dt.date(2024, 1, 5), dt.date(2024, 1, 5), None]
    assert result.counts == {"day": 1, "day:repaired": 1}


def test_unknown_column_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="rule 'x' reads column 'missing'"):
        apply_rules(pl.DataFrame({"a": [1]}), [Rule("x", "missing", valid=lambda e: e > 0)])


# --------------------------------------------------------------------------- de-duplication

EVENTS = pl.DataFrame(
    {
        "order_id": [10, 11, 10, 12, 11, 10],
        "status": ["created", "created", "paid", "created", "cancelled", "paid"],
        "updated_at": [
            dt.datetime(2024, 1, 1, 9),
            dt.datetime(2024, 1, 1, 9),
            dt.datetime(2024, 1, 2, 9),
            None,
            dt.datetime(2024, 1, 3, 9),
            dt.datetime(2024, 1, 2, 9),
        ],
    }
)


def test_keyed_dedupe_keeps_latest_and_quarantines_the_rest() -> None:
    result = apply_rules(EVENTS, dedupe=Dedupe(keys=["order_id"], order_by="updated_at"))
    assert result.clean.select("order_id", "status").rows() == [(10, "paid"), (12, "created"), (11, "cancelled")]
    assert result.clean["order_id"].to_list() == [10, 12, 11]  # source order of the kept rows
    # 10: rows 1 (older) and 6 (tie with row 3, the first read wins) dropped; 11: row 2 dropped
    assert result.quarantine.select("row_number", "rule", "column").rows() == [
        (1, "duplicate", "order_id"),
        (2, "duplicate", "order_id"),
        (6, "duplicate", "order_id"),
    ]
    assert result.counts == {"duplicate": 3}
    assert result.quarantine["reason"].unique().to_list() == ["duplicate of a kept row by key order_id"]


def test_exact_dedupe_drops_only_identical_rows() -> None:
    result = apply_rules(EVENTS, dedupe=Dedupe(name="exact_duplicate"))
    assert result.clean.height == 5
    assert result.quarantine.select("row_number", "rule").rows() == [(6, "exact_duplicate")]


def test_dedupe_runs_after_rules_so_rejected_rows_are_not_kept_as_latest() -> None:
    frame = pl.DataFrame({"k": [1, 1], "v": ["ok", "bad"], "ts": [1, 2]})
    result = apply_rules(frame, [Rule("v_ok", "v", valid=matches("ok"))], Dedupe(keys=["k"], order_by="ts"))
    assert result.clean.rows() == [(1, "ok", 1)]
    assert result.quarantine.select("row_number", "rule").rows() == [(2, "v_ok")]


# --------------------------------------------------------------------------- metadata


def test_quality_metadata_has_the_reconciliation_counters_and_a_sample() -> None:
    rules = [Rule("cep", "cep", repair=normalize_cep, action=Action.SET_NULL), Rule("cpf_valid", "cpf", valid=is_cpf)]
    result = apply_rules(CUSTOMERS, rules, Dedupe(keys=["cep"]))
    metadata = quality_metadata(result, sample=2)
    assert metadata["rows_read"] == 6
    # after the CEP repair rows 1/2 share 01310-100 and rows 5/6 share 20040-020 (row 5 is gone for its CPF)
    assert (metadata["rows_loaded"], metadata["rows_quarantined"]) == (3, 3)
    assert metadata["rule/duplicate"] == 1
    assert metadata["rule/cpf_valid"] == 2  # 111.111.111-11 (row 3) and "123" (row 5); row 6's null is kept
    assert metadata["quarantine_rate"] == pytest.approx(metadata["rows_quarantined"] / 6)
    sample = metadata["quarantine_sample"].value
    assert sample.startswith("| row_number | rule | column | reason | raw_record |")
    assert "more rows not shown" in sample
    clean = quality_metadata(apply_rules(CUSTOMERS.head(1)))
    assert "quarantine_sample" not in clean
    assert clean["quarantine_rate"] == 0.0


# --------------------------------------------------------------------------- nothing is lost

CELL = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "529.982.247-25", "111.111.111-11", "R$ 1.234,56", "12a", "01310100", "x@y.com"]),
    st.text(max_size=12),
)


@st.composite
def frames(draw: st.DrawFn) -> pl.DataFrame:
    size = draw(st.integers(0, 40))
    return pl.DataFrame(
        {
            "tag": list(range(size)),
            "key": draw(st.lists(st.integers(0, 5) | st.none(), min_size=size, max_size=size)),
            "ts": draw(st.lists(st.integers(0, 3) | st.none(), min_size=size, max_size=size)),
            "a": draw(st.lists(CELL, min_size=size, max_size=size)),
            "b": draw(st.lists(CELL, min_size=size, max_size=size)),
        },
        schema={"tag": pl.Int64, "key": pl.Int64, "ts": pl.Int64, "a": pl.String, "b": pl.String},
    )


RULE_POOL = [
    Rule("a_number", "a", repair=parse_number, action=Action.SET_NULL),
    Rule("a_cpf", "a", valid=is_cpf),
    Rule("b_cep", "b", repair=normalize_cep, action=Action.REPAIR),
    Rule("b_email", "b", valid=is_email, action=Action.SET_NULL),
    not_null("b"),
    fill_null("a", "?"),
    Rule("b_blank", "b", repair=null_if_blank(), action=Action.REPAIR),
]


@FAST
@given(
    frames(),
    st.lists(st.sampled_from(RULE_POOL), max_size=4, unique_by=lambda r: r.name),
    st.sampled_from([None, Dedupe(), Dedupe(keys=["key"]), Dedupe(keys=["key"], order_by="ts")]),
)
def test_every_row_is_loaded_or_quarantined_exactly_once(
    frame: pl.DataFrame, rules: list[Rule], dedupe: Dedupe | None
) -> None:
    result = apply_rules(frame, rules, dedupe)
    assert result.rows_read == frame.height
    assert result.reconciles
    loaded = result.clean["tag"].to_list()
    quarantined = [json.loads(record)["tag"] for record in result.quarantine["raw_record"]]
    assert sorted(loaded + quarantined) == list(range(frame.height))  # nothing lost, nothing twice
    assert result.quarantine["row_number"].to_list() == [tag + 1 for tag in quarantined]
    assert loaded == sorted(loaded)  # source order kept
    assert result.clean.columns == frame.columns
    assert sum(v for k, v in result.counts.items() if not k.endswith(":repaired")) >= result.quarantine.height
    if dedupe is not None and dedupe.keys:
        assert result.clean["key"].is_duplicated().sum() == 0


def test_timestamps_in_iso_form_convert_without_counting_as_repairs() -> None:
    frame = pl.DataFrame({"at": ["2024-01-05 10:00:00", "2024-01-05T10:00:00", "05/01/2024 10:00"]})

    def repair(expr: pl.Expr) -> pl.Expr:
        day_first = expr.str.to_datetime("%d/%m/%Y %H:%M", strict=False, time_unit="us")
        return pl.coalesce(expr.str.to_datetime(strict=False, time_unit="us"), day_first)

    result = apply_rules(frame, [Rule("at", "at", repair=repair, action=Action.SET_NULL)])
    assert result.clean["at"].to_list() == [dt.datetime(2024, 1, 5, 10)] * 3
    assert result.counts == {"at": 0, "at:repaired": 1}
