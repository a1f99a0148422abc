"""Raw layer: every record as received, with its source file and position.

Fields are kept as text (amounts as their JSON literal), so nothing a later
rule rejects is lost on the way in. Restricted metadata is sealed before the
first byte reaches disk. The lake file is the streaming output; the warehouse
table is loaded from it.
"""

import dagster as dg

from caseworks_assets.governance import PrivacyResource, governance_metadata, governance_tags
from caseworks_assets.payments import reader
from caseworks_assets.payments.columns import RAW_PAYMENT_COLUMNS, RAW_TRANSACTION_COLUMNS, RESTRICTED_COLUMN
from caseworks_assets.payments.paths import CASE, RAW_PAYMENTS, RAW_TRANSACTIONS, staged
from caseworks_assets.resources import WAREHOUSE_KIND, WAREHOUSE_POOL, CaseInputs, LakeResource, LakeTable


def _ingest(
    context: dg.AssetExecutionContext,
    kind: str,
    parts: tuple[str, ...],
    inputs: CaseInputs,
    lake: LakeResource,
    privacy: PrivacyResource | None,
) -> dg.Output:
    data_dir = inputs.dir_for(CASE)
    files = reader.input_files(data_dir, kind)
    if not files:
        raise dg.Failure(f"no {kind}*.json / .ndjson / .jsonl file in the payments input folder {data_dir.name!r}")
    ring = privacy.keyring() if privacy is not None else None
    try:
        with staged(lake, *parts) as sink:
            stats = reader.ingest(files, data_dir, kind, sink, ring)
    except reader.NotAnObject as error:  # rare: read every record as a JSON value instead (slower, never fails)
        context.log.warning(f"{error}; reading the {kind} files record by record")
        with staged(lake, *parts) as sink:
            stats = reader.ingest(files, data_dir, kind, sink, ring, robust=True)
    context.log.info(f"read {stats.rows} {kind} records from {len(files)} file(s)")
    return dg.Output(
        # published engine-side (rows never pass through Python); the encrypted column stays in the lake
        LakeTable(str(lake.path(*parts)), stats.rows, sealed=(RESTRICTED_COLUMN,) if privacy is not None else ()),
        metadata={
            "rows_read": stats.rows,
            "files": dg.MetadataValue.json(stats.per_file),
            "lake_path": str(lake.path(*parts)),
        },
    )


@dg.asset(
    key_prefix=[CASE],
    group_name=CASE,
    pool=WAREHOUSE_POOL,
    kinds={WAREHOUSE_KIND, "parquet"},
    metadata=governance_metadata(RAW_TRANSACTION_COLUMNS),
    tags=governance_tags(RAW_TRANSACTION_COLUMNS),
)
def raw_transactions(context: dg.AssetExecutionContext, inputs: CaseInputs, lake: LakeResource) -> dg.Output:
    """Every transaction record as received (JSON arrays or NDJSON, one file or many), fields as text."""
    return _ingest(context, "transactions", RAW_TRANSACTIONS, inputs, lake, None)


@dg.asset(
    key_prefix=[CASE],
    group_name=CASE,
    pool=WAREHOUSE_POOL,
    kinds={WAREHOUSE_KIND, "parquet"},
    metadata=governance_metadata(RAW_PAYMENT_COLUMNS),
    tags=governance_tags(RAW_PAYMENT_COLUMNS),
)
def raw_payments(
    context: dg.AssetExecutionContext, inputs: CaseInputs, lake: LakeResource, privacy: PrivacyResource
) -> dg.Output:
    """Every payment record as received; reference number, IP and user agent encrypted in the lake file.

    The lake file's ``restricted_metadata`` column is encrypted by the Parquet
    writer (modular encryption, AES-GCM, key id in the file); the warehouse
    table shows every other column.
    """
    return _ingest(context, "payments", RAW_PAYMENTS, inputs, lake, privacy)
