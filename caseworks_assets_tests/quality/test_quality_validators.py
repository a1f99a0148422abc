"""Validators: property-based tests against independent scalar references, plus hostile-input tables.

The polars builders are evaluated on whole generated columns at once (one
DataFrame per Hypothesis example), which is how the rules engine uses them.
"""

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from caseworks_assets.quality import (
    is_br_phone,
    is_cep,
    is_cnpj,
    is_cpf,
    is_email,
    matches,
    normalize_br_phone,
    normalize_cep,
    normalize_cnpj,
    normalize_cpf,
    normalize_email,
    null_if_blank,
    parse_date,
    parse_datetime,
    parse_number,
)

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def evaluate(builder, values: list, dtype: pl.DataType = pl.String) -> list:
    """``builder(pl.col("x"))`` over ``values``, as a Python list."""
    return pl.DataFrame({"x": values}, schema={"x": dtype}).select(builder(pl.col("x")).alias("y"))["y"].to_list()


def twice(builder, values: list) -> tuple[list, list]:
    """The builder's output and the builder applied to its own output."""
    once = pl.DataFrame({"x": values}, schema={"x": pl.String}).select(builder(pl.col("x")).alias("x"))
    again = once.select(builder(pl.col("x")).alias("x"))
    assert again.schema == once.schema
    return once["x"].to_list(), again["x"].to_list()


# --------------------------------------------------------------------------- references (textbook algorithms)


def cpf_reference(text: str) -> bool:
    digits = text.replace(".", "").replace("-", "")
    if len(digits) != 11 or not all(c in "0123456789" for c in digits) or len(set(digits)) == 1:
        return False
    numbers = [int(c) for c in digits]
    for size in (9, 10):
        total = sum(n * w for n, w in zip(numbers[:size], range(size + 1, 1, -1), strict=True))
        check = 11 - total % 11
        if (0 if check >= 10 else check) != numbers[size]:
            return False
    return True


CNPJ_W1 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
CNPJ_W2 = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]


def cnpj_reference(text: str) -> bool:
    chars = text.replace(".", "").replace("/", "").replace("-", "").upper()
    if len(chars) != 14 or not chars[12:].isascii() or not chars[12:].isdigit() or len(set(chars)) == 1:
        return False
    if not all(c.isascii() and (c.isdigit() or c.isupper()) for c in chars):
        return False
    values = [ord(c) - 48 for c in chars]
    for weights, position in ((CNPJ_W1, 12), (CNPJ_W2, 13)):
        remainder = sum(v * w for v, w in zip(values, weights, strict=False)) % 11
        if (0 if remainder < 2 else 11 - remainder) != values[position]:
            return False
    return True


def cpf_check_digit(numbers: list[int]) -> int:
    total = sum(n * w for n, w in zip(numbers, range(len(numbers) + 1, 1, -1), strict=True))
    check = 11 - total % 11
    return 0 if check >= 10 else check


def cnpj_check_digit(values: list[int], weights: list[int]) -> int:
    remainder = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return 0 if remainder < 2 else 11 - remainder


@st.composite
def cpfs(draw: st.DrawFn, formatted: bool | None = None) -> str:
    body = draw(st.lists(st.integers(0, 9), min_size=9, max_size=9).filter(lambda b: len(set(b)) > 1))
    body.append(cpf_check_digit(body))
    body.append(cpf_check_digit(body))
    digits = "".join(map(str, body))
    if formatted if formatted is not None else draw(st.booleans()):
        return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"
    return digits


@st.composite
def cnpjs(draw: st.DrawFn, alphanumeric: bool = False) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" if alphanumeric else "0123456789"
    body = draw(st.lists(st.sampled_from(alphabet), min_size=12, max_size=12).filter(lambda b: len(set(b)) > 1))
    values = [ord(c) - 48 for c in body]
    values.append(cnpj_check_digit(values, CNPJ_W1))
    values.append(cnpj_check_digit(values, CNPJ_W2))
    chars = "".join(body) + str(values[12]) + str(values[13])
    if draw(st.booleans()):
        return f"{chars[:2]}.{chars[2:5]}.{chars[5:8]}/{chars[8:12]}-{chars[12:]}"
    return chars


