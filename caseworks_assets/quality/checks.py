"""Asset-check factories and metadata helpers shared by every case.

* :func:`pandera_check` -- a Pandera (polars) schema becomes an ``@asset_check``
  (blocking by default: bad output must not flow downstream) that loads the
  asset through its own IO manager, validates every rule lazily (all failures
  collected, not just the first) and reports counts plus a sample of failure
  cases in the check's metadata.
* :func:`reconciliation_check` -- "read = loaded + quarantined" from the
  counters the asset wrote into its latest materialization (see
  :func:`quality_metadata`), so a run that silently lost rows fails loudly.
* :func:`quality_metadata` -- a :class:`~caseworks_assets.quality.rules.QualityResult`
  as Dagster metadata for ``MaterializeResult``/``Output``.
* :func:`pandera_column_schema` -- a Pandera schema as ``dagster/column_schema``
  (types, descriptions, constraints, column ``metadata`` such as a
  classification as tags), so assets declare their columns once.

Partitioned assets: the check factories accept ``partitions_def`` (taken from the
asset definition when one is passed), so each partition's check result is
recorded against that partition and the check loads only that partition.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import pandera.polars as pa
import polars as pl

from caseworks_assets.quality.rules import QualityResult

AssetRef = dg.AssetsDefinition | dg.AssetSpec | dg.AssetKey | str | Sequence[str]
PanderaSchema = pa.DataFrameSchema | type[pa.DataFrameModel]

QUARANTINE_TABLE_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("row_number", "int64", "Row (or source line) number of the rejected record in its input."),
        dg.TableColumn("rule", "string", "Name of the quality rule that rejected the record."),
        dg.TableColumn("column", "string", "Column the rule reads (keys for duplicates)."),
        dg.TableColumn("reason", "string", "Human-readable reason for the rejection."),
        dg.TableColumn("raw_record", "string", "The record exactly as read, as a JSON object."),
        dg.TableColumn(
            "severity",
            "string",
            "error: the row was rejected; warning: the row was loaded with this column's (optional) value nulled.",
        ),
    ]
)


# --------------------------------------------------------------------------- helpers


def _asset_key(asset: AssetRef) -> dg.AssetKey:
    if isinstance(asset, dg.AssetsDefinition):
        return asset.key
    if isinstance(asset, dg.AssetSpec):
        return asset.key
    return dg.AssetKey.from_coercible(asset)


def _partitions_def(asset: AssetRef, given: dg.PartitionsDefinition | None) -> dg.PartitionsDefinition | None:
    if given is not None:
        return given
    if isinstance(asset, dg.AssetsDefinition | dg.AssetSpec):
        return asset.partitions_def
    return None


def _as_schema(schema: PanderaSchema) -> pa.DataFrameSchema:
    if isinstance(schema, type) and issubclass(schema, pa.DataFrameModel):
        return schema.to_schema()
    return schema


def _md_cell(value: object) -> str:
    text = "null" if value is None else str(value)
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")
    return text if len(text) <= 120 else text[:117] + "..."


def markdown_table(frame: pl.DataFrame, limit: int = 20) -> str:
    """The first ``limit`` rows of ``frame`` as a Markdown table (cells escaped and truncated)."""
    if not frame.width:
        return "_no columns_"
    head = frame.head(limit)
    lines = [
        "| " + " | ".join(_md_cell(c) for c in head.columns) + " |",
        "| " + " | ".join("---" for _ in head.columns) + " |",
    ]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in head.iter_rows()]
    if frame.height > limit:
        lines.append(f"\n_{frame.height - limit} more rows not shown_")
    return "\n".join(lines)


# --------------------------------------------------------------------------- pandera


def pandera_column_schema(schema: PanderaSchema) -> dg.TableSchema:
    """``dagster/column_schema`` for the columns of a Pandera schema.

    Types come from the Pandera dtypes, descriptions from ``description`` (or
    ``title``), constraints from ``nullable``/``unique`` and the checks, and each
    column's string-valued ``metadata`` (e.g. ``{"classification": "restricted"}``)
    becomes tags.
    """
    columns = []
    for name, column in _as_schema(schema).columns.items():
        tags = {str(k): str(v) for k, v in (column.metadata or {}).items() if isinstance(v, str | int | float | bool)}
        columns.append(
            dg.TableColumn(
                name=str(name),
                type=str(column.dtype) if column.dtype is not None else "any",
                description=column.description or column.title,
                constraints=dg.TableColumnConstraints(
                    nullable=bool(column.nullable),
                    unique=bool(column.unique),
                    other=[str(check) for check in column.checks],
                ),
                tags=tags or None,
            )
        )
    return dg.TableSchema(columns=columns)


def _as_frame(value: object) -> pl.DataFrame:
    """What an IO manager handed over as one DataFrame (a partition range may arrive as ``{key: frame}``)."""
    if isinstance(value, pl.LazyFrame):
        return value.collect()
    if isinstance(value, Mapping):
        frames = [_as_frame(part) for part in value.values()]
        return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
    if isinstance(value, pl.DataFrame):
        return value
    raise TypeError(f"expected a polars DataFrame/LazyFrame (or a mapping of them), got {type(value).__name__}")


def may_repeat(values: pl.Series) -> bool:
    """False when every value is distinct, True when some value may repeat (the caller then looks exactly).

    Counting distinct 64-bit hashes is five times cheaper than counting
    distinct strings on millions of ids, and exact in the direction that
    matters: equal values have equal hashes, so a repeat is never missed; a
    hash collision only sends the caller to its exact (slower) path.
    """
    return values.hash().n_unique() < values.len()


def _unique_checks_left(schema: pa.DataFrameSchema, data: pl.DataFrame) -> pa.DataFrameSchema:
    """``schema`` without the ``unique`` flag of columns whose values are proven distinct by :func:`may_repeat`.

    Pandera marks duplicates row by row (``is_duplicated``), a few times
    slower than counting distinct hashes on millions of keys; a column that
    may repeat keeps the flag, so Pandera still finds and reports its duplicates.
    """
    proven = {
        name: {"unique": False}
        for name, column in schema.columns.items()
        if column.unique and name in data.columns and not may_repeat(data[name])
    }
    return schema.update_columns(proven) if proven else schema


#: Rows a lazy frame is validated at a time (see :func:`validate_frame`): a bounded slice of a table of
#: tens of millions of rows is in memory, never the table.
VALIDATION_BATCH_ROWS = 1_000_000


def _failure_cases(schema: pa.DataFrameSchema, data: pl.DataFrame, offset: int = 0) -> pl.DataFrame | None:
    """Pandera's failure cases of ``data`` (every rule), ``index`` shifted by ``offset``; None when it is valid."""
    try:
        _unique_checks_left(schema, data).validate(data, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        if not isinstance(cases, pl.DataFrame):
            cases = pl.from_pandas(cases) if hasattr(cases, "to_numpy") else pl.DataFrame(cases)
        cases = cases.with_columns(pl.col(c).cast(pl.String) for c in ("failure_case", "column", "check"))
        if offset and "index" in cases.columns:
            cases = cases.with_columns(pl.col("index") + offset)
        return cases
    return None


def _lazy_failure_cases(
    frame: pl.LazyFrame, schema: pa.DataFrameSchema, batch_rows: int
) -> tuple[int, pl.DataFrame | None]:
    """Rows and failure cases of ``frame``, validated ``batch_rows`` at a time.

    Every rule but uniqueness holds row by row, so each batch is validated on
    its own; a unique column is validated once over the whole column, the one
    column read alone (a column of ids, not the table).
    """
    unique = [name for name, column in schema.columns.items() if column.unique]
    per_row = schema.update_columns({name: {"unique": False} for name in unique}) if unique else schema
    parts: list[pl.DataFrame] = []
    rows, batches = 0, 0
    for batch in frame.collect_batches(chunk_size=batch_rows):
        found = _failure_cases(per_row, batch, offset=rows)
        rows, batches = rows + batch.height, batches + 1
        if found is not None:
            parts.append(found)
    if not batches:  # no rows: the columns and their types are still checked
        found = _failure_cases(per_row, frame.clear().collect())
        parts += [found] if found is not None else []
    present = frame.collect_schema()
    for name in (name for name in unique if name in present):  # a missing column is reported by the batches
        only_unique = pa.DataFrameSchema({name: pa.Column(unique=True, nullable=True)}, name=schema.name)
        found = _failure_cases(only_unique, frame.select(name).collect())
        if found is not None:
            parts.append(found)
    return rows, pl.concat(parts, how="diagonal_relaxed") if parts else None


def validate_frame(
    frame: pl.DataFrame | pl.LazyFrame | Mapping[str, pl.DataFrame],
    schema: PanderaSchema,
    *,
    sample: int = 20,
    batch_rows: int = VALIDATION_BATCH_ROWS,
) -> dg.AssetCheckResult:
    """Validate ``frame`` against ``schema`` collecting every failure; the result a check returns.

    Metadata: ``rows``, ``failures`` (failure cases), ``failing_rows`` (distinct
    rows with at least one failure), ``failures_by_check`` (JSON, per
    ``column / check``) and ``failure_sample`` (Markdown table of up to ``sample``
    failure cases with the failing value and row index). A mapping of partition
    frames (a partition-range load) is validated as their concatenation. A lazy
    frame (e.g. a scan of a lake file) is validated ``batch_rows`` at a time,
    with the same failures as validating it whole, and never held whole.
    """
    schema = _as_schema(schema)
    if isinstance(frame, pl.LazyFrame) and not schema.unique:
        rows, cases = _lazy_failure_cases(frame, schema, batch_rows)
    else:
        data = _as_frame(frame)
        rows, cases = data.height, _failure_cases(schema, data)
    metadata: dict[str, Any] = {"rows": rows, "schema": schema.name or "unnamed"}
    if cases is not None:
        by_check = (
            cases.group_by("column", "check", maintain_order=True)
            .len()
            .sort("len", "column", "check", descending=[True, False, False])
        )
        failing_rows = cases["index"].drop_nulls().n_unique() if "index" in cases.columns else 0
        metadata |= {
            "failures": cases.height,
            "failing_rows": failing_rows,
            "failures_by_check": dg.MetadataValue.json(
                {f"{row['column']} / {row['check']}": row["len"] for row in by_check.iter_rows(named=True)}
            ),
            "failure_sample": dg.MetadataValue.md(
                markdown_table(
                    cases.select(
                        [
                            c
                            for c in ("column", "check", "failure_case", "index", "schema_context")
                            if c in cases.columns
                        ]
                    ),
                    sample,
                )
            ),
        }
        worst = by_check.row(0, named=True)
        description = (
            f"{cases.height} failure case(s) in {failing_rows} row(s) of {rows}; "
            f"most frequent: {worst['column']} / {worst['check']} ({worst['len']})"
        )
        return dg.AssetCheckResult(passed=False, metadata=metadata, description=description)
    metadata |= {"failures": 0, "failing_rows": 0}
    return dg.AssetCheckResult(passed=True, metadata=metadata, description=f"{rows} rows match the schema")


def pandera_check(
    asset: AssetRef,
    schema: PanderaSchema,
    *,
    name: str | None = None,
    blocking: bool = True,
    sample: int = 20,
    description: str | None = None,
    partitions_def: dg.PartitionsDefinition | None = None,
) -> dg.AssetChecksDefinition:
    """An ``@asset_check`` validating the asset's stored value (loaded by its IO manager) with ``schema``.

    Args:
        asset: the asset definition, spec or key the check targets.
        schema: a ``pandera.polars`` ``DataFrameSchema`` or ``DataFrameModel`` class.
        name: check name (default ``<asset name>_schema``).
        blocking: when True (default) a failure stops downstream assets of the same run.
        sample: how many failure cases to show in the ``failure_sample`` metadata.
        description: check description (default names the schema).
        partitions_def: partitions of the check; defaults to the asset definition's.
    """
    key = _asset_key(asset)
    resolved = _as_schema(schema)
    check_name = name or f"{key.path[-1]}_schema"

    @dg.asset_check(
        asset=key,
        name=check_name,
        blocking=blocking,
        description=description or f"Pandera schema {resolved.name or check_name!r}: types, nulls and value rules.",
        partitions_def=_partitions_def(asset, partitions_def),
    )
    def _schema_check(value) -> dg.AssetCheckResult:  # unannotated: the IO manager's default polars load type
        return validate_frame(value, resolved, sample=sample)

    return _schema_check


# --------------------------------------------------------------------------- reconciliation


def _latest_materialization(
    context: dg.AssetCheckExecutionContext, key: dg.AssetKey, partitioned: bool
) -> dg.AssetMaterialization | None:
    if partitioned and context.has_partition_key:
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[context.partition_key]), limit=1
        ).records
        entry = records[0].event_log_entry if records else None
    else:
        entry = context.instance.get_latest_materialization_event(key)
    return entry.asset_materialization if entry is not None else None


