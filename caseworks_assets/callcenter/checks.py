"""The callcenter checks' specs and schemas: raw tables (Pandera, reconciliation) and answers agreeing.

The raw checks are evaluated in the step that loads the tables (on the frames
it holds, before anything downstream runs); the agreement checks in the step
that answers on the model, against the answers on the sources as stored. All
are blocking: a raw table that breaks its contract never reaches dbt, and
answers that disagree never reach ``answers``. dbt's own tests (unique,
not_null, relationships, accepted_values) are asset checks too, declared by
dagster-dbt from the manifest.
"""

from __future__ import annotations

import dagster as dg
import pandera.polars as pa

from caseworks_assets.callcenter.answers import QUESTIONS
from caseworks_assets.callcenter.columns import TABLES, raw_specs
from caseworks_assets.callcenter.keys import model_answer_key, raw_key
from caseworks_assets.governance import pandera_schema


def raw_schema(table: str) -> pa.DataFrameSchema:
    """A raw table's Pandera schema, derived from its column contracts (types, keys not null, unique keys unique)."""
    return pandera_schema(f"callcenter_raw_{table}", raw_specs(table), strict=True)


RAW_SCHEMAS = {table: raw_schema(table) for table in TABLES}

RAW_CHECKS = [
    spec
    for table in TABLES
    for spec in (
        dg.AssetCheckSpec(
            "reconciliation",
            asset=raw_key(table),
            blocking=True,
            description="Nothing lost: rows_read = rows_loaded + rows_quarantined.",
        ),
        dg.AssetCheckSpec(
            f"raw_{table}_schema",
            asset=raw_key(table),
            blocking=True,
            description=f"Pandera schema callcenter_raw_{table}: the contract's types, keys present"
            + "".join(f", {c.name} unique" for c in raw_specs(table) if c.unique and c.name != "source_line")
            + ".",
        ),
    )
]

AGREEMENT_CHECKS = [
    dg.AssetCheckSpec(
        "agrees_with_sources",
        asset=model_answer_key(question.name),
        blocking=True,
        description=f"{question.title}: the answer on the new model equals the answer on the sources row for row "
        f"(same {', '.join(question.keys)}; same counts; averages within 1e-9).",
    )
    for question in QUESTIONS
]