def mutate_digit(text: str, data: st.DataObject) -> tuple[str, int]:
    """``text`` with one of its digits replaced by a different digit; also returns the digit's ordinal."""
    positions = [i for i, c in enumerate(text) if c.isdigit()]
    ordinal = data.draw(st.integers(0, len(positions) - 1))
    position = positions[ordinal]
    new = data.draw(st.sampled_from([d for d in "0123456789" if d != text[position]]))
    return text[:position] + new + text[position + 1 :], ordinal


# --------------------------------------------------------------------------- CPF / CNPJ


@FAST
@given(st.lists(cpfs(), min_size=1, max_size=30))
def test_generated_valid_cpfs_pass(values: list[str]) -> None:
    assert evaluate(is_cpf, values) == [True] * len(values)
    assert evaluate(normalize_cpf, values) == [v.replace(".", "").replace("-", "") for v in values]


@FAST
@given(cpfs(), st.data())
def test_single_digit_change_in_a_cpf_is_caught_as_the_algorithm_allows(value: str, data: st.DataObject) -> None:
    mutated, ordinal = mutate_digit(value, data)
    [result] = evaluate(is_cpf, [mutated])
    assert result is cpf_reference(mutated)  # agrees with an independent textbook implementation
    if ordinal >= 9:
        assert result is False  # a changed check digit never passes


def test_cpf_check_digits_cannot_catch_every_single_digit_change() -> None:
    """Mod-11 with 10 -> 0 folds two remainders into one digit; such neighbours are both valid.

    This is a property of the CPF algorithm (the same holds for CNPJ with
    remainders 0 and 1), so "any one-digit change fails" is tested above as
    "fails exactly when the official algorithm says so".
    """
    assert evaluate(is_cpf, ["198.463.464-09", "298.463.464-09"]) == [True, True]
    assert evaluate(is_cnpj, ["28.430.886/0915-00", "48.430.886/0915-00"]) == [True, True]


@FAST
@given(st.lists(st.one_of(cnpjs(), cnpjs(alphanumeric=True)), min_size=1, max_size=30))
def test_generated_valid_cnpjs_pass(values: list[str]) -> None:
    assert evaluate(is_cnpj, values) == [True] * len(values)
    assert evaluate(normalize_cnpj, values) == [v.replace(".", "").replace("/", "").replace("-", "") for v in values]


@FAST
@given(cnpjs(), st.data())
def test_single_digit_change_in_a_cnpj_is_caught_as_the_algorithm_allows(value: str, data: st.DataObject) -> None:
    mutated, ordinal = mutate_digit(value, data)
    [result] = evaluate(is_cnpj, [mutated])
    assert result is cnpj_reference(mutated)
    if ordinal >= 12:
        assert result is False


@FAST
@given(st.lists(st.text(alphabet="0123456789.-/ ABCXZ", max_size=20), min_size=1, max_size=30))
def test_cpf_and_cnpj_agree_with_the_references_on_arbitrary_text(values: list[str]) -> None:
    assert evaluate(is_cpf, values) == [cpf_reference(v.strip()) and _cpf_shaped(v.strip()) for v in values]
    assert evaluate(is_cnpj, values) == [cnpj_reference(v.strip()) and _cnpj_shaped(v.strip()) for v in values]


def _cpf_shaped(text: str) -> bool:
    import re

    return re.fullmatch(r"[0-9]{3}\.?[0-9]{3}\.?[0-9]{3}-?[0-9]{2}", text) is not None


def _cnpj_shaped(text: str) -> bool:
    import re

    return re.fullmatch(r"[0-9A-Za-z]{2}\.?[0-9A-Za-z]{3}\.?[0-9A-Za-z]{3}/?[0-9A-Za-z]{4}-?[0-9]{2}", text) is not None


