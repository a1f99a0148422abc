"""Raw, cleaned and quarantine tables of each source, from one pass over its JSON files.

Each record is parsed once: every batch DuckDB reads is appended as received
to the raw lake file (every field as text, with its source file and position;
restricted metadata encrypted by the writer) and goes through the cleaning
rules, whose clean and quarantined rows go to their own lake files. Each file
then becomes a warehouse table. One step per source builds its raw, clean and
quarantine assets together (the lineage inside it: raw -> clean).

``payments/clean/transactions.parquet`` and ``payments/clean/payments.parquet``
(and the warehouse tables ``payments.transactions`` / ``payments.payments``)
are the contract the delinquency assets build on: typed columns, amounts > 0,
due dates always present, statuses from the known sets, and every payment
belonging to a cleaned transaction.
"""

from collections.abc import Callable
from contextlib import nullcontext

import dagster as dg
import polars as pl

from caseworks_assets.governance import KeyRing, PrivacyResource, governance_metadata, governance_tags
from caseworks_assets.payments import clean, reader
from caseworks_assets.payments.columns import (
    PAYMENT_COLUMNS,
    PAYMENT_RESTRICTED_COLUMNS,
    QUARANTINE_COLUMNS,
    RAW_PAYMENT_COLUMNS,
    RAW_TRANSACTION_COLUMNS,
    RESTRICTED_COLUMN,
    TRANSACTION_COLUMNS,
)
from caseworks_assets.payments.paths import (
    CASE,
    CLEAN_PAYMENTS,
    CLEAN_PAYMENTS_RESTRICTED,
    CLEAN_TRANSACTIONS,
    QUARANTINE_PAYMENTS,
    QUARANTINE_TRANSACTIONS,
    RAW_PAYMENTS,
    RAW_TRANSACTIONS,
    staged,
)
from caseworks_assets.payments.rules import (
    PAYMENT_RULES,
    TRANSACTION_RULES,
    IdIndex,
    judging_duplicates,
    known_ids,
    state_joiner,
)
from caseworks_assets.quality import Rule
from caseworks_assets.resources import WAREHOUSE_KIND, WAREHOUSE_POOL, CaseInputs, LakeResource, LakeTable

RAW_TRANSACTIONS_KEY = dg.AssetKey([CASE, "raw_transactions"])
RAW_PAYMENTS_KEY = dg.AssetKey([CASE, "raw_payments"])
TRANSACTIONS_KEY = dg.AssetKey([CASE, "transactions"])
PAYMENTS_KEY = dg.AssetKey([CASE, "payments"])
PAYMENTS_RESTRICTED_KEY = dg.AssetKey([CASE, "payments_restricted"])
TRANSACTIONS_QUARANTINE_KEY = dg.AssetKey([CASE, "transactions_quarantine"])
PAYMENTS_QUARANTINE_KEY = dg.AssetKey([CASE, "payments_quarantine"])


def _out(key: dg.AssetKey, columns, description: str) -> dg.AssetOut:
    return dg.AssetOut(
        key=key,
        description=description,
        metadata=governance_metadata(columns),
        tags=governance_tags(columns),
        kinds={WAREHOUSE_KIND, "parquet"},
    )


def _table(
    lake: LakeResource,
    parts: tuple[str, ...],
    output_name: str,
    extra: dict | None = None,
    sealed: tuple[str, ...] = (),
    rows: int | None = None,
) -> dg.Output:
    """The lake file just written, published in the warehouse engine-side (no rows through Python)."""
    metadata = {"lake_path": str(lake.path(*parts)), **(extra or {})}
    table = LakeTable(str(lake.path(*parts)), rows, sealed=sealed)
    return dg.Output(table, output_name=output_name, metadata=metadata)


def _quality_metadata(stats: clean.CleanStats) -> dict[str, object]:
    meta = stats.metadata()
    meta["per_file"] = dg.MetadataValue.json(meta["per_file"])
    # an empty currency is a blank, nulled by the lossless repairs before the rules (currency_empty is a fallback)
    meta["currency_null"] = int(stats.rules.get("currency_empty", 0)) + stats.repairs.counts.get(
        ("blank_to_null", "currency"), 0
    )
    return meta


