"""Lossless repairs read what has one meaning, refuse what does not, and count what they did."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl

from caseworks_assets.quality import Action, Rule, apply_rules
from caseworks_assets.quality.repairs import (
    Kind,
    NumberFormat,
    RepairLog,
    normalize_text,
    read_column,
    read_instant,
    read_integer,
    read_money,
    read_number,
    repair_rows,
    untrimmed,
)

UTC_INSTANT = pl.Datetime("us", "UTC")


def _read(fn, values):
    return pl.DataFrame({"v": values}, schema={"v": pl.String}).select(fn(pl.col("v"))).to_series().to_list()


def test_integral_decimals_and_blanks_are_integers_and_nulls_but_fractions_are_not_repaired():
    assert _read(read_integer, ["5", "5.0", " 5 ", "+5", "5.", "2.00", " ", "", None, "5.5", "x", "1e3"]) == [
        5, 5, 5, 5, 5, 2, None, None, None, None, None, None,
    ]  # fmt: skip


def test_an_explicit_offset_is_the_same_instant_and_a_time_without_zone_is_utc_as_the_contract_declares():
    values = [
        "2025-02-10T14:15:00Z",
        "2025-02-10T14:15:00+00:00",
        "2025-02-10T11:15:00-03:00",
        " 2025-02-10T15:15:00+0100 ",
        "2025-02-10T14:15:00",
        "2025-02-10 14:15",
        "2025-02-10T11:15-03:00",
        "2025-02-10 14:15:00.250+00:00",
        "2025-02-10T14:15:00.250",
        "2025-02-10T14:15:00+25:99",
        "2025-02-30T14:15:00",
        "2025-02-10",
        "yesterday",
    ]
    read = _read(read_instant, values)
    instant = datetime(2025, 2, 10, 14, 15, tzinfo=UTC)
    assert read[:7] == [instant] * 7
    assert read[7:9] == [datetime(2025, 2, 10, 14, 15, 0, 250000, tzinfo=UTC)] * 2
    assert read[9:] == [None, None, None, None]


def test_a_time_without_zone_is_counted_as_read_by_the_contract_and_an_offset_as_an_offset():
    log = RepairLog()
    frame = pl.DataFrame(
        {"at": ["2025-02-10T14:15:00", "2025-02-10 09:15-05:00", "2025-02-10 14:15", "2025-02-30T14:15:00"]}
    )
    unread = frame.with_columns(typed=pl.lit(None, UTC_INSTANT))
    read = repair_rows(unread, pl.Series([True] * 4), "at", "typed", Kind.INSTANT, log=log)
    assert read["typed"].to_list() == [datetime(2025, 2, 10, 14, 15, tzinfo=UTC)] * 3 + [None]
    # the impossible date is not a repair: it stays unreadable for the rules
    assert log.counts == {("utc_by_contract", "at"): 2, ("utc_offset", "at"): 1}


def test_separators_are_read_only_in_the_declared_convention():
    values = ["1.234,56", "1,234.56", "1234.5", "1,5", "12", " 7 ", ""]
    assert _read(lambda e: read_number(e, NumberFormat.PLAIN), values) == [None, None, 1234.5, None, 12.0, 7.0, None]
    assert _read(lambda e: read_number(e, NumberFormat.DECIMAL_POINT), values) == [
        None, 1234.56, 1234.5, None, 12.0, 7.0, None,
    ]  # fmt: skip
    assert _read(lambda e: read_number(e, NumberFormat.DECIMAL_COMMA), values) == [
        1234.56, None, 1234.5, 1.5, 12.0, 7.0, None,
    ]  # fmt: skip
    assert _read(lambda e: read_money(e, NumberFormat.DECIMAL_COMMA), ["R$ 1.234,56", "R$ 4,49"]) == [1234.56, 4.49]


def test_repairs_are_counted_per_rule_and_column_with_at_most_five_examples():
    log = RepairLog()
    frame = pl.DataFrame({"r": ["4", "5.0", "2.0", " ", " 3 ", "9.5"] + ["1.0"] * 10})
    read = read_column(frame, "r", "typed", Kind.INTEGER, log=log)
    assert read["typed"].to_list()[:6] == [4, 5, 2, None, 3, None]
    assert read["r"][3] is None  # a blank source is null for the rules that follow
    assert read["r"][5] == "9.5"  # not repaired: left for the rules to reject or warn
    assert log.counts == {("integral_decimal", "r"): 12, ("blank_to_null", "r"): 1, ("trimmed", "r"): 1}
    assert log.examples[("integral_decimal", "r")] == [
        "'5.0' -> 5",
        "'2.0' -> 2",
        "'1.0' -> 1",
        "'1.0' -> 1",
        "'1.0' -> 1",
    ]
    assert log.metadata()["repair/integral_decimal/r"] == 12
    clean = pl.DataFrame({"r": ["1", "2"]})
    assert read_column(clean, "r", "typed", Kind.INTEGER, log=RepairLog())["typed"].to_list() == [1, 2]


def test_text_is_trimmed_and_blank_is_null_and_a_clean_column_is_not_copied():
    log = RepairLog()
    frame = pl.DataFrame({"a": [" x", "", "  ", "y"], "b": ["p", "q", "r", "s"]})
    out = normalize_text(frame, ["a", "b"], log)
    assert out["a"].to_list() == ["x", None, None, "y"]
    assert out["b"].to_list() == ["p", "q", "r", "s"]
    assert log.counts == {("trimmed", "a"): 1, ("blank_to_null", "a"): 2}


def test_untrimmed_finds_every_unicode_white_space_at_either_end_as_the_pattern_did():
    spaces = [chr(c) for c in range(0x3001) if chr(c).isspace()] + ["\u200b", "\ufeff", "x"]
    values = [None, "", "a b", *(f"{w}a" for w in spaces), *(f"a{w}" for w in spaces), *(f"a{w}a" for w in spaces)]
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    found = frame.select(untrimmed(pl.col("v"))).to_series()
    pattern = frame.select(pl.col("v").str.contains(r"^\s|\s$|^$").fill_null(False)).to_series()
    assert found.to_list() == pattern.to_list()
    assert found.to_list()[:3] == [False, True, False]
    flagged = set(frame.filter(found)["v"].to_list())
    assert {"\ta", "a\u00a0", "\u3000a", "a\n"} <= flagged  # tab, no-break space, ideographic space, newline
    assert not {"\u200ba", "a\ufeff", "\x1ca"} & flagged  # not white space to Unicode (Python's isspace: \x1c is)


def test_a_warning_nulls_the_value_keeps_the_row_and_is_not_a_rejected_row():
    frame = pl.DataFrame(
        {"id": ["1", "2", "3", "4"], "rating": ["5.0", "abc", " ", "7"], "note": [" hi ", "", "x", "y"]}
    )
    rules = [
        Rule("id_required", "id", required=True),
        Rule(
            "rating_integer",
            "rating",
            repair=read_integer,
            valid=lambda e: e.is_between(1, 5),
            action=Action.WARN,
            reason="rating is not an integer 1-5",
        ),
    ]
    result = apply_rules(frame, rules, row_number_offset=2, text_columns=["note"])
    assert result.clean["rating"].to_list() == [5, None, None, None]
    assert result.clean["note"].to_list() == ["hi", None, "x", "y"]
    assert result.quarantine.is_empty() and result.reconciles
    assert result.warnings.select("row_number", "rule", "severity").rows() == [
        (3, "rating_integer", "warning"),
        (5, "rating_integer", "warning"),
    ]
    assert json.loads(result.warnings["raw_record"][0]) == {"id": "2", "rating": "abc", "note": ""}
    assert result.metadata()["values_warned"] == 2
    # the repaired values of loaded rows are warnings too, saying what was read from what
    assert result.repaired.select("row_number", "rule", "column", "reason").rows() == [
        (2, "repaired_trimmed", "note", "' hi ' read as hi"),
        (3, "repaired_blank_to_null", "note", "'' read as null"),
    ]
    assert result.issues.height == 4 and set(result.issues["severity"]) == {"warning"}