@pytest.mark.parametrize(
    ("value", "cpf", "cnpj"),
    [
        ("529.982.247-25", True, False),
        ("52998224725", True, False),
        (" 529.982.247-25 ", True, False),
        ("529.982.247-26", False, False),
        ("111.111.111-11", False, False),
        ("000.000.000-00", False, False),
        ("5299822472", False, False),  # 10 digits (leading zero lost)
        ("529-982-247-25", False, False),
        ("11.222.333/0001-81", False, True),
        ("11222333000181", False, True),
        ("11.222.333/0001-80", False, False),
        ("00.000.000/0000-00", False, False),
        ("12.ABC.345/01DE-35", False, True),  # alphanumeric CNPJ, Receita Federal's example
        ("12.abc.345/01de-35", False, True),
        ("12.ABC.345/01DE-3A", False, False),
        ("\uff15\uff12\uff19\uff19\uff18\uff12\uff12\uff14\uff17\uff12\uff15", False, False),  # full-width digits
        ("", False, False),
        ("'; DROP TABLE customers; --", False, False),
        ("<script>alert(1)</script>", False, False),
        ("9" * 10_000, False, False),
    ],
)
def test_cpf_cnpj_table(value: str, cpf: bool, cnpj: bool) -> None:
    assert evaluate(is_cpf, [value]) == [cpf]
    assert evaluate(is_cnpj, [value]) == [cnpj]


def test_null_is_not_judged() -> None:
    for builder in (is_cpf, is_cnpj, is_cep, is_email, is_br_phone, matches("[A-Z]+")):
        assert evaluate(builder, [None]) == [None]


# --------------------------------------------------------------------------- phones

PHONE_TABLE = [
    ("(11) 98765-4321", "+5511987654321"),
    ("11987654321", "+5511987654321"),
    ("+55 11 98765-4321", "+5511987654321"),
    ("+55 (11) 98765-4321", "+5511987654321"),
    ("5511987654321", "+5511987654321"),
    ("011 98765 4321", "+5511987654321"),
    ("0 21 11 98765-4321", "+5511987654321"),  # trunk + carrier code
    ("(11) 3456-7890", "+551134567890"),  # landline, 8 digits
    ("21 2345.6789", "+552123456789"),
    ("+5511987654321", "+5511987654321"),
    ("11 8765-4321", None),  # an 8-digit mobile no longer exists
    ("(11) 1234-5678", None),  # landlines start with 2-5
    ("(01) 98765-4321", None),  # DDDs have no zero
    ("+1 212 555 1234", None),  # foreign
    ("11 98765-4321 ramal 2", None),
    ("1198765432", None),  # one digit short for a mobile, wrong first digit for a landline
    ("119876543210", None),
    ("\uff11\uff11\uff19\uff18\uff17\uff16\uff15\uff14\uff13\uff12\uff11", None),
    ("11+987654321", None),
    ("", None),
    ("   ", None),
    ("'; DROP TABLE t; --", None),
    ("<script>alert(1)</script>", None),
    ("1" * 10_000, None),
]


@pytest.mark.parametrize(("value", "expected"), PHONE_TABLE)
def test_phone_table(value: str, expected: str | None) -> None:
    assert evaluate(normalize_br_phone, [value]) == [expected]
    assert evaluate(is_br_phone, [value]) == [expected is not None]


@st.composite
def phones(draw: st.DrawFn) -> tuple[str, str]:
    ddd = f"{draw(st.integers(1, 9))}{draw(st.integers(1, 9))}"
    if draw(st.booleans()):
        number = "9" + "".join(str(draw(st.integers(0, 9))) for _ in range(8))
    else:
        number = str(draw(st.integers(2, 5))) + "".join(str(draw(st.integers(0, 9))) for _ in range(7))
    head, tail = number[:-4], number[-4:]
    shape = draw(
        st.sampled_from(
            [
                f"({ddd}) {head}-{tail}",
                f"{ddd}{number}",
                f"+55 {ddd} {head}-{tail}",
                f"+55{ddd}{number}",
                f"55{ddd}{number}",
                f"0{ddd} {head} {tail}",
                f"0 41 {ddd} {head}-{tail}",
                f" {ddd}.{head}.{tail} ",
            ]
        )
    )
    return shape, f"+55{ddd}{number}"


@FAST
@given(st.lists(phones(), min_size=1, max_size=30))
def test_generated_phones_normalize_to_e164(cases: list[tuple[str, str]]) -> None:
    assert evaluate(normalize_br_phone, [raw for raw, _ in cases]) == [expected for _, expected in cases]


