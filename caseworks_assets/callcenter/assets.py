"""The callcenter assets: raw tables, the dbt remodel, the answers both ways and their Markdown.

::

    raw_<table> (5, + quarantine) -> dbt: staging -> call_history (daily), marketing_details,
                                                      attendance_details
    raw_<table>                    -> <question>_on_sources (5)
    dbt models + _on_sources       -> <question>_on_model (5, each checked against its _on_sources) -> answers

The raw step reads each source file as text, repairs it into the column
contract, writes the rows to the lake (``callcenter/raw_<table>.parquet``) and
publishes them in the warehouse as views over those files; rejected rows go to
``callcenter.quarantine`` with the rule and raw record (``severity = error``), and
so do the kept rows' nulled optional values and repaired values (``warning``).
"""

from collections.abc import Iterator

import dagster as dg
import polars as pl

from caseworks_assets.callcenter.answers import QUESTIONS, Question, answer_markdown, disagreements
from caseworks_assets.callcenter.checks import AGREEMENT_CHECKS, RAW_CHECKS, RAW_SCHEMAS
from caseworks_assets.callcenter.columns import CASE, TABLES, raw_specs
from caseworks_assets.callcenter.engines import model_engine, sources_engine
from caseworks_assets.callcenter.keys import (
    ANSWERS_KEY,
    MODEL_TABLES,
    QUARANTINE_KEY,
    model_answer_key,
    model_key,
    raw_key,
    source_answer_key,
)
from caseworks_assets.callcenter.raw import load_table
from caseworks_assets.callcenter.transform import DBT_ASSETS
from caseworks_assets.governance import column_schema
from caseworks_assets.quality import (
    QUARANTINE_TABLE_SCHEMA,
    markdown_table,
    quality_metadata,
    reconciliation_result,
    validate_frame,
)
from caseworks_assets.resources import WAREHOUSE_KIND, WAREHOUSE_POOL, CaseInputs, CaseOutputs, LakeResource
from caseworks_assets.settings import Settings

QUARANTINE_SCHEMA = {"table": pl.String, "row_number": pl.Int64, "severity": pl.String, "rule": pl.String,
                     "column": pl.String, "reason": pl.String, "raw_record": pl.String}  # fmt: skip


def _raw_spec(table: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        raw_key(table),
        group_name=CASE,
        kinds={"polars", "parquet", WAREHOUSE_KIND},
        metadata={"dagster/column_schema": column_schema(raw_specs(table))},
        description=f"{table} as exported, repaired into its column contract; every row kept (duplicates too), "
        f"rows with an unreadable key or answer value quarantined. Lake: callcenter/raw_{table}.parquet; "
        f"warehouse: callcenter.raw_{table} (a view over that file); dbt source callcenter_raw.raw_{table}.",
    ).with_io_manager_key("io_manager")