def _ingest_and_clean(
    context: dg.AssetExecutionContext,
    kind: str,
    rules: list[Rule],
    inputs: CaseInputs,
    lake: LakeResource,
    parts: dict[str, tuple[str, ...]],
    *,
    amount_column: str,
    ring: KeyRing | None = None,
    enrich: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> tuple[reader.IngestStats, clean.CleanStats]:
    """Read ``kind``'s files once into the raw, clean, quarantine (and restricted) lake files under ``parts``."""
    data_dir = inputs.dir_for(CASE)
    files = reader.input_files(data_dir, kind)
    if not files:
        raise dg.Failure(f"no {kind}*.json / .ndjson / .jsonl file in the payments input folder {data_dir.name!r}")
    columns = PAYMENT_COLUMNS if kind == "payments" else TRANSACTION_COLUMNS

    def one_pass(projection: reader.Projection) -> tuple[reader.IngestStats, clean.CleanStats]:
        read = reader.IngestStats()
        restricted = parts.get("restricted")
        with (
            staged(lake, *parts["raw"]) as raw_sink,
            reader.raw_writer(raw_sink, kind, ring) as raw_out,
            staged(lake, *parts["clean"]) as clean_sink,
            staged(lake, *parts["quarantine"]) as quarantine_sink,
            staged(lake, *restricted) if restricted else nullcontext() as restricted_sink,
        ):
            batches = reader.raw_batches(files, data_dir, kind, read, projection=projection)
            cleaned = clean.clean_batches(
                batches,
                rules,
                columns,
                clean_sink,
                quarantine_sink,
                amount_column=amount_column,
                raw_out=raw_out,
                restricted_sink=restricted_sink,
                restricted_columns=PAYMENT_RESTRICTED_COLUMNS if restricted else (),
                enrich=enrich,
                ring=ring,
            )
        return read, cleaned

    projection = reader.Projection.STRUCTS
    while True:
        try:
            read, cleaned = one_pass(projection)
            break
        except reader.NotAnObject as error:  # rare: read again the next, slower way (the last never fails)
            projection = reader.Projection(projection + 1)
            context.log.warning(f"{error}; reading the {kind} files again as {projection.name.lower()}")
        except reader.ReadAgain as error:  # rare: a file not all UTF-8, read again from its repaired copy
            context.log.warning(f"{error}; reading the {kind} files again")
    repeated, rules, enrich = judging_duplicates(lake.scan_parquet(*parts["raw"]), kind, rules, enrich)
    if repeated:  # rare: read again, quarantining the records that repeat a kept record's id
        context.log.warning(f"{kind}: {repeated} record(s) repeat an id; reading again to quarantine them")
        read, cleaned = one_pass(projection)
    context.log.info(
        f"{kind}: {read.rows} read from {len(files)} file(s), {cleaned.rows_loaded} loaded, "
        f"{cleaned.rows_quarantined} quarantined"
    )
    return read, cleaned


def _raw_metadata(read: reader.IngestStats) -> dict[str, object]:
    return {"rows_read": read.rows, "files": dg.MetadataValue.json(read.per_file)}


@dg.multi_asset(
    outs={
        "raw_transactions": _out(
            RAW_TRANSACTIONS_KEY,
            RAW_TRANSACTION_COLUMNS,
            "Every transaction record as received (JSON arrays or NDJSON, one file or many), fields as text.",
        ),
        "transactions": _out(TRANSACTIONS_KEY, TRANSACTION_COLUMNS, "Cleaned, typed transactions."),
        "transactions_quarantine": _out(
            TRANSACTIONS_QUARANTINE_KEY, QUARANTINE_COLUMNS, "Transactions rejected by a rule, with the raw record."
        ),
    },
    internal_asset_deps={
        "raw_transactions": set(),
        "transactions": {RAW_TRANSACTIONS_KEY},
        "transactions_quarantine": {RAW_TRANSACTIONS_KEY},
    },
    group_name=CASE,
    pool=WAREHOUSE_POOL,
)
def ingest_transactions(context: dg.AssetExecutionContext, inputs: CaseInputs, lake: LakeResource):
    """Keep every transaction as received; repair amounts sent as numeric strings, type dates and flags.

    Quarantined: amount missing, unreadable or <= 0; unparseable transaction or
    due date; missing due date; status missing or unknown. Empty currency is
    kept as null and counted (``currency_null``).
    """
    parts = {"raw": RAW_TRANSACTIONS, "clean": CLEAN_TRANSACTIONS, "quarantine": QUARANTINE_TRANSACTIONS}
    read, stats = _ingest_and_clean(
        context, "transactions", TRANSACTION_RULES, inputs, lake, parts, amount_column="amount"
    )
    yield _table(lake, RAW_TRANSACTIONS, "raw_transactions", _raw_metadata(read), rows=read.rows)
    yield _table(lake, CLEAN_TRANSACTIONS, "transactions", _quality_metadata(stats))
    yield _table(lake, QUARANTINE_TRANSACTIONS, "transactions_quarantine", {"rows_quarantined": stats.rows_quarantined})


def known_transactions(lake: LakeResource) -> tuple[IdIndex, IdIndex]:
    """The ids of the cleaned transactions, and of the quarantined ones no cleaned record shares, indexed.

    Every transaction received is either loaded or quarantined (the blocking
    reconciliation proves it), so the two come from the clean file's id
    column and the quarantine's raw records (a small file), and the raw file
    is not scanned again.
    """
    clean = lake.scan_parquet(*CLEAN_TRANSACTIONS).select("transaction_id").drop_nulls().collect()["transaction_id"]
    quarantined = (
        lake.scan_parquet(*QUARANTINE_TRANSACTIONS)
        .select(pl.col("raw_record").str.json_path_match("$.transaction_id").alias("transaction_id"))
        .collect()["transaction_id"]
    )
    return known_ids(clean, quarantined)


@dg.multi_asset(
    outs={
        "raw_payments": _out(
            RAW_PAYMENTS_KEY,
            RAW_PAYMENT_COLUMNS,
            "Every payment record as received; reference number, IP and user agent encrypted in the lake file "
            "(Parquet modular encryption, key id in the file), every other column in the warehouse table.",
        ),
        "payments": _out(PAYMENTS_KEY, PAYMENT_COLUMNS, "Cleaned, typed payments of cleaned transactions."),
        "payments_restricted": _out(
            PAYMENTS_RESTRICTED_KEY,
            PAYMENT_RESTRICTED_COLUMNS,
            "Restricted metadata of cleaned payments: in the lake file, encrypted with Parquet modular "
            "encryption (admin only, with the key ring); the warehouse table lists payment, position and key id.",
        ),
        "payments_quarantine": _out(
            PAYMENTS_QUARANTINE_KEY, QUARANTINE_COLUMNS, "Payments rejected by a rule, with the raw record."
        ),
    },
    internal_asset_deps={
        "raw_payments": set(),
        "payments": {RAW_PAYMENTS_KEY, TRANSACTIONS_KEY, RAW_TRANSACTIONS_KEY},
        "payments_restricted": {RAW_PAYMENTS_KEY, TRANSACTIONS_KEY, RAW_TRANSACTIONS_KEY},
        "payments_quarantine": {RAW_PAYMENTS_KEY, TRANSACTIONS_KEY, RAW_TRANSACTIONS_KEY},
    },
    deps=[TRANSACTIONS_KEY, RAW_TRANSACTIONS_KEY],  # each payment's transaction state comes from these
    group_name=CASE,
    pool=WAREHOUSE_POOL,
)
def ingest_payments(
    context: dg.AssetExecutionContext, inputs: CaseInputs, lake: LakeResource, privacy: PrivacyResource
):
    """Keep every payment as received; repair and type the rest, quarantining bad amounts, dates and statuses.

    A payment whose transaction was never received is ``transaction_unknown``;
    one whose transaction is itself in quarantine is ``transaction_quarantined``.
    """
    ring = privacy.keyring()  # seals the restricted column of the raw and the restricted files
    parts = {
        "raw": RAW_PAYMENTS,
        "clean": CLEAN_PAYMENTS,
        "quarantine": QUARANTINE_PAYMENTS,
        "restricted": CLEAN_PAYMENTS_RESTRICTED,
    }
    read, stats = _ingest_and_clean(
        context,
        "payments",
        PAYMENT_RULES,
        inputs,
        lake,
        parts,
        amount_column="amount_paid",
        ring=ring,
        enrich=state_joiner(*known_transactions(lake)),
    )
    sealed = (RESTRICTED_COLUMN,)
    yield _table(lake, RAW_PAYMENTS, "raw_payments", _raw_metadata(read), sealed, read.rows)
    yield _table(lake, CLEAN_PAYMENTS, "payments", _quality_metadata(stats))
    yield _table(lake, CLEAN_PAYMENTS_RESTRICTED, "payments_restricted", {"key_id": ring.active_id}, sealed)
    yield _table(lake, QUARANTINE_PAYMENTS, "payments_quarantine", {"rows_quarantined": stats.rows_quarantined})
