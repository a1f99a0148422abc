"""The callcenter source tables' column contracts: type, meaning, classification and what a defect does.

``Contract.on_defect`` says what happens to a value that cannot be read as its
type after the lossless repairs (blanks trimmed, ``5.0`` read as 5, ``" 3017 "``
as 3017): ``quarantine`` for keys and the values the answers depend on, ``null``
for optional attributes (the value is dropped, the row kept and counted). A
blank is null everywhere except in ``required`` columns, whose rows are
quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from caseworks_assets.governance import Classification, ColumnSpec
from caseworks_assets.quality.repairs import Severity

PUBLIC, INTERNAL, CONFIDENTIAL = Classification.PUBLIC, Classification.INTERNAL, Classification.CONFIDENTIAL

CASE = "callcenter"
#: Raw tables as the source system names them, in load order.
TABLES = ("call_history_queue", "telephony_types", "attendances", "attendances_calls", "lines_mkt_final")
SOURCE_LINE = ColumnSpec(
    "source_line", "Int64", "1-based position of the row in its source file", INTERNAL, nullable=False, unique=True
)


@dataclass(frozen=True)
class Contract:
    """One source column: its published spec (type, nulls, severity of a defect) and how its text is read.

    ``required`` is the spec's ``nullable=False``; ``on_defect`` its severity
    (``error``: the row is quarantined, ``warning``: the value is nulled).
    """

    spec: ColumnSpec
    #: how the text is read when it differs from the stored type (``Seconds``: a number or ``HH:MM:SS``, as Float64)
    reads_as: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def dtype(self) -> str:
        return self.reads_as or self.spec.dtype

    @property
    def required(self) -> bool:
        return not self.spec.nullable

    @property
    def on_defect(self) -> Literal["quarantine", "null"]:
        return "quarantine" if self.spec.severity is Severity.ERROR else "null"


def _c(
    name: str,
    dtype: str,
    description: str,
    cls: Classification = INTERNAL,
    *,
    identifier: bool = False,
    required: bool = False,
    on_defect: Literal["quarantine", "null"] = "null",
    unique: bool = False,
) -> Contract:
    stored = "Float64" if dtype == "Seconds" else dtype
    spec = ColumnSpec(
        name,
        stored,
        description,
        cls,
        identifier=identifier,
        nullable=not required,
        unique=unique,
        severity=Severity.ERROR if on_defect == "quarantine" else Severity.WARNING,
    )
    return Contract(spec, reads_as=dtype if dtype != stored else None)


KEY = {"required": True, "on_defect": "quarantine"}
USED = {"on_defect": "quarantine"}  # the answers read it: unreadable quarantines, blank stays null

CONTRACTS: dict[str, list[Contract]] = {
    "call_history_queue": [
        _c("id", "Int64", "call id; a call exported twice appears twice here (the model keeps one)", **KEY),
        _c("created_at", "Datetime", "when the call entered the queue (local wall time; offsets converted)", **KEY),
        _c("duration", "Seconds", "talk time in seconds (averaged by the answers; HH:MM:SS read as seconds)", **USED),
        _c("wait", "Seconds", "seconds waited in the queue (HH:MM:SS read as seconds)"),
        _c("team_id", "Int64", "team that took the call; null in the source for some calls"),
        _c(
            "user_id",
            "Int64",
            "agent that took the call; null in the source for some calls",
            CONFIDENTIAL,
            identifier=True,
        ),
        _c("lines_id", "Int64", "telephone line the call came through (integer here, text in lines_mkt_final)", **USED),
        _c("token", "String", "links the call to its attendances (attendances_calls.token)"),
        _c("ddd", "Int64", "Brazilian area code of the caller"),
        _c("uf", "String", "state of the caller's area code"),
        _c("queue_log_modality_types_id", "Int64", "modality: telephony_types id of Entrada (inbound) or Saída", **KEY),
        _c("queue_log_verb_types_id", "Int64", "final status (telephony_types id); null until it arrives", **USED),
    ],
    "telephony_types": [
        # unique in the raw table as exported (call ids repeat on purpose: the model picks one row)
        _c("id", "Int64", "telephony type id", **KEY, unique=True),
        _c("description", "String", "modality (Entrada, Saída) or final status name", PUBLIC, **USED),
    ],
    "attendances": [
        _c("id", "Int64", "attendance id", **KEY),
        _c("customer_id", "Int64", "customer served", CONFIDENTIAL, identifier=True),
        _c("status_id", "Int64", "attendance status"),
        _c("type_id", "Int64", "attendance type; 1 = sale", **USED),
        _c(
            "monthly_value",
            "Float64",
            "monthly value of a sale in BRL (R$ 1.234,56 and 1234.56 are read alike)",
            **USED,
        ),
    ],
    "attendances_calls": [
        _c("id", "Int64", "link id", **KEY),
        _c("attendance_id", "Int64", "attendance linked", **KEY),
        _c("token", "String", "token of the call linked", **KEY),
        _c("main_connection", "Boolean", "the call the attendance belongs to (others are transfers)", **USED),
        _c("line_id", "Int64", "line of the call linked"),
    ],
    "lines_mkt_final": [
        _c("line_id", "Int64", "telephone line (text in the source, blanks trimmed)", **KEY),
        _c("midia", "String", "marketing media: CPC, ORGANIC, SMS, EMAIL, DISPLAY", PUBLIC, **USED),
        _c("campanha", "String", "campaign", PUBLIC),
        _c("fonte", "String", "traffic source", PUBLIC),
        _c("pagina", "String", "landing page", PUBLIC),
        _c("dominio", "String", "landing domain", PUBLIC),
    ],
}


def raw_specs(table: str) -> list[ColumnSpec]:
    """Published columns of a raw table: the source's, typed, plus ``source_line``."""
    return [SOURCE_LINE, *(contract.spec for contract in CONTRACTS[table])]
