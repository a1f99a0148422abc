"""The crm tables' columns, declared once: the input headers they come from, type, meaning, classification.

Input headers are matched in the shared
:func:`~caseworks_assets.quality.csv_input.header_key` form (trimmed, lower case,
runs of spaces, hyphens and dots as ``_``), so ``Date Start``, ``date_start`` and
`` DATE-START `` are the same header. Each table lists its header variants as a mapping from the
normalised header to the canonical column.
"""

from __future__ import annotations

from dataclasses import replace

import pandera.polars as pa

from caseworks_assets.governance import Classification, ColumnSpec

CASE = "crm"

PUBLIC, INTERNAL, CONFIDENTIAL = Classification.PUBLIC, Classification.INTERNAL, Classification.CONFIDENTIAL

#: table -> file name prefix (lower case) that marks its input files, e.g. ``interactions_2019.xlsx``
FILE_PREFIXES = {"customers": "customer", "interactions": "interaction", "products": "product"}

#: table -> {normalised input header: canonical column}; every canonical column is required in the header
HEADERS: dict[str, dict[str, str]] = {
    "customers": {"customer_id": "customer_id", "occupation": "occupation", "type": "customer_type"},
    "interactions": {
        "date_start": "date_start",
        "event": "channel",
        "interaction": "channel",
        "customers": "customer_id",
        "customer": "customer_id",
    },
    "products": {"date": "month", "product": "product"},
}

#: where a record came from, kept on raw rows and in the quarantine's raw record
SOURCE_FILE, SOURCE_ROW = "source_file", "source_row"


def canonical_columns(table: str) -> list[str]:
    """The table's canonical raw columns, in declaration order, without duplicates."""
    return list(dict.fromkeys(HEADERS[table].values()))


SOURCE_COLUMNS = [
    ColumnSpec(SOURCE_FILE, "String", "input file the record came from (name within the input folder)", INTERNAL),
    ColumnSpec(SOURCE_ROW, "Int64", "record number in its file, 1 = the first row under the header", INTERNAL),
]


def raw_columns(table: str) -> list[ColumnSpec]:
    """Raw columns: every input value as the text it was, plus where it came from."""
    described = {
        "customer_id": ("customer id as written (Customer_Id / Customers)", CONFIDENTIAL),
        "occupation": ("occupation as written", CONFIDENTIAL),
        "customer_type": ("customer type as written (Type)", INTERNAL),
        "date_start": ("start of the interaction as written, day first DD/MM/YYYY HH:MM", INTERNAL),
        "channel": ("channel as written (event / Interaction)", PUBLIC),
        "month": ("month of discussion as written, MM-YYYY (date)", PUBLIC),
        "product": ("product of discussion as written", PUBLIC),
    }
    return [
        *(
            ColumnSpec(name, "String", described[name][0], described[name][1], identifier=name == "customer_id")
            for name in canonical_columns(table)
        ),
        *SOURCE_COLUMNS,
    ]


#: A canonical channel: first letter upper case, the rest lower (the clean step writes it so).
CHANNEL_PATTERN = r"^[A-Z][a-z0-9]*(?:[ -][a-z0-9]+)*$"

CUSTOMER_ID = ColumnSpec("customer_id", "Int64", "customer identifier", CONFIDENTIAL, identifier=True, nullable=False)

CUSTOMER_COLUMNS = [
    replace(CUSTOMER_ID, unique=True),
    ColumnSpec("occupation", "String", "occupation; null when the export left it empty (optional)", CONFIDENTIAL),
    ColumnSpec("customer_type", "String", "customer type (Type); null when left empty (optional)", INTERNAL),
]
INTERACTION_COLUMNS = [
    CUSTOMER_ID,
    ColumnSpec(
        "channel",
        "String",
        "channel, canonical: trimmed, first letter upper case, the rest lower",
        PUBLIC,
        nullable=False,
        checks=(pa.Check.str_matches(CHANNEL_PATTERN),),
    ),
    ColumnSpec(
        "started_at", "Datetime", "start of the interaction (wall clock of the export)", INTERNAL, nullable=False
    ),
    ColumnSpec("day", "Date", "calendar day of started_at", INTERNAL, nullable=False),
    ColumnSpec("month", "Date", "first day of the month of started_at", INTERNAL, nullable=False),
    ColumnSpec(
        "topic", "String", "product of discussion of the interaction's month (assumption); null if none", PUBLIC
    ),
]
PRODUCT_COLUMNS = [
    ColumnSpec(
        "month",
        "Date",
        "first day of the month of discussion (MM-YYYY in the input)",
        PUBLIC,
        nullable=False,
        unique=True,
    ),
    ColumnSpec("product", "String", "product discussed that month, trimmed", PUBLIC, nullable=False),
]
QUARANTINE_COLUMNS = [
    ColumnSpec("table", "String", "input table of the record: customers, interactions or products", PUBLIC),
    ColumnSpec("row_number", "Int64", "position of the record among every record read for its table", INTERNAL),
    ColumnSpec("rule", "String", "the rule that rejected the record", PUBLIC),
    ColumnSpec("column", "String", "the column the rule reads (keys for duplicates)", PUBLIC),
    ColumnSpec("reason", "String", "why the record was rejected", PUBLIC),
    ColumnSpec("raw_record", "String", "the record as read, as JSON (source file and row included)", CONFIDENTIAL),
]
