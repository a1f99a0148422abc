"""The five questions of the original analysis, each as SQL on the sources and on the new model (no Dagster).

On the sources (the original's Part 1, over the raw tables as loaded):
distinct calls and average duration per day; each agent's share of their
team's calls; average ticket of sales and of calls per media. On the new model
(the original's Part 5): daily inbound calls by final status and media;
monthly non-inbound calls by media. Every question is answered both ways, and
:func:`disagreements` says where the two differ: the remodel is right only if
nothing does.

The SQL is DuckDB's; ``{schema}`` is the schema (dataset) holding the tables.
On BigQuery it is transpiled by sqlglot (:func:`for_dialect`). The definitions
the answers share with the model (which row of a call wins, the media of a line
and the call a sale belongs to) are written again here on the raw tables, on
purpose: that the two agree is what the answers check.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import sqlglot

from caseworks_assets.quality import markdown_table

# ---------------------------------------------------------------- the sources' shared definitions

_SOURCE_CTES = """
calls as (
    select * from (
        select
            *,
            row_number() over (
                partition by id
                order by case when queue_log_verb_types_id is null then 1 else 0 end, source_line desc
            ) as row_rank
        from {schema}.raw_call_history_queue
    ) as ranked
    where row_rank = 1
),
types as (
    select id, trim(description) as description from (
        select *, row_number() over (partition by id order by source_line) as row_rank
        from {schema}.raw_telephony_types
    ) as ranked
    where row_rank = 1
),
lines as (
    select line_id, upper(trim(midia)) as midia from (
        select *, row_number() over (partition by line_id order by source_line) as row_rank
        from {schema}.raw_lines_mkt_final
    ) as ranked
    where row_rank = 1
),
call_media as (
    select calls.*, coalesce(lines.midia, 'UNKNOWN') as midia
    from calls left join lines on calls.lines_id = lines.line_id
),
named_calls as (
    select
        call_media.*,
        cast(call_media.created_at as date) as call_date,
        coalesce(lower(modality.description) = 'entrada', false) as is_inbound,
        coalesce(status.description, 'Sem status') as final_status
    from call_media
    left join types as modality on call_media.queue_log_modality_types_id = modality.id
    left join types as status on call_media.queue_log_verb_types_id = status.id
)
"""

_SOURCE_SALES = """,
attendances as (
    select * from (
        select *, row_number() over (partition by id order by source_line desc) as row_rank
        from {schema}.raw_attendances
    ) as ranked
    where row_rank = 1
),
links as (
    select * from (
        select *, row_number() over (partition by id order by source_line desc) as row_rank
        from {schema}.raw_attendances_calls
    ) as ranked
    where row_rank = 1 and coalesce(main_connection, false)
),
main_links as (
    select attendance_id, token from (
        select *, row_number() over (partition by attendance_id order by id) as link_rank from links
    ) as ranked
    where link_rank = 1
),
call_of_token as (
    select token, id from (
        select token, id, row_number() over (partition by token order by id) as call_rank
        from calls where token is not null
    ) as ranked
    where call_rank = 1
),
sales as (
    select attendances.id, attendances.monthly_value, call_of_token.id as call_id
    from attendances
    join main_links on attendances.id = main_links.attendance_id
    join call_of_token on main_links.token = call_of_token.token
    where attendances.type_id = 1
)
"""


@dataclass(frozen=True)
class Question:
    """One question: its title, the columns that identify a row, and its SQL both ways."""

    name: str
    title: str
    keys: tuple[str, ...]
    on_sources: str
    on_model: str

    @property
    def columns(self) -> dict[str, tuple[str, str]]:
        """The answer's columns: name -> (type, meaning)."""
        return {name: COLUMNS[name] for name in ANSWER_COLUMNS[self.name]}


COLUMNS = {
    "call_date": ("date", "day of the calls"),
    "month": ("date", "first day of the month"),
    "team_id": ("int64", "team"),
    "user_id": ("int64", "agent (null: calls without an agent)"),
    "midia": ("string", "marketing media of the call's line (UNKNOWN: no marketing row)"),
    "final_status": ("string", "final status ('Sem status' while it has not arrived)"),
    "calls": ("int64", "distinct calls"),
    "avg_duration_s": ("float64", "average talk time in seconds"),
    "team_calls": ("int64", "calls of the agent's team"),
    "share": ("float64", "calls / team_calls"),
    "sales": ("int64", "sales (type_id 1) whose main connection is one of these calls"),
    "sales_value": ("float64", "sum of the sales' monthly_value"),
    "avg_sale_ticket": ("float64", "average monthly_value of a sale"),
    "avg_call_ticket": ("float64", "sales_value / calls"),
}
ANSWER_COLUMNS = {
    "calls_per_day": ("call_date", "calls", "avg_duration_s"),
    "agent_share": ("team_id", "user_id", "calls", "team_calls", "share"),
    "ticket_per_media": ("midia", "calls", "sales", "sales_value", "avg_sale_ticket", "avg_call_ticket"),
    "inbound_daily": ("call_date", "final_status", "midia", "calls"),
    "outbound_monthly": ("month", "midia", "calls"),
}


