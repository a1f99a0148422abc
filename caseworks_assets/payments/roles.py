"""Per-role extracts, derived from the one policy table in :mod:`caseworks_assets.governance.policy`.

Each role gets Parquet files under ``<out-dir>/payments/roles/<role>/`` holding
only the columns it may read: analysts get pseudonymized customer and sales-rep
ids, finance the real customer ids, and neither ever a restricted value (those
live only encrypted, in ``payments_restricted`` and ``raw_payments``). Files are
written batch by batch, so memory stays bounded.
"""

from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import polars as pl
import pyarrow.parquet as pq

from caseworks_assets.governance import (
    ColumnSpec,
    PrivacyResource,
    Role,
    governance_metadata,
    governance_tags,
    policy_markdown,
    project,
    visible_columns,
)
from caseworks_assets.payments.clean import BATCH_ROWS
from caseworks_assets.payments.columns import PAYMENT_COLUMNS, TRANSACTION_COLUMNS
from caseworks_assets.payments.paths import CASE, CLEAN_PAYMENTS, CLEAN_TRANSACTIONS
from caseworks_assets.payments.tables import PAYMENTS_KEY, TRANSACTIONS_KEY
from caseworks_assets.resources import CaseOutputs, LakeResource
from caseworks_assets.resources.lake_tables import iter_parquet
from caseworks_assets.resources.parquet_sink import ParquetSink
from caseworks_assets.resources.staging import staged_path

EXTRACTS: dict[str, tuple[tuple[str, ...], list[ColumnSpec]]] = {
    "transactions": (CLEAN_TRANSACTIONS, TRANSACTION_COLUMNS),
    "payments": (CLEAN_PAYMENTS, PAYMENT_COLUMNS),
}


def role_dir(outputs: CaseOutputs, role: Role) -> Path:
    return outputs.dir_for(CASE) / "roles" / role.value


def write_extract(source, columns: Sequence[ColumnSpec], role: Role, pseudonymize, target: Path) -> int:
    """Project every batch of the clean Parquet ``source`` for ``role`` into ``target``; returns rows."""
    rows = 0
    writer = None
    with staged_path(target) as staging:
        try:
            parquet = pq.ParquetFile(source)
            for batch in iter_parquet(source, BATCH_ROWS):
                frame = pl.from_arrow(batch)
                assert isinstance(frame, pl.DataFrame)
                table = project(frame, columns, role, pseudonymize).to_arrow(compat_level=pl.CompatLevel.oldest())
                writer = writer or ParquetSink(staging, table.schema)
                writer.write_table(table)
                rows += table.num_rows
            if writer is None:  # no rows: still publish the (empty) extract with its schema
                empty = project(pl.from_arrow(parquet.schema_arrow.empty_table()), columns, role, pseudonymize)
                empty.write_parquet(staging)
        finally:
            if writer is not None:
                writer.close()
    return rows


def role_extract(role: Role) -> dg.AssetsDefinition:
    specs = {name: visible_columns(role, columns) for name, (_, columns) in EXTRACTS.items()}
    all_specs = [c for cols in specs.values() for c in cols]

    @dg.asset(
        name=f"{role.value}_extract",
        key_prefix=[CASE],
        group_name=CASE,
        deps=[TRANSACTIONS_KEY, PAYMENTS_KEY],
        kinds={"parquet"},
        description=(
            f"What the {role.value} role may read, as Parquet under <out-dir>/payments/roles/{role.value}/.\n\n"
            + policy_markdown()
        ),
        metadata={**governance_metadata(all_specs), "role": role.value},
        tags={**governance_tags(all_specs), "role": role.value},
    )
    def _extract(lake: LakeResource, outputs: CaseOutputs, privacy: PrivacyResource) -> dg.MaterializeResult:
        pseudonymize = privacy.pseudonymizer()
        folder = role_dir(outputs, role)
        written = {}
        for name, (parts, columns) in EXTRACTS.items():
            with lake.path(*parts).open("rb") as source:
                written[name] = write_extract(source, columns, role, pseudonymize, folder / f"{name}.parquet")
        return dg.MaterializeResult(
            metadata={
                "folder": str(folder),
                "rows": dg.MetadataValue.json(written),
                "columns": dg.MetadataValue.json({name: [c.name for c in cols] for name, cols in specs.items()}),
            }
        )

    return _extract


ROLE_EXTRACTS = [role_extract(Role.ANALYST), role_extract(Role.FINANCE)]
