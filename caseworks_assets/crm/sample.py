"""Synthetic crm exports in the original system's layout, with every defect the source is known for.

``write_sample(out_dir, rows, seed)`` writes, deterministically for a seed:

* ``customer.xlsx``: two title rows above ``Customer_Id, Occupation, Type``; ids
  as numbers, one as `` 7 `` text; a customer with empty occupation and type;
  a duplicated customer; the last customer has no interaction.
* ``product.csv``: ``date, product`` with the date as ``MM-YYYY``, one month
  without a product (its interactions have no topic), a duplicate and a blank row.
* ``interactions.csv`` (``date_start, event, customers``) and
  ``interactions_export.xlsx`` (title rows, then ``Date Start, Interaction,
  Customers``): ``rows`` interactions in all, day-first dates, channel names in
  other case or with spaces, unknown channels, customers that do not exist,
  duplicate rows, blank rows, and one day with a burst of e-mails (an anomaly).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import xlsxwriter

DEFAULT_ROWS = 2_000
#: the .xlsx part of the interactions is capped: spreadsheets are small, CSV carries the volume
XLSX_ROWS = 20_000
CHANNELS = ("Email", "Call", "Meeting", "Chat", "Bird")
CHANNEL_WEIGHTS = (0.4, 0.3, 0.15, 0.13, 0.02)
VARIANTS = (" email ", "EMAIL", "call ", " Meeting", "chat")
UNKNOWN = ("", "unknown", "???", "N/A", "#REF!")
OCCUPATIONS = ("Engineer", "Teacher", "Nurse", "Lawyer", "Designer", "Farmer", "Student", "Retired")
TYPES = ("Individual", "Business", "Government")
PRODUCTS = ("Savings account", "Credit card", "Mortgage", "Insurance", "Investment fund", "Personal loan")
YEAR_START = datetime(2019, 1, 1)
MONTH_WITHOUT_PRODUCT = 8  # August 2019 has no product of discussion
SPIKE_DAY = date(2019, 6, 14)


def _customers(n: int, rng: np.random.Generator) -> list[list[object]]:
    rows: list[list[object]] = [
        [i, OCCUPATIONS[rng.integers(len(OCCUPATIONS))], TYPES[rng.integers(len(TYPES))]] for i in range(1, n + 1)
    ]
    rows[2] = [3, "", ""]  # empty occupation and type: an optional attribute, the customer stays
    rows[6] = [" 7 ", rows[6][1], rows[6][2]]  # an id typed as text with blanks: repaired
    rows.insert(5, list(rows[4]))  # a duplicated customer
    return rows


def _interactions(rows: int, customers: int, rng: np.random.Generator) -> pl.DataFrame:
    """``rows`` interactions as text in the original layout, defects included, in a seeded order."""
    spike = max(20, rows // 50)
    normal = max(rows - spike, 1)
    spike_start = (datetime.combine(SPIKE_DAY, datetime.min.time()) - YEAR_START).total_seconds() // 60 + 9 * 60
    minutes = np.concatenate([rng.integers(0, 365 * 24 * 60, normal), spike_start + rng.integers(0, 8 * 60, spike)])
    channel = np.concatenate(
        [rng.choice(np.array(CHANNELS, dtype=object), normal, p=CHANNEL_WEIGHTS), ["Email"] * spike]
    )
    # customers 1..customers-1 interact; the last customer never does
    customer = rng.integers(1, max(customers, 2), normal + spike).astype(object)
    n = normal + spike
    k = max(1, n // 200)  # half a percent of each defect
    picks = rng.choice(n, 4 * k, replace=False)
    variants, unknown, orphans, duplicates = picks[:k], picks[k : 2 * k], picks[2 * k : 3 * k], picks[3 * k :]
    channel[variants] = np.array(VARIANTS, dtype=object)[variants % len(VARIANTS)]
    channel[unknown] = np.array(UNKNOWN, dtype=object)[unknown % len(UNKNOWN)]
    customer[orphans] = orphans + 100_000_000
    frame = pl.DataFrame(
        {
            "date_start": (pl.Series(minutes.astype(np.int64)) * 60_000_000)
            .cast(pl.Datetime("us"))
            .dt.offset_by(f"{(YEAR_START - datetime(1970, 1, 1)).days}d")
            .dt.strftime("%d/%m/%Y %H:%M"),
            "channel": pl.Series(channel.tolist(), dtype=pl.String),
            "customer": pl.Series(customer.tolist(), dtype=pl.Int64).cast(pl.String),
        }
    )
    blanks = pl.DataFrame({c: [None] * 2 for c in frame.columns}, schema=frame.schema)
    frame = pl.concat([frame, frame[duplicates.tolist()], blanks])
    return frame[rng.permutation(frame.height).tolist()]


def _title_sheet(path: Path, titles: list[str], header: list[str], rows: list[list[object]]) -> None:
    """An .xlsx whose first sheet has title rows, a blank row, the header, then the rows (numbers as numbers)."""
    with xlsxwriter.Workbook(str(path), {"constant_memory": True}) as book:
        book.set_properties({"created": datetime(2020, 1, 2)})  # a fixed date: the same seed gives the same bytes
        sheet = book.add_worksheet("export")
        for r, title in enumerate(titles):
            sheet.write_string(r, 0, title)
        top = len(titles) + 1
        sheet.write_row(top, 0, header)
        for r, row in enumerate(rows, start=top + 1):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, int | float) and not isinstance(value, bool):
                    sheet.write_number(r, c, value)
                else:
                    sheet.write_string(r, c, str(value))


def _products(rng: np.random.Generator) -> str:
    lines = ["date,product"]
    for month in range(1, 13):
        if month != MONTH_WITHOUT_PRODUCT:
            lines.append(f"{month:02d}-2019,{PRODUCTS[int(rng.integers(len(PRODUCTS)))]}")
    lines.insert(4, lines[3])  # a duplicate row
    lines.insert(7, ",")  # a blank row
    return "\n".join(lines) + "\n"


def write_sample(out_dir: Path, rows: int | None = None, seed: int = 42) -> None:
    """Write the crm inputs for ``rows`` interactions (default :data:`DEFAULT_ROWS`) into ``out_dir``."""
    rows = max(int(rows or DEFAULT_ROWS), 50)
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_customers = max(12, rows // 10)
    _title_sheet(
        out_dir / "customer.xlsx",
        ["CRM export: customers", "Generated by the original CRM"],
        ["Customer_Id", "Occupation", "Type"],
        _customers(n_customers, rng),
    )
    (out_dir / "product.csv").write_text(_products(rng), encoding="utf-8")
    interactions = _interactions(rows, n_customers, rng)
    in_xlsx = min(XLSX_ROWS, interactions.height // 3)
    head, tail = interactions.slice(0, interactions.height - in_xlsx), interactions.slice(interactions.height - in_xlsx)
    head.rename({"channel": "event", "customer": "customers"}).write_csv(out_dir / "interactions.csv")
    with (out_dir / "interactions.csv").open("a", encoding="utf-8") as handle:
        handle.write("\n" + ",".join(head.row(0)) + "\n")  # an empty line, then a duplicate of the first row
    _title_sheet(
        out_dir / "interactions_export.xlsx",
        ["Customer interactions", "Export of the CRM, all channels"],
        ["Date Start", "Interaction", "Customers"],
        [[d, c, int(x) if x and x.isdigit() else x] for d, c, x in tail.iter_rows()],
    )
