"""The three business questions, answered with figures computed from the final state.

1. Interactions per contact center over the quarter (the calendar quarter of
   the latest report month).
2. The month of that quarter with the highest volume.
3. The contact center with the longest average call duration, why, and a
   better measure of agent work: for phone calls, ``interaction_end -
   agent_resolution_timestamp`` is time the customer stays on the line after
   the agent resolved the request (transfers to surveys, holds, slow
   hang-ups); ``agent_resolution_timestamp - interaction_start`` is the time
   the agent actually worked the call. Both are averaged per contact center.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from caseworks_assets.quality import markdown_table


@dataclass
class Answers:
    markdown: str
    figures: dict[str, object] = field(default_factory=dict)
    call_measures: pl.DataFrame | None = None


def _quarter_months(latest: str) -> list[str]:
    year, month = int(latest[:4]), int(latest[5:])
    first = (month - 1) // 3 * 3 + 1
    return [f"{year:04d}-{m:02d}" for m in range(first, first + 3)]


def _minutes(later: str, earlier: str) -> pl.Expr:
    return (pl.col(later) - pl.col(earlier)).dt.total_seconds() / 60.0


def call_measures(labelled: pl.DataFrame) -> pl.DataFrame:
    """Per contact center, over phone calls: average duration, post-resolution gap and agent work time."""
    calls = labelled.filter(pl.col("is_call"))
    return (
        calls.with_columns(
            _minutes("interaction_end", "agent_resolution_timestamp").alias("gap"),
            _minutes("agent_resolution_timestamp", "interaction_start").alias("work"),
        )
        .group_by("contact_center_name")
        .agg(
            pl.len().alias("calls"),
            pl.col("call_duration_minutes").count().alias("calls_with_duration"),
            pl.col("call_duration_minutes").mean().round(1).alias("avg_call_duration_min"),
            pl.col("gap").mean().round(1).alias("avg_after_resolution_min"),
            pl.col("work").mean().round(1).alias("avg_agent_work_min"),
        )
        .with_columns(
            (pl.col("avg_after_resolution_min") / pl.col("avg_call_duration_min") * 100)
            .round(0)
            .alias("after_resolution_share_pct")
        )
        .sort(["avg_call_duration_min", "contact_center_name"], descending=[True, False], nulls_last=True)
    )


def answer(report: pl.DataFrame, labelled: pl.DataFrame) -> Answers:
    """The answers as Markdown, plus the figures behind them (for metadata and tests).

    ``labelled`` are labelled interactions (:func:`~caseworks_assets.support.report.labelled_interactions`);
    only their phone calls are measured, so the calls alone will do.
    """
    if report.is_empty():
        return Answers("_No interactions in the final state: nothing to report._")
    months = _quarter_months(str(report["month"].max()))
    quarter = f"{months[0][:4]}-Q{(int(months[0][5:]) - 1) // 3 + 1}"
    in_quarter = report.filter(pl.col("month").is_in(months))
    per_center = (
        in_quarter.group_by("contact_center_name", "month")
        .agg(pl.col("total_interactions").sum())
        .pivot("month", index="contact_center_name", values="total_interactions", sort_columns=True)
        .fill_null(0)
    )
    month_columns = [c for c in per_center.columns if c != "contact_center_name"]
    per_center = per_center.with_columns(pl.sum_horizontal(month_columns).alias("quarter_total")).sort(
        ["quarter_total", "contact_center_name"], descending=[True, False]
    )
    volumes = (
        in_quarter.group_by("month")
        .agg(pl.col("total_interactions").sum())
        .sort(["total_interactions", "month"], descending=[True, False])
    )
    top_month, top_volume = volumes.row(0)

    measures = call_measures(labelled.filter(pl.col("month").is_in(months)))
    lines = [
        f"## Support answers ({quarter}: {months[0]} to {months[-1]}, US Eastern time)",
        "",
        "### 1. Interactions per contact center over the quarter",
        "",
        markdown_table(per_center, 50),
        "",
        "### 2. Month with the highest volume",
        "",
        f"**{top_month}** with **{top_volume}** interactions "
        + "("
        + ", ".join(f"{m}: {v}" for m, v in volumes.sort("month").iter_rows())
        + ").",
        "",
        "### 3. Longest average call duration, why, and a better agent-work measure",
        "",
    ]
    figures: dict[str, object] = {
        "quarter": quarter,
        "quarter_total": int(in_quarter["total_interactions"].sum()),
        "top_month": top_month,
        "top_month_interactions": int(top_volume),
        "per_center": {row[0]: int(row[-1]) for row in per_center.iter_rows()},
    }
    ranked = measures.filter(pl.col("avg_call_duration_min").is_not_null())
    if ranked.is_empty():
        lines.append("_No phone calls with a duration in the quarter._")
    else:
        top = ranked.row(0, named=True)
        others = ranked.slice(1)
        other_work = others["avg_agent_work_min"].mean() if others.height else None
        lines += [
            f"**{top['contact_center_name']}** has the longest average call: **{top['avg_call_duration_min']} min** "
            f"over {top['calls_with_duration']} calls with a duration.",
            "",
            f"Why: on average **{top['avg_after_resolution_min']} min** of each call "
            f"({top['after_resolution_share_pct']:.0f}%) pass *after* the agent resolved the request "
            "(interaction_end - agent_resolution_timestamp), while its agents work "
            f"**{top['avg_agent_work_min']} min** per call (agent_resolution_timestamp - interaction_start)"
            + (f", close to the other centers' {other_work:.1f} min." if other_work is not None else ".")
            + " The long calls come from time on the line after resolution, not from slower agents.",
            "",
            "Better measure: **agent work time = agent_resolution_timestamp - interaction_start**, per contact center "
            "(phone calls, quarter):",
            "",
            markdown_table(measures, 50),
        ]
        figures |= {
            "longest_avg_call_center": top["contact_center_name"],
            "longest_avg_call_minutes": top["avg_call_duration_min"],
            "longest_after_resolution_minutes": top["avg_after_resolution_min"],
            "longest_agent_work_minutes": top["avg_agent_work_min"],
        }
    return Answers("\n".join(lines) + "\n", figures, measures)