# --------------------------------------------------------------------------- CEP, e-mail, patterns


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("01310-100", "01310-100"),
        ("01310100", "01310-100"),
        (" 01.310-100 ", "01310-100"),
        ("0131-0100", None),
        ("1310-100", None),
        ("013101000", None),
        ("00000-000", None),
        ("01310-10a", None),
        ("\uff10\uff11\uff13\uff11\uff10-\uff11\uff10\uff10", None),
        ("", None),
        ("' OR '1'='1", None),
    ],
)
def test_cep_table(value: str, expected: str | None) -> None:
    assert evaluate(normalize_cep, [value]) == [expected]
    assert evaluate(is_cep, [value]) == [expected is not None]


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("maria.silva@example.com.br", True),
        ("Joao+promo@Mail.EXAMPLE.org", True),
        (" ana@example.com ", True),
        ("ana@example", False),
        ("ana@@example.com", False),
        ("ana..b@example.com", False),
        (".ana@example.com", False),
        ("ana@-example.com", False),
        ("ana@example.c", False),
        ("ana example@example.com", False),
        ("joão@example.com", False),
        ("", False),
        ("a@" + "b" * 300 + ".com", False),
        ("<script>@x.com", False),
        ("x@y.com'; DROP TABLE users; --", False),
    ],
)
def test_email_table(value: str, valid: bool) -> None:
    assert evaluate(is_email, [value]) == [valid]
    assert evaluate(normalize_email, [value]) == [value.strip().lower() if valid else None]


def test_matches_is_anchored_on_the_whole_trimmed_value() -> None:
    product_code = matches(r"(HUN|OUC)-[0-9]{4}")
    values = ["HUN-0001", " OUC-1234 ", "HUN-00012", "xHUN-0001", "hun-0001", "HUN-000\u0661", "", None]
    assert evaluate(product_code, values) == [True, True, False, False, False, False, False, None]


def test_null_if_blank_turns_placeholders_into_null() -> None:
    values = ["", "  ", "N/A", "null", "-", "x", " 0 ", None]
    assert evaluate(null_if_blank(), values) == [None, None, None, None, None, "x", "0", None]


# --------------------------------------------------------------------------- numbers

NUMBER_TABLE = [
    ("R$ 1.234,56", 1234.56),
    ("R$1.234,56", 1234.56),
    ("R$\u00a01.234,56", 1234.56),
    ("1.234,56", 1234.56),
    ("1,234.56", 1234.56),
    ("1234.56", 1234.56),
    ("1234,56", 1234.56),
    ("-12,5", -12.5),
    (" 12 ", 12.0),
    ("+3", 3.0),
    ("1.234.567", 1234567.0),
    ("1,234,567", 1234567.0),
    ("1.234.567,8", 1234567.8),
    ("R$ 1.234", 1234.0),  # after R$ the dot groups thousands
    ("1.234", 1.234),  # a lone dot is a decimal point
    ("1,234", 1.234),  # a lone comma is a decimal comma
    ("(1.234,56)", -1234.56),
    ("-R$ 12,50", -12.5),
    ("R$ -12,50", -12.5),
    ("US$ 10.00", 10.0),
    ("BRL 10,00", 10.0),
    ("1e3", 1000.0),
    (".5", 0.5),
    ("12a", None),
    ("a12", None),
    ("1.23.4", None),
    ("12,34,56", None),
    ("1.234,56.78", None),
    ("--1", None),
    ("(-1)", None),
    ("1e999", None),
    ("NaN", None),
    ("inf", None),
    ("", None),
    ("R$", None),
    ("\u0661\u0662\u0663", None),
    ("'; DROP TABLE t; --", None),
    ("<script>1</script>", None),
    ("9" * 10_000, None),
]


@pytest.mark.parametrize(("value", "expected"), NUMBER_TABLE)
def test_number_table(value: str, expected: float | None) -> None:
    [parsed] = evaluate(parse_number, [value])
    assert parsed == (pytest.approx(expected) if expected is not None else None)


def test_parse_number_accepts_numeric_columns() -> None:
    assert evaluate(parse_number, [3, -2, None], pl.Int64) == [3.0, -2.0, None]
    assert evaluate(parse_number, [1.5, float("nan")], pl.Float64) == [1.5, None]


