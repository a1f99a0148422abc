"""Synthetic exports of the call center's source tables, shaped and soiled like the original.

About 10,000 calls per weekday, fewer on Saturdays and almost none on Sundays;
``--rows`` is the number of calls (the number of days follows, at least a
week). DDD and UF pairs match; ``lines_id`` is an integer in the calls and text
in ``lines_mkt_final``. Defects of the real exports are included on purpose:
calls without team or agent, calls exported twice, lines without a marketing
row, calls without an attendance, and calls first exported without their
final status whose final row arrives later in the file.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

#: Default number of calls: a week at a demo's scale (runs in seconds).
DEFAULT_ROWS = 3_000
CALLS_PER_WEEKDAY = 10_000
#: Share of a weekday's volume on each day of the week (Monday first).
DAY_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 1.0, 0.35, 0.03)
FIRST_DAY = date(2024, 1, 1)  # a Monday

DDD_UF = {
    11: "SP", 12: "SP", 19: "SP", 21: "RJ", 24: "RJ", 27: "ES", 31: "MG", 34: "MG", 41: "PR", 43: "PR",
    47: "SC", 48: "SC", 51: "RS", 61: "DF", 62: "GO", 65: "MT", 67: "MS", 71: "BA", 81: "PE", 85: "CE",
    91: "PA", 92: "AM",
}  # fmt: skip
MEDIAS = ("CPC", "ORGANIC", "SMS", "EMAIL", "DISPLAY")
INBOUND, OUTBOUND = 1, 2
TELEPHONY_TYPES = {
    INBOUND: "Entrada",
    OUTBOUND: "Saída",
    11: "Atendida",
    12: "Abandonada",
    13: "Não atendida",
    14: "Ocupado",
    15: "Transferida",
}
FINAL_STATUSES = (11, 12, 13, 14, 15)
SALE = 1
TEAMS, AGENTS_PER_TEAM = 8, 10
LINES, LINES_WITHOUT_MARKETING = 60, 8
FIRST_LINE = 3000

#: Defect rates (of calls).
NULL_TEAM_RATE = 0.02
NULL_AGENT_RATE = 0.03
DUPLICATE_RATE = 0.01
LATE_STATUS_RATE = 0.02
ATTENDANCE_RATE = 0.45

TABLES = ("call_history_queue", "telephony_types", "attendances", "attendances_calls", "lines_mkt_final")


def days_for(rows: int) -> int:
    """Days of calls for ``rows`` calls at the original's volume (at least a week)."""
    per_day = CALLS_PER_WEEKDAY * sum(DAY_WEIGHTS) / len(DAY_WEIGHTS)
    return max(7, round(rows / per_day))


def _calls(rng: np.random.Generator, rows: int) -> pl.DataFrame:
    days = days_for(rows)
    weights = np.array([DAY_WEIGHTS[(FIRST_DAY + timedelta(d)).weekday()] for d in range(days)])
    per_day = rng.multinomial(rows, weights / weights.sum())
    day = np.repeat(np.arange(days), per_day)
    seconds = rng.integers(8 * 3600, 20 * 3600, rows)
    start = datetime.combine(FIRST_DAY, datetime.min.time())
    created = np.datetime64(start, "us") + ((day * 86400 + seconds) * 1_000_000).astype("timedelta64[us]")
    team = rng.integers(1, TEAMS + 1, rows)
    agent = team * 100 + rng.integers(1, AGENTS_PER_TEAM + 1, rows)
    ddd = rng.choice(np.array(list(DDD_UF)), rows)
    ids = np.arange(1, rows + 1) + 1_000_000
    frame = pl.DataFrame(
        {
            "id": ids,
            "created_at": created,
            "duration": np.round(rng.lognormal(5.0, 0.8, rows)).astype(np.int64),
            "wait": rng.integers(0, 240, rows),
            "team_id": np.where(rng.random(rows) < NULL_TEAM_RATE, -1, team),
            "user_id": np.where(rng.random(rows) < NULL_AGENT_RATE, -1, agent),
            "lines_id": rng.integers(FIRST_LINE, FIRST_LINE + LINES, rows),
            "token": [f"tk{value:010x}" for value in ids],
            "ddd": ddd,
            "uf": [DDD_UF[int(code)] for code in ddd],
            "queue_log_modality_types_id": np.where(rng.random(rows) < 0.7, INBOUND, OUTBOUND),
            "queue_log_verb_types_id": rng.choice(np.array(FINAL_STATUSES), rows, p=[0.6, 0.15, 0.12, 0.08, 0.05]),
        }
    ).with_columns(
        pl.col("created_at").dt.cast_time_unit("us"),
        *(pl.when(pl.col(c) >= 0).then(pl.col(c)).alias(c) for c in ("team_id", "user_id")),
    )
    return frame


