"""The payments tables' columns, declared once: type, meaning and classification.

The same declarations drive the raw extraction SQL, the warehouse column
schema shown in the UI, the Pandera schemas and the role projections.
"""

from __future__ import annotations

import pandera.polars as pa

from caseworks_assets.governance import Classification, ColumnSpec
from caseworks_assets.quality.repairs import NumberFormat, Severity

ERROR, WARNING = Severity.ERROR, Severity.WARNING
PUBLIC, INTERNAL, CONFIDENTIAL, RESTRICTED = (
    Classification.PUBLIC,
    Classification.INTERNAL,
    Classification.CONFIDENTIAL,
    Classification.RESTRICTED,
)

TRANSACTION_STATUSES = ("pending", "completed", "refunded", "cancelled")
PAYMENT_STATUSES = ("completed", "processing", "failed")

SOURCE_COLUMNS = [
    ColumnSpec(
        "source_file",
        "String",
        "input file the record came from (relative to the input folder)",
        INTERNAL,
        nullable=False,
    ),
    ColumnSpec(
        "source_line",
        "Int64",
        "1-based position of the record in its file (the line, for NDJSON)",
        INTERNAL,
        nullable=False,
        checks=(pa.Check.ge(1),),
    ),
]

#: Raw fields: JSON path of each field in a record. Amount-like fields keep their JSON literal
#: (``"12.50"`` with quotes was a string, ``12.5`` a number) so repairs can be counted.
TRANSACTION_FIELDS: dict[str, str] = {
    "transaction_id": "$.transaction_id",
    "customer_id": "$.customer_id",
    "amount": "$.amount",
    "currency": "$.currency",
    "transaction_date": "$.transaction_date",
    "due_date": "$.due_date",
    "payment_terms": "$.payment_terms",
    "status": "$.status",
    "product_category": "$.metadata.product_category",
    "sales_rep": "$.metadata.sales_rep",
    "channel": "$.metadata.channel",
    "discount_applied": "$.metadata.discount_applied",
    "installments": "$.metadata.installments",
}
PAYMENT_FIELDS: dict[str, str] = {
    "payment_id": "$.payment_id",
    "transaction_id": "$.transaction_id",
    "customer_id": "$.customer_id",
    "amount_paid": "$.amount_paid",
    "currency": "$.currency",
    "payment_date": "$.payment_date",
    "payment_method": "$.payment_method",
    "payment_type": "$.payment_type",
    "status": "$.status",
    "processor": "$.metadata.processor",
    "fee_amount": "$.metadata.fee_amount",
}
JSON_LITERAL_FIELDS = {"amount", "amount_paid", "fee_amount"}
#: Restricted metadata, sealed together as one JSON object per payment (one AES-GCM operation per record).
RESTRICTED_FIELDS: dict[str, str] = {
    "reference_number": "$.metadata.reference_number",
    "ip_address": "$.metadata.ip_address",
    "user_agent": "$.metadata.user_agent",
}
RESTRICTED_COLUMN = "restricted_metadata"

_RAW_DESCRIPTIONS = {
    "amount": "amount as received: the JSON literal (quoted = it arrived as a string)",
    "amount_paid": "amount paid as received: the JSON literal (quoted = it arrived as a string)",
    "fee_amount": "processor fee as received: the JSON literal",
}

RESTRICTED_SPEC = ColumnSpec(
    RESTRICTED_COLUMN,
    "String",
    "reference_number, ip_address and user_agent as one JSON object; encrypted: in lake files by Parquet "
    "modular encryption (not in the warehouse view), in the stream's warehouse table value by value",
    RESTRICTED,
    encrypted=True,
)


def _raw_class(name: str) -> Classification:
    return CONFIDENTIAL if name in ("customer_id", "sales_rep") else INTERNAL


def raw_columns(fields: dict[str, str], restricted: bool) -> list[ColumnSpec]:
    specs = [
        ColumnSpec(
            name,
            "String",
            _RAW_DESCRIPTIONS.get(name, f"{name} as received (text; path {path})"),
            _raw_class(name),
            identifier=name in ("customer_id", "sales_rep"),
        )
        for name, path in fields.items()
    ]
    return [*SOURCE_COLUMNS, *specs, *([RESTRICTED_SPEC] if restricted else [])]


RAW_TRANSACTION_COLUMNS = raw_columns(TRANSACTION_FIELDS, restricted=False)
RAW_PAYMENT_COLUMNS = raw_columns(PAYMENT_FIELDS, restricted=True)

CUSTOMER_ID = ColumnSpec(
    "customer_id", "String", "customer identifier (personal: pseudonymized for analysts)", CONFIDENTIAL, identifier=True
)
CURRENCY = ColumnSpec(
    "currency", "String", "ISO currency code; null when the source sent it empty", PUBLIC, severity=WARNING
)