@st.composite
def written_amounts(draw: st.DrawFn) -> tuple[str, Decimal]:
    cents = draw(st.integers(-(10**11), 10**11))
    value = Decimal(cents) / 100
    whole, fraction = f"{abs(value):.2f}".split(".")
    groups = [whole[max(0, i - 3) : i] for i in range(len(whole), 0, -3)][::-1]
    sign = "-" if value < 0 else ""
    style = draw(st.sampled_from(["br", "brl", "us", "plain", "plain_comma"]))
    text = {
        "br": f"{sign}{'.'.join(groups)},{fraction}",
        "brl": f"{sign}R$ {'.'.join(groups)},{fraction}",
        "us": f"{sign}{','.join(groups)}.{fraction}",
        "plain": f"{sign}{whole}.{fraction}",
        "plain_comma": f" {sign}{whole},{fraction} ",
    }[style]
    return text, value


@FAST
@given(st.lists(written_amounts(), min_size=1, max_size=30))
def test_generated_amounts_parse_to_their_value(cases: list[tuple[str, Decimal]]) -> None:
    parsed = evaluate(parse_number, [text for text, _ in cases])
    assert parsed == [float(value) for _, value in cases]


# --------------------------------------------------------------------------- dates

DATE_FORMATS = ["%d/%m/%Y", "%d-%m-%Y", "%Y%m%d", "%d/%m/%y", "%Y-%m-%dT%H:%M:%S"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("05/01/2024", dt.date(2024, 1, 5)),
        ("5/1/2024", dt.date(2024, 1, 5)),
        ("05-01-2024", dt.date(2024, 1, 5)),
        ("20240105", dt.date(2024, 1, 5)),
        ("05/01/24", dt.date(2024, 1, 5)),
        ("2024-01-05", dt.date(2024, 1, 5)),  # ISO is always accepted
        ("2024-01-05T10:11:12", dt.date(2024, 1, 5)),
        (" 29/02/2024 ", dt.date(2024, 2, 29)),
        ("29/02/2023", None),
        ("31/04/2024", None),
        ("2024-01-05T23:11:12-03:00", dt.date(2024, 1, 5)),  # ISO 8601 with an offset: the date as written
        ("2024-01-05T10:11:12.345Z", dt.date(2024, 1, 5)),  # JavaScript's toISOString
        ("2024-01-05 10:11", dt.date(2024, 1, 5)),  # ISO without seconds, as spreadsheets write it
        ("2024-01-05T10:11:12+0300x", None),
        ("2024-13-01", None),
        ("invalid-date", None),
        ("", None),
        ("'; DROP TABLE t; --", None),
        ("0" * 10_000, None),
    ],
)
def test_date_table(value: str, expected: dt.date | None) -> None:
    assert evaluate(parse_date(DATE_FORMATS), [value]) == [expected]


def test_date_formats_are_tried_in_declared_order() -> None:
    assert evaluate(parse_date(["%d/%m/%Y", "%m/%d/%Y"]), ["02/03/2024", "12/31/2024"]) == [
        dt.date(2024, 3, 2),
        dt.date(2024, 12, 31),
    ]
    assert evaluate(parse_date(["%m/%d/%Y", "%d/%m/%Y"]), ["02/03/2024"]) == [dt.date(2024, 2, 3)]
    assert evaluate(parse_date(["%d/%m/%Y"], iso=False), ["2024-01-05"]) == [None]
    assert evaluate(parse_date(["%d/%m/%Y"], iso=False), ["2024-01-05T10:11:12Z"]) == [None]