QUESTIONS = (
    Question(
        "calls_per_day",
        "Distinct calls and average duration per day",
        ("call_date",),
        "with"
        + _SOURCE_CTES
        + """
select call_date, count(distinct id) as calls, avg(duration) as avg_duration_s
from named_calls group by call_date""",
        """
select call_date, count(distinct call_id) as calls, avg(duration) as avg_duration_s
from {schema}.call_history group by call_date""",
    ),
    Question(
        "agent_share",
        "Each agent's share of their team's calls",
        ("team_id", "user_id"),
        "with"
        + _SOURCE_CTES
        + """,
per_agent as (select team_id, user_id, count(*) as calls from named_calls where team_id is not null group by 1, 2)
select team_id, user_id, calls, sum(calls) over (partition by team_id) as team_calls,
    cast(calls as double) / sum(calls) over (partition by team_id) as share
from per_agent""",
        """
with per_agent as (
    select team_id, user_id, count(*) as calls from {schema}.call_history where team_id is not null group by 1, 2
)
select team_id, user_id, calls, sum(calls) over (partition by team_id) as team_calls,
    cast(calls as double) / sum(calls) over (partition by team_id) as share
from per_agent""",
    ),
    Question(
        "ticket_per_media",
        "Average ticket of sales and of calls per media",
        ("midia",),
        "with"
        + _SOURCE_CTES
        + _SOURCE_SALES
        + """
select
    named_calls.midia,
    count(distinct named_calls.id) as calls,
    count(sales.id) as sales,
    sum(sales.monthly_value) as sales_value,
    avg(sales.monthly_value) as avg_sale_ticket,
    coalesce(sum(sales.monthly_value), 0) / count(distinct named_calls.id) as avg_call_ticket
from named_calls left join sales on sales.call_id = named_calls.id
group by named_calls.midia""",
        """
select
    coalesce(media.midia, 'UNKNOWN') as midia,
    count(distinct calls.call_id) as calls,
    count(sales.attendance_id) as sales,
    sum(sales.monthly_value) as sales_value,
    avg(sales.monthly_value) as avg_sale_ticket,
    coalesce(sum(sales.monthly_value), 0) / count(distinct calls.call_id) as avg_call_ticket
from {schema}.call_history as calls
left join {schema}.marketing_details as media on calls.line_id = media.line_id
left join {schema}.attendance_details as sales on sales.call_id = calls.call_id and sales.is_sale
group by 1""",
    ),
    Question(
        "inbound_daily",
        "Daily inbound calls (Entrada) by final status and media",
        ("call_date", "final_status", "midia"),
        "with"
        + _SOURCE_CTES
        + """
select call_date, final_status, midia, count(*) as calls
from named_calls where is_inbound group by 1, 2, 3""",
        """
select calls.call_date, calls.final_status, coalesce(media.midia, 'UNKNOWN') as midia, count(*) as calls
from {schema}.call_history as calls
left join {schema}.marketing_details as media on calls.line_id = media.line_id
where calls.is_inbound
group by 1, 2, 3""",
    ),
    Question(
        "outbound_monthly",
        "Monthly non-inbound calls by media",
        ("month", "midia"),
        "with"
        + _SOURCE_CTES
        + """
select cast(date_trunc('month', created_at) as date) as month, midia, count(*) as calls
from named_calls where not is_inbound group by 1, 2""",
        """
select calls.call_month as month, coalesce(media.midia, 'UNKNOWN') as midia, count(*) as calls
from {schema}.call_history as calls
left join {schema}.marketing_details as media on calls.line_id = media.line_id
where not coalesce(calls.is_inbound, false)
group by 1, 2""",
    ),
)
BY_NAME = {question.name: question for question in QUESTIONS}


def for_dialect(sql: str, dialect: str) -> str:
    """``sql`` (DuckDB's) in ``dialect``: itself for DuckDB, transpiled by sqlglot otherwise."""
    return sql if dialect == "duckdb" else sqlglot.transpile(sql, read="duckdb", write=dialect)[0]


def ordered(question: Question, frame: pl.DataFrame) -> pl.DataFrame:
    """The answer's rows in key order, integer counts as Int64 and averages as Float64 (engines differ)."""
    casts = [
        pl.col(name).cast(pl.Float64) if dtype.is_float() or dtype.is_decimal() else pl.col(name).cast(pl.Int64)
        for name, dtype in frame.schema.items()
        if name not in question.keys and dtype.is_numeric()
    ]
    return frame.with_columns(casts).sort(list(question.keys), nulls_last=True)


def disagreements(
    question: Question, sources: pl.DataFrame, model: pl.DataFrame, tolerance: float = 1e-9
) -> pl.DataFrame:
    """Rows where the two answers differ: a key only one side has, or a value that differs (floats within
    ``tolerance``, relative). Empty when they agree row for row."""
    keys = list(question.keys)
    left, right = ordered(question, sources), ordered(question, model)
    values = [name for name in left.columns if name not in keys]
    joined = left.join(right, on=keys, how="full", coalesce=True, suffix="_model", nulls_equal=True)
    different = [
        (
            (pl.col(name) - pl.col(f"{name}_model")).abs()
            > tolerance * pl.max_horizontal(pl.col(name).abs(), pl.col(f"{name}_model").abs(), pl.lit(1.0))
        ).fill_null(pl.col(name).is_null() != pl.col(f"{name}_model").is_null())
        if left.schema[name].is_float()
        else pl.col(name).ne_missing(pl.col(f"{name}_model"))
        for name in values
    ]
    return joined.filter(pl.any_horizontal(different)) if different else joined.clear()


def answer_markdown(question: Question, frame: pl.DataFrame, limit: int = 40) -> str:
    """The answer as a titled Markdown table (the first ``limit`` rows in key order)."""
    shown = ordered(question, frame).with_columns(pl.selectors.float().round(2))
    return f"### {question.title}\n\n{markdown_table(shown, limit)}"