def _number(metadata: Mapping[str, dg.MetadataValue], key: str) -> float | None:
    entry = metadata.get(key)
    value = getattr(entry, "value", None)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def reconciliation_check(
    asset: AssetRef,
    *,
    read_key: str = "rows_read",
    loaded_key: str = "rows_loaded",
    quarantined_key: str = "rows_quarantined",
    name: str = "reconciliation",
    blocking: bool = True,
    partitions_def: dg.PartitionsDefinition | None = None,
) -> dg.AssetChecksDefinition:
    """An ``@asset_check`` that fails unless ``read == loaded + quarantined`` in the latest materialization.

    The counters are read from the materialization's metadata under the given
    keys (the names :func:`quality_metadata` writes); missing or non-numeric
    counters fail the check with a description saying which. For partitioned
    assets the latest materialization of the check's partition is used.
    """
    key = _asset_key(asset)
    parts = _partitions_def(asset, partitions_def)

    @dg.asset_check(
        asset=key,
        name=name,
        blocking=blocking,
        description=f"Nothing lost: {read_key} = {loaded_key} + {quarantined_key} in the latest materialization.",
        partitions_def=parts,
    )
    def _reconciliation(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        materialization = _latest_materialization(context, key, parts is not None)
        if materialization is None:
            return dg.AssetCheckResult(
                passed=False, description=f"{key.to_user_string()} has no materialization to reconcile"
            )
        counters = {k: _number(materialization.metadata, k) for k in (read_key, loaded_key, quarantined_key)}
        missing = [k for k, v in counters.items() if v is None]
        if missing:
            return dg.AssetCheckResult(
                passed=False,
                description=(
                    f"materialization of {key.to_user_string()} lacks numeric metadata {', '.join(missing)}; "
                    "return quality_metadata(result) in its metadata"
                ),
                metadata={"missing_keys": ", ".join(missing)},
            )
        read, loaded, quarantined = (counters[k] for k in (read_key, loaded_key, quarantined_key))
        return reconciliation_result(
            read, loaded, quarantined, read_key=read_key, loaded_key=loaded_key, quarantined_key=quarantined_key
        )

    return _reconciliation


def reconciliation_result(
    read: float,
    loaded: float,
    quarantined: float,
    *,
    read_key: str = "rows_read",
    loaded_key: str = "rows_loaded",
    quarantined_key: str = "rows_quarantined",
    **result_args: Any,
) -> dg.AssetCheckResult:
    """ "Nothing lost" as a check result: passes when ``read == loaded + quarantined``.

    What :func:`reconciliation_check` returns; an asset that declares the check
    in its own ``check_specs`` can return it from the same step with the counts
    it just computed (``result_args`` such as ``asset_key``/``check_name``).
    """
    difference = read - (loaded + quarantined)
    passed = difference == 0
    verdict = "=" if passed else "!="
    return dg.AssetCheckResult(
        passed=passed,
        metadata={read_key: read, loaded_key: loaded, quarantined_key: quarantined, "difference": difference},
        description=(
            f"{read_key} {read:g} {verdict} {loaded_key} {loaded:g} + {quarantined_key} {quarantined:g}"
            + ("" if passed else f" ({abs(difference):g} row(s) {'lost' if difference > 0 else 'invented'})")
        ),
        **result_args,
    )


# --------------------------------------------------------------------------- metadata


def quality_metadata(result: QualityResult, *, sample: int = 5) -> dict[str, Any]:
    """Metadata for the asset that applied the rules.

    ``rows_read``, ``rows_loaded``, ``rows_quarantined`` (the counters
    :func:`reconciliation_check` reads), ``quarantine_rate``, one ``rule/<name>``
    count per rule (and ``rule/<name>:repaired``), the lossless repairs
    (``values_repaired``, ``repair/<rule>/<column>`` and ``repairs`` with up
    to five examples each), ``values_warned``, and when rows were rejected or
    values warned a ``quarantine_sample`` / ``warning_sample`` Markdown table.
    """
    metadata: dict[str, Any] = dict(result.metadata())
    repairs = result.repairs.metadata()
    metadata |= {k: v for k, v in repairs.items() if k != "repairs"}
    metadata["repairs"] = dg.MetadataValue.json(repairs["repairs"])
    if result.warnings.height:
        metadata["warning_sample"] = dg.MetadataValue.md(markdown_table(result.warnings, sample))
    metadata["quarantine_rate"] = float(result.quarantine.height / result.rows_read) if result.rows_read else 0.0
    if result.quarantine.height:
        metadata["quarantine_sample"] = dg.MetadataValue.md(markdown_table(result.quarantine, sample))
    return metadata
