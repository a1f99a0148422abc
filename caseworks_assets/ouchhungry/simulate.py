"""The marketplace's source system, simulated: products, customers and one day of sales.

Extraction is simulated because the real marketplace database is not part of
this project. The simulation is deterministic (a seed, and the day for
transactions, fix every value) and reproduces what real extracts of this kind
contain, at rates set by :class:`DefectRates`: null fields, re-sent duplicate
rows, invalid e-mails, CPFs with wrong check digits, CEPs and phone numbers in
mixed formats, malformed product codes, dates in mixed formats and prices
written like ``R$ 1.234,56``. Every column arrives as text, as it would from a
CSV export. Values are drawn with numpy and assembled with polars, so the
volume can grow without Python loops over rows.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from faker import Faker

#: OuchHungry's two products; everything else in their segments is competition.
PARTNER_PRODUCTS = {"REF-0001": "Hungry", "SAL-0001": "Ouch"}
PARTNER_BRAND = "OuchHungry"

# (code, name, brand, segment, list price in BRL, relative popularity)
CATALOG: list[tuple[str, str, str, str, float, float]] = [
    ("REF-0001", "Hungry Refrigerante Lata 350ml", PARTNER_BRAND, "Refrigerantes", 4.49, 10.0),
    ("REF-0002", "Cola-Cola Lata 350ml", "Cola Brasil", "Refrigerantes", 4.99, 14.0),
    ("REF-0003", "Guaraná Amazônia 2L", "Amazônia Bebidas", "Refrigerantes", 8.99, 9.0),
    ("REF-0004", "Laranjinha Soda 350ml", "Soda Sul", "Refrigerantes", 3.99, 6.0),
    ("REF-0005", "Limão Fresh 600ml", "Fresh", "Refrigerantes", 5.49, 4.0),
    ("SAL-0001", "Ouch Salgadinho Queijo 120g", PARTNER_BRAND, "Salgadinhos", 7.99, 9.0),
    ("SAL-0002", "Crocantes Batata Ondulada 100g", "Crocantes", "Salgadinhos", 8.49, 11.0),
    ("SAL-0003", "Milhitos Requeijão 140g", "Milhitos", "Salgadinhos", 6.99, 8.0),
    ("SAL-0004", "Torcidinho Pimenta 80g", "Torcida", "Salgadinhos", 4.49, 5.0),
    ("CHO-0001", "Barra ao Leite 90g", "Cacau Norte", "Chocolates", 6.49, 7.0),
    ("CHO-0002", "Bombom Sortido 250g", "Cacau Norte", "Chocolates", 14.90, 3.0),
    ("BIS-0001", "Biscoito Recheado Morango 130g", "Vovó Clara", "Biscoitos", 3.29, 8.0),
    ("BIS-0002", "Cream Cracker 200g", "Vovó Clara", "Biscoitos", 4.19, 5.0),
    ("CAF-0001", "Café Torrado 500g", "Serra Café", "Café", 18.90, 4.0),
    ("AGU-0001", "Água Mineral 1,5L", "Fonte Clara", "Águas", 2.99, 9.0),
]

# (city, state, CEP prefix (first 2 digits), DDD, relative population)
CITIES: list[tuple[str, str, str, str, float]] = [
    ("São Paulo", "SP", "01", "11", 30.0),
    ("Rio de Janeiro", "RJ", "20", "21", 16.0),
    ("Belo Horizonte", "MG", "30", "31", 7.0),
    ("Salvador", "BA", "40", "71", 6.0),
    ("Fortaleza", "CE", "60", "85", 6.0),
    ("Curitiba", "PR", "80", "41", 5.0),
    ("Recife", "PE", "50", "81", 5.0),
    ("Porto Alegre", "RS", "90", "51", 4.5),
    ("Manaus", "AM", "69", "92", 4.0),
    ("Goiânia", "GO", "74", "62", 3.5),
    ("Campinas", "SP", "13", "19", 3.0),
    ("Belém", "PA", "66", "91", 3.0),
    ("Florianópolis", "SC", "88", "48", 1.5),
    ("Natal", "RN", "59", "84", 1.5),
    ("Cuiabá", "MT", "78", "65", 1.0),
    ("Juazeiro do Norte", "CE", "63", "88", 0.4),
    ("Parintins", "AM", "69", "92", 0.2),
    ("Ouro Preto", "MG", "35", "31", 0.2),
]


@dataclass(frozen=True)
class DefectRates:
    """Share of rows (0..1) affected by each defect; zero everywhere gives a clean extract."""

    null_rate: float = 0.01
    duplicate_rate: float = 0.02
    invalid_email_rate: float = 0.03
    invalid_cpf_rate: float = 0.01
    malformed_code_rate: float = 0.01
    bad_number_rate: float = 0.01
    bad_date_rate: float = 0.01
    unknown_customer_rate: float = 0.005
    #: values written another lossless way (quantity 2.0 / 2,0 / padded, padded prices): repaired, never rejected
    lossless_rate: float = 0.02


def _rng(seed: int, *salt: int) -> np.random.Generator:
    return np.random.default_rng([seed, *salt])


def _pick(rng: np.random.Generator, values: list, weights: list[float], size: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(np.asarray(values, dtype=object), size=size, p=p / p.sum())


def _br_money(values: np.ndarray) -> np.ndarray:
    """1234.5 -> 'R$ 1.234,50'."""
    text = np.char.mod("%.2f", values.astype(float))
    whole = np.array([f"{int(float(v)):,}".replace(",", ".") for v in text], dtype=object)
    cents = np.array([v[-2:] for v in text], dtype=object)
    return "R$ " + whole + "," + cents


def _mixed_price(rng: np.random.Generator, prices: np.ndarray) -> np.ndarray:
    """Prices as a marketplace export writes them: 'R$ 4,49', '4,49' or '4.49'."""
    style = rng.integers(0, 3, size=len(prices))
    dotted = np.char.mod("%.2f", prices.astype(float)).astype(object)
    comma = np.array([v.replace(".", ",") for v in dotted], dtype=object)
    return np.where(style == 0, _br_money(prices), np.where(style == 1, comma, dotted))


def _blank(rng: np.random.Generator, values: np.ndarray, rate: float) -> np.ndarray:
    return np.where(rng.random(len(values)) < rate, None, values)


def _corrupt(rng: np.random.Generator, values: np.ndarray, rate: float, bad: np.ndarray) -> np.ndarray:
    return np.where(rng.random(len(values)) < rate, bad, values)


def _text_frame(data: dict[str, object]) -> pl.DataFrame:
    """All-text frame from numpy/list columns (numpy object arrays go through Python lists)."""
    return pl.DataFrame(
        {name: (values.tolist() if isinstance(values, np.ndarray) else list(values)) for name, values in data.items()},
        schema=dict.fromkeys(data, pl.String),
    )


def _with_duplicates(rng: np.random.Generator, frame: pl.DataFrame, rate: float) -> pl.DataFrame:
    """Re-sent rows: a share of rows appears twice, the copy right after a later row."""
    count = round(frame.height * rate)
    if count == 0 or frame.height == 0:
        return frame
    picks = rng.choice(frame.height, size=count, replace=False)
    return pl.concat([frame, frame[np.sort(picks)]]).sample(
        fraction=1.0, shuffle=True, seed=int(rng.integers(0, 2**31))
    )


def _cpf_digits(rng: np.random.Generator, size: int) -> np.ndarray:
    """Valid CPFs (11 digits), check digits computed with numpy."""
    base = rng.integers(0, 10, size=(size, 9))
    first = (base * np.arange(10, 1, -1)).sum(axis=1) * 10 % 11 % 10
    with_first = np.column_stack([base, first])
    second = (with_first * np.arange(11, 1, -1)).sum(axis=1) * 10 % 11 % 10
    digits = np.column_stack([with_first, second])
    return np.array(["".join(map(str, row)) for row in digits], dtype=object)


def simulate_products(seed: int = 42, rates: DefectRates | None = None) -> pl.DataFrame:
    """The product catalog export (text columns): code, name, brand, segment, list price, launch date."""
    rates = rates or DefectRates()
    rng = _rng(seed, 1)
    codes = np.array([row[0] for row in CATALOG], dtype=object)
    partner = np.isin(codes, list(PARTNER_PRODUCTS))
    # Codes typed by people: lower case or a space instead of the dash (repairable), or truncated (not).
    style = rng.random(len(codes))
    messy = np.where(
        style < 0.15,
        np.char.lower(codes.astype(str)).astype(object),
        np.where(style < 0.25, np.char.replace(codes.astype(str), "-", " ").astype(object), codes),
    )
    broken = np.array([code[:2] + code[-2:] for code in codes], dtype=object)
    messy = np.where(~partner & (rng.random(len(codes)) < rates.malformed_code_rate), broken, messy)
    launched = np.array([f"{1 + i % 27:02d}/{1 + i % 12:02d}/20{15 + i % 9}" for i in range(len(codes))], dtype=object)
    frame = _text_frame(
        {
            "product_code": messy,
            "product_name": [row[1] for row in CATALOG],
            "brand": [row[2] for row in CATALOG],
            "segment": np.where(
                ~partner,
                _blank(rng, np.array([r[3] for r in CATALOG], dtype=object), rates.null_rate),
                np.array([r[3] for r in CATALOG], dtype=object),
            ),
            "list_price": _mixed_price(rng, np.array([row[4] for row in CATALOG])),
            "launched_on": launched,
        }
    )
    return _with_duplicates(rng, frame, rates.duplicate_rate)


def _name_pools(seed: int) -> tuple[list[str], list[str]]:
    fake = Faker("pt_BR")
    fake.seed_instance(seed)
    first = sorted({fake.first_name() for _ in range(400)})
    last = sorted({fake.last_name() for _ in range(400)})
    return first, last


def _ascii(values: np.ndarray) -> np.ndarray:
    """'Eloá Conceição' -> 'eloaconceicao' (e-mail local parts are ASCII)."""
    folded = [unicodedata.normalize("NFKD", v).encode("ascii", "ignore").decode().lower() for v in values]
    return np.array([v.replace(" ", "") for v in folded], dtype=object)


def simulate_customers(count: int = 400, seed: int = 42, rates: DefectRates | None = None) -> pl.DataFrame:
    """The customer export (text columns), ids ``C000001`` .. ``C<count>``."""
    rates = rates or DefectRates()
    rng = _rng(seed, 2)
    first, last = _name_pools(seed)
    first_pool, last_pool = np.asarray(first, dtype=object), np.asarray(last, dtype=object)
    given_index = rng.integers(0, len(first_pool), size=count)
    family_index = rng.integers(0, len(last_pool), size=count)
    given, family = first_pool[given_index], last_pool[family_index]
    city_index = _pick(rng, list(range(len(CITIES))), [c[4] for c in CITIES], count).astype(int)
    city = np.array([CITIES[i][0] for i in city_index], dtype=object)
    state = np.array([CITIES[i][1] for i in city_index], dtype=object)
    cep_prefix = np.array([CITIES[i][2] for i in city_index], dtype=object)
    ddd = np.array([CITIES[i][3] for i in city_index], dtype=object)

    cpf = _cpf_digits(rng, count)
    wrong_check = np.array([c[:9] + f"{(int(c[9:]) + 11) % 100:02d}" for c in cpf], dtype=object)
    cpf = _corrupt(rng, cpf, rates.invalid_cpf_rate, wrong_check)
    cpf_formatted = np.array([f"{c[:3]}.{c[3:6]}.{c[6:9]}-{c[9:]}" for c in cpf], dtype=object)
    cpf = np.where(rng.random(count) < 0.5, cpf_formatted, cpf)

    ids = np.array([f"C{i:06d}" for i in range(1, count + 1)], dtype=object)
    local = (
        _ascii(first_pool)[given_index] + "." + _ascii(last_pool)[family_index] + np.char.mod("%d", np.arange(count))
    )
    domains = rng.choice(np.array(["gmail.com", "hotmail.com", "uol.com.br", "bol.com.br", "outlook.com"]), count)
    email = local + "@" + domains.astype(object)
    bad_email = local + np.where(rng.random(count) < 0.5, "@", "@@") + np.where(rng.random(count) < 0.5, "gmail", "")
    email = _blank(rng, _corrupt(rng, email, rates.invalid_email_rate, bad_email), rates.null_rate)

    number = rng.integers(10_000_000, 99_999_999, size=count).astype(str).astype(object)
    style = rng.choice(4, size=count, p=[0.35, 0.3, 0.3, 0.05])
    phone = np.select(
        [style == 0, style == 1, style == 2],
        [
            "(" + ddd + ") 9" + np.array([n[:4] + "-" + n[4:] for n in number], dtype=object),
            ddd + "9" + number,
            "+55 " + ddd + " 9" + np.array([n[:4] + "-" + n[4:] for n in number], dtype=object),
        ],
        default="9" + number,  # no area code: not a usable number
    ).astype(object)
    phone = _blank(rng, phone, rates.null_rate)

    cep_rest = np.char.zfill(rng.integers(0, 999_999, size=count).astype(str), 6).astype(object)
    cep_digits = cep_prefix + cep_rest
    style = rng.integers(0, 3, size=count)
    cep = np.select(
        [style == 0, style == 1],
        [np.array([c[:5] + "-" + c[5:] for c in cep_digits], dtype=object), cep_digits],
        default=np.array([c[:2] + "." + c[2:5] + "-" + c[5:] for c in cep_digits], dtype=object),
    ).astype(object)

    birth = np.datetime64("1950-01-01") + rng.integers(0, 365 * 55, size=count).astype("timedelta64[D]")
    iso = np.datetime_as_string(birth).astype(object)
    br = np.array([f"{d[8:10]}/{d[5:7]}/{d[:4]}" for d in iso], dtype=object)
    birth_text = np.where(rng.random(count) < 0.5, iso, br)
    updated = np.datetime64("2024-06-01") + rng.integers(0, 200, size=count).astype("timedelta64[D]")

    frame = _text_frame(
        {
            "customer_id": ids,
            "full_name": given + " " + family,
            "cpf": cpf,
            "email": email,
            "phone": phone,
            "cep": cep,
            "city": _blank(rng, city, rates.null_rate),
            "state": state,
            "birth_date": birth_text,
            "updated_at": np.datetime_as_string(updated).astype(object),
        }
    )
    return _with_duplicates(rng, frame, rates.duplicate_rate)


def _as_exported(values: np.ndarray, rng: np.random.Generator, rate: float, forms: list[str]) -> np.ndarray:
    """About ``rate`` of ``values`` written in one of ``forms`` (``{}`` = the value), as real exports write them."""
    chosen = rng.random(len(values)) < rate
    form = rng.integers(0, len(forms), size=len(values))
    rewritten = [
        forms[f].format(v) if pick and v is not None else v for v, pick, f in zip(values, chosen, form, strict=True)
    ]
    return np.array(rewritten, dtype=object)


def day_volume(day: date, per_day: int) -> int:
    """Sales of a day: weekends sell ~15% more than weekdays, a mild and predictable pattern."""
    return round(per_day * (1.15 if day.weekday() >= 5 else 1.0))


def simulate_transactions(
    day: date, per_day: int = 300, customers: int = 400, seed: int = 42, rates: DefectRates | None = None
) -> pl.DataFrame:
    """One day of marketplace sales (text columns), ids ``T<yyyymmdd>-<n>``."""
    rates = rates or DefectRates()
    rng = _rng(seed, 3, day.toordinal())
    count = day_volume(day, per_day)
    product_index = _pick(rng, list(range(len(CATALOG))), [row[5] for row in CATALOG], count).astype(int)
    codes = np.array([CATALOG[i][0] for i in product_index], dtype=object)
    list_price = np.array([CATALOG[i][4] for i in product_index])
    promo = np.where(rng.random(count) < 0.2, 0.85, 1.0)
    price = np.round(list_price * promo * rng.uniform(0.97, 1.03, size=count), 2)
    style = rng.random(count)
    codes_text = np.where(
        style < 0.1,
        np.char.lower(codes.astype(str)).astype(object),
        np.where(style < 0.15, np.char.replace(codes.astype(str), "-", "").astype(object), codes),
    )
    codes_text = _corrupt(rng, codes_text, rates.malformed_code_rate, np.full(count, "XX-?", dtype=object))

    customer_no = rng.integers(1, customers + 1, size=count)
    orphan = rng.random(count) < rates.unknown_customer_rate
    customer_no = np.where(orphan, customers + 1 + rng.integers(0, 1000, size=count), customer_no)
    seconds = np.sort(rng.integers(6 * 3600, 24 * 3600, size=count))
    stamp = np.datetime64(day.isoformat()) + seconds.astype("timedelta64[s]")
    iso = np.datetime_as_string(stamp).astype(object)  # 2025-01-05T14:32:10
    style = rng.integers(0, 3, size=count)
    sold_at = np.select(
        [style == 0, style == 1],
        [iso, np.array([f"{s[8:10]}/{s[5:7]}/{s[:4]} {s[11:16]}" for s in iso], dtype=object)],
        default=np.array([s.replace("T", " ") for s in iso], dtype=object),
    ).astype(object)
    sold_at = _corrupt(rng, sold_at, rates.bad_date_rate, np.full(count, "32/13/2025 25:61", dtype=object))
    quantity = rng.choice(np.array([1, 1, 1, 2, 2, 3, 4, 6]), size=count).astype(str).astype(object)
    unit_price = _corrupt(
        rng, _mixed_price(rng, price), rates.bad_number_rate, rng.choice(np.array(["abc", "-4,49", "R$"]), count)
    )
    # its own generator, so the other columns stay what they were for a seed
    lossless = _rng(seed, 4, day.toordinal())
    quantity = _as_exported(quantity, lossless, rates.lossless_rate, ["{}.0", "{},0", " {} "])
    unit_price = _as_exported(unit_price, lossless, rates.lossless_rate, [" {} ", "{}  "])
    frame = _text_frame(
        {
            "transaction_id": [f"T{day:%Y%m%d}-{i:06d}" for i in range(1, count + 1)],
            "sold_at": sold_at,
            "customer_id": np.char.add("C", np.char.zfill(customer_no.astype(str), 6)).astype(object),
            "product_code": codes_text,
            "quantity": _blank(rng, quantity, rates.null_rate),
            "unit_price": _blank(rng, unit_price, rates.null_rate),
        }
    )
    return _with_duplicates(rng, frame, rates.duplicate_rate)