def _with_defects(rng: np.random.Generator, calls: pl.DataFrame) -> pl.DataFrame:
    """Exported twice, and first without a final status (the final row arrives later in the file)."""
    rows = calls.height
    late = calls.filter(pl.Series(rng.random(rows) < LATE_STATUS_RATE))
    early = late.with_columns(pl.lit(None, dtype=pl.Int64).alias("queue_log_verb_types_id"))
    duplicates = calls.filter(pl.Series(rng.random(rows) < DUPLICATE_RATE))
    on_time = calls.join(late.select("id"), on="id", how="anti")
    # the open row sits where the call was exported; its final row and the re-exports come at the end
    return pl.concat([on_time, early]).sort("created_at").vstack(pl.concat([late, duplicates]).sort("id"))


def _attendances(rng: np.random.Generator, calls: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    attended = calls.filter(pl.Series(rng.random(calls.height) < ATTENDANCE_RATE))
    n = attended.height
    kind = rng.choice(np.array([SALE, 2, 3]), n, p=[0.35, 0.5, 0.15])
    value = np.round(rng.choice(np.array([49.9, 79.9, 99.9, 149.9, 199.9, 299.9]), n), 2)
    ids = np.arange(1, n + 1) + 500_000
    attendances = pl.DataFrame(
        {
            "id": ids,
            "customer_id": rng.integers(10_000, 90_000, n),
            "status_id": rng.integers(1, 5, n),
            "type_id": kind,
            "monthly_value": np.where(kind == SALE, value, np.nan),
        }
    ).with_columns(pl.col("monthly_value").fill_nan(None))
    main = pl.DataFrame(
        {
            "attendance_id": ids,
            "token": attended["token"],
            "main_connection": np.ones(n, dtype=bool),
            "line_id": attended["lines_id"],
        }
    )
    # a transfer: a second, non-main connection of some attendances to another call
    extra = main.filter(pl.Series(rng.random(n) < 0.1))
    extra = extra.with_columns(
        pl.lit(False).alias("main_connection"),
        pl.Series("token", rng.choice(calls["token"].to_numpy(), extra.height)),
    )
    links = pl.concat([main, extra]).with_row_index("id", offset=1).with_columns(pl.col("id").cast(pl.Int64))
    return attendances, links


def _lines(rng: np.random.Generator) -> pl.DataFrame:
    ids = np.arange(FIRST_LINE, FIRST_LINE + LINES - LINES_WITHOUT_MARKETING)
    n = len(ids)
    media = rng.choice(np.array(MEDIAS), n, p=[0.35, 0.25, 0.15, 0.15, 0.1])
    return pl.DataFrame(
        {
            # text in the source; a few carry the blanks the export leaves around numbers
            "line_id": [f" {value} " if value % 17 == 0 else str(value) for value in ids],
            "midia": media,
            "campanha": [f"campanha_{value % 7}" for value in ids],
            "fonte": [{"CPC": "google", "DISPLAY": "meta"}.get(m, m.lower()) for m in media],
            "pagina": [f"/oferta/{value % 5}" for value in ids],
            "dominio": ["caseworks.com.br" if value % 2 else "ofertas.caseworks.com.br" for value in ids],
        }
    )


def sample_tables(rows: int | None = None, seed: int = 42) -> dict[str, pl.DataFrame]:
    """The five source tables for ``rows`` calls (deterministic for ``seed``)."""
    rng = np.random.default_rng(seed)
    calls = _calls(rng, rows or DEFAULT_ROWS)
    attendances, links = _attendances(rng, calls)
    return {
        "call_history_queue": _with_defects(rng, calls),
        "telephony_types": pl.DataFrame(
            {"id": list(TELEPHONY_TYPES), "description": list(TELEPHONY_TYPES.values())},
            schema={"id": pl.Int64, "description": pl.String},
        ),
        "attendances": attendances,
        "attendances_calls": links,
        "lines_mkt_final": _lines(rng),
    }


def write_sample(out_dir: Path, rows: int | None = None, seed: int = 42, fmt: str = "csv") -> None:
    """Write the five source tables into ``out_dir`` as ``<table>.csv`` (or ``.parquet``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in sample_tables(rows, seed).items():
        if fmt == "parquet":
            frame.write_parquet(out_dir / f"{name}.parquet")
        else:
            frame.write_csv(out_dir / f"{name}.csv", datetime_format="%Y-%m-%d %H:%M:%S")