@dg.multi_asset(
    specs=[
        *(_raw_spec(table) for table in TABLES),
        dg.AssetSpec(
            QUARANTINE_KEY,
            group_name=CASE,
            kinds={"polars", WAREHOUSE_KIND},
            metadata={
                "dagster/column_schema": dg.TableSchema(
                    columns=[
                        dg.TableColumn("table", "string", "Source table of the rejected row."),
                        *QUARANTINE_TABLE_SCHEMA.columns,
                    ]
                )
            },
            description="Rows of the source tables that were not loaded, with the rule, row and raw record.",
        ).with_io_manager_key("io_manager"),
    ],
    check_specs=RAW_CHECKS,
    pool=WAREHOUSE_POOL,
)
def callcenter_raw(inputs: CaseInputs, lake: LakeResource) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Load the five source tables: read as text, repair, check, write to the lake and the warehouse."""
    data_dir = inputs.dir_for(CASE)
    quarantined = []
    for table in TABLES:
        result = load_table(data_dir, table)
        key = raw_key(table)
        yield reconciliation_result(
            result.rows_read, result.clean.height, result.quarantine.height, asset_key=key, check_name="reconciliation"
        )
        schema = validate_frame(result.clean, RAW_SCHEMAS[table])
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name=f"raw_{table}_schema",
            passed=schema.passed,
            metadata=schema.metadata,
            description=schema.description,
        )
        published = lake.write_table(result.clean, CASE, f"raw_{table}.parquet")
        yield dg.Output(
            published,
            output_name=key.to_python_identifier(),
            metadata={**quality_metadata(result), "lake_file": published.path},
        )
        # rejected rows (error), and the kept rows' nulled optional values and repaired values (warning)
        quarantined.append(result.issues.with_columns(pl.lit(table).alias("table")))
    quarantine = pl.concat(quarantined).select(list(QUARANTINE_SCHEMA)).cast(QUARANTINE_SCHEMA)
    yield dg.Output(
        quarantine, output_name=QUARANTINE_KEY.to_python_identifier(), metadata={"dagster/row_count": quarantine.height}
    )


def _answer_schema(question: Question) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name, dtype, meaning) for name, (dtype, meaning) in question.columns.items()]
    )


def _answer_spec(question: Question, key: dg.AssetKey, deps: list[dg.AssetKey], description: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        key,
        group_name=CASE,
        deps=deps,
        kinds={WAREHOUSE_KIND, "sql"},
        metadata={"dagster/column_schema": _answer_schema(question)},
        description=description,
    ).with_io_manager_key("io_manager")


def _answer_output(question: Question, frame: pl.DataFrame, key: dg.AssetKey) -> dg.Output:
    return dg.Output(
        frame,
        output_name=key.to_python_identifier(),
        metadata={
            "answer": dg.MetadataValue.md(answer_markdown(question, frame)),
            "dagster/row_count": frame.height,
        },
    )


@dg.multi_asset(
    specs=[
        _answer_spec(
            q,
            source_answer_key(q.name),
            [raw_key(table) for table in TABLES],
            f"{q.title}, computed on the raw source tables (the original's query).",
        )
        for q in QUESTIONS
    ],
    pool=WAREHOUSE_POOL,
)
def answers_on_sources() -> Iterator[dg.Output]:
    """The five questions on the raw tables, each an answer table with its Markdown."""
    with sources_engine(Settings.from_env()) as engine:
        for question in QUESTIONS:
            yield _answer_output(question, engine.frame(question.on_sources), source_answer_key(question.name))


@dg.multi_asset(
    specs=[
        _answer_spec(
            q,
            model_answer_key(q.name),
            [*(model_key(name) for name in MODEL_TABLES), source_answer_key(q.name)],
            f"{q.title}, computed on the dbt models call_history, marketing_details and attendance_details.",
        )
        for q in QUESTIONS
    ],
    ins={f"{q.name}_on_sources": dg.AssetIn(source_answer_key(q.name)) for q in QUESTIONS},
    check_specs=AGREEMENT_CHECKS,
    pool=WAREHOUSE_POOL,
)
def answers_on_model(**on_sources: pl.DataFrame) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """The five questions on the new model, each checked row for row against the answer on the sources."""
    with model_engine(Settings.from_env()) as engine:
        for question in QUESTIONS:
            frame = engine.frame(question.on_model)
            key = model_answer_key(question.name)
            yield _answer_output(question, frame, key)
            differ = disagreements(question, on_sources[f"{question.name}_on_sources"], frame)
            yield dg.AssetCheckResult(
                asset_key=key,
                check_name="agrees_with_sources",
                passed=differ.is_empty(),
                metadata={
                    "rows": frame.height,
                    "rows_that_differ": differ.height,
                    **({"differences": dg.MetadataValue.md(markdown_table(differ, 20))} if differ.height else {}),
                },
                description=f"{differ.height} row(s) differ" if differ.height else f"{frame.height} rows agree",
            )


@dg.asset(
    key=ANSWERS_KEY,
    group_name=CASE,
    kinds={"markdown"},
    ins={f"{q.name}_on_model": dg.AssetIn(model_answer_key(q.name)) for q in QUESTIONS},
    description="The five answers as one Markdown document (callcenter/answers.md), written once they agree.",
)
def answers(context: dg.AssetExecutionContext, outputs: CaseOutputs, **on_model: pl.DataFrame) -> dg.MaterializeResult:
    text = "\n\n".join(answer_markdown(q, on_model[f"{q.name}_on_model"], limit=12) for q in QUESTIONS)
    path = outputs.dir_for(CASE) / "answers.md"
    path.write_text(text + "\n", encoding="utf-8")
    return dg.MaterializeResult(metadata={"answers": dg.MetadataValue.md(text), "path": str(path)})


ALL_ASSETS = [callcenter_raw, *DBT_ASSETS, answers_on_sources, answers_on_model, answers]