def test_parse_datetime_handles_offsets_and_time_zones() -> None:
    values = ["2024-01-05", "2024-01-05T10:00:00", "2024-01-05T10:00:00Z", "2024-01-05T10:00:00-03:00", "x"]
    formats = ["%Y-%m-%dT%H:%M:%S%#z", "%Y-%m-%d"]
    naive = evaluate(parse_datetime(formats), values)
    assert naive == [
        dt.datetime(2024, 1, 5),
        dt.datetime(2024, 1, 5, 10),
        dt.datetime(2024, 1, 5, 10),
        dt.datetime(2024, 1, 5, 13),
        None,
    ]
    eastern = pl.DataFrame({"x": values}).select(parse_datetime(formats, time_zone="America/New_York")(pl.col("x")))
    assert eastern.schema["x"] == pl.Datetime("us", "America/New_York")
    hours = eastern.select(pl.col("x").dt.convert_time_zone("UTC").dt.hour())["x"].to_list()
    assert hours == [5, 15, 10, 13, None]  # wall time 00:00/10:00 EST = 05/15 UTC; offsets converted
    # 02:30 on 2024-03-10 does not exist in New York (DST gap): null, not a guess
    assert evaluate(parse_datetime(["%Y-%m-%d %H:%M"], time_zone="America/New_York"), ["2024-03-10 02:30"]) == [None]


@st.composite
def written_dates(draw: st.DrawFn) -> tuple[str, dt.date]:
    day = draw(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2068, 12, 31)))
    fmt = draw(st.sampled_from(["%d/%m/%Y", "%d-%m-%Y", "%Y%m%d", "%Y-%m-%d"]))
    return day.strftime(fmt), day


@FAST
@given(st.lists(written_dates(), min_size=1, max_size=30))
def test_generated_dates_parse_to_their_day(cases: list[tuple[str, dt.date]]) -> None:
    assert evaluate(parse_date(DATE_FORMATS), [text for text, _ in cases]) == [day for _, day in cases]


# --------------------------------------------------------------------------- idempotent repairs

HOSTILE_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from("0123456789 .,-+()/$R:TZ@"),
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
    ),
    max_size=40,
)


@FAST
@given(st.lists(st.one_of(HOSTILE_TEXT, st.none(), phones().map(lambda p: p[0])), min_size=1, max_size=30))
def test_phone_repair_is_idempotent(values: list[str | None]) -> None:
    once, again = twice(normalize_br_phone, values)
    assert again == once
    assert all(v is None or (v.startswith("+55") and v[1:].isdigit() and len(v) in (13, 14)) for v in once)


@FAST
@given(st.lists(st.one_of(HOSTILE_TEXT, st.none(), st.from_regex(r"[0-9]{5}-?[0-9]{3}", fullmatch=True)), max_size=30))
def test_cep_repair_is_idempotent(values: list[str | None]) -> None:
    once, again = twice(normalize_cep, values)
    assert again == once


@FAST
@given(st.lists(st.one_of(HOSTILE_TEXT, st.none(), written_amounts().map(lambda a: a[0])), min_size=1, max_size=30))
def test_number_repair_is_idempotent(values: list[str | None]) -> None:
    once, again = twice(parse_number, values)
    assert again == once


@FAST
@given(st.lists(st.one_of(HOSTILE_TEXT, st.none(), written_dates().map(lambda d: d[0])), min_size=1, max_size=30))
def test_date_repair_is_idempotent(values: list[str | None]) -> None:
    parser = parse_date(DATE_FORMATS)
    once, again = twice(parser, values)
    assert again == once


@FAST
@given(
    st.lists(st.one_of(HOSTILE_TEXT, st.none(), st.datetimes().map(lambda d: d.isoformat())), min_size=1, max_size=30),
    st.sampled_from([None, "UTC", "America/Sao_Paulo"]),
)
def test_datetime_repair_is_idempotent(values: list[str | None], time_zone: str | None) -> None:
    parser = parse_datetime(["%Y-%m-%dT%H:%M:%S%#z", "%d/%m/%Y %H:%M"], time_zone=time_zone)
    once, again = twice(parser, values)
    for first, second in zip(once, again, strict=True):
        if first is not None and first.year < 1920 and time_zone not in (None, "UTC"):
            # before ~1914 zones used local mean time (-03:06:28 in Sao Paulo); polars writes such
            # offsets without their seconds, so the text round trip may move the value by < 1 minute
            assert abs((second - first).total_seconds()) < 60
        else:
            assert second == first


@FAST
@given(st.lists(st.one_of(HOSTILE_TEXT, st.none(), st.emails()), min_size=1, max_size=30))
def test_email_normalization_is_idempotent(values: list[str | None]) -> None:
    once, again = twice(normalize_email, values)
    assert again == once
    assume(any(v is not None for v in once))