TRANSACTION_COLUMNS = [
    ColumnSpec("transaction_id", "String", "transaction identifier", INTERNAL, nullable=False, unique=True),
    CUSTOMER_ID,
    ColumnSpec(
        "amount",
        "Float64",
        'amount owed (> 0; numeric strings such as "1,234.50" read: decimal point, comma thousands)',
        INTERNAL,
        number_format=NumberFormat.DECIMAL_POINT,
        nullable=False,
        checks=(pa.Check.gt(0),),
    ),
    CURRENCY,
    ColumnSpec("transaction_date", "Date", "date of the sale (null when the source sent none)", INTERNAL),
    ColumnSpec("due_date", "Date", "date the amount is due (never null)", INTERNAL, nullable=False),
    ColumnSpec("payment_terms", "String", "payment terms as sent (e.g. net_30)", INTERNAL, severity=WARNING),
    ColumnSpec(
        "status",
        "String",
        "pending | completed | refunded | cancelled",
        INTERNAL,
        nullable=False,
        checks=(pa.Check.isin(TRANSACTION_STATUSES),),
    ),
    ColumnSpec("product_category", "String", "product category", PUBLIC, severity=WARNING),
    ColumnSpec(
        "sales_rep",
        "String",
        "sales representative (an employee: pseudonymized for analysts)",
        CONFIDENTIAL,
        identifier=True,
        severity=WARNING,
    ),
    ColumnSpec("channel", "String", "sales channel", PUBLIC, severity=WARNING),
    ColumnSpec(
        "discount_applied",
        "Boolean",
        "whether a discount was applied (null with a warning if unreadable)",
        INTERNAL,
        severity=WARNING,
    ),
    ColumnSpec(
        "installments",
        "Int64",
        "number of installments (5.0 read as 5; null with a warning if unreadable)",
        INTERNAL,
        severity=WARNING,
    ),
    *SOURCE_COLUMNS,
]

PAYMENT_COLUMNS = [
    ColumnSpec("payment_id", "String", "payment identifier", INTERNAL, nullable=False, unique=True),
    ColumnSpec(
        "transaction_id", "String", "the transaction paid (always a cleaned transaction)", INTERNAL, nullable=False
    ),
    CUSTOMER_ID,
    ColumnSpec(
        "amount_paid",
        "Float64",
        "amount paid (> 0; numeric strings read: decimal point, comma thousands)",
        INTERNAL,
        number_format=NumberFormat.DECIMAL_POINT,
        nullable=False,
        checks=(pa.Check.gt(0),),
    ),
    CURRENCY,
    ColumnSpec("payment_date", "Date", "date of the payment", INTERNAL, nullable=False),
    ColumnSpec("payment_method", "String", "payment method", INTERNAL, severity=WARNING),
    ColumnSpec("payment_type", "String", "full | partial_N", INTERNAL, severity=WARNING),
    ColumnSpec(
        "status",
        "String",
        "completed | processing | failed",
        INTERNAL,
        nullable=False,
        checks=(pa.Check.isin(PAYMENT_STATUSES),),
    ),
    ColumnSpec("processor", "String", "payment processor", INTERNAL, severity=WARNING),
    ColumnSpec(
        "fee_amount",
        "Float64",
        "processor fee (null with a warning if unreadable)",
        INTERNAL,
        severity=WARNING,
        number_format=NumberFormat.DECIMAL_POINT,
    ),
    *SOURCE_COLUMNS,
]

PAYMENT_RESTRICTED_COLUMNS = [
    ColumnSpec("payment_id", "String", "payment identifier", INTERNAL),
    RESTRICTED_SPEC,
    ColumnSpec("key_id", "String", "id of the key that sealed the value (rotation progress)", INTERNAL),
    *SOURCE_COLUMNS,
]

QUARANTINE_COLUMNS = [
    ColumnSpec("row_number", "Int64", "position of the record among all records read for this table", INTERNAL),
    ColumnSpec("rule", "String", "the rule that rejected the record", PUBLIC),
    ColumnSpec("column", "String", "the column the rule checks", PUBLIC),
    ColumnSpec("reason", "String", "why the record was rejected", PUBLIC),
    ColumnSpec(
        "raw_record",
        "String",
        "the record as received (JSON; restricted fields excluded, they stay encrypted in raw_payments)",
        CONFIDENTIAL,
    ),
    ColumnSpec(
        "severity",
        "String",
        "error: the record was rejected; warning: it was loaded with this column's value nulled",
        PUBLIC,
    ),
    *SOURCE_COLUMNS,
]
