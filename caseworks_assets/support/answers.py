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
   The "why" is chosen by the numbers (:meth:`Comparison.cause`): against the
   other centers' calls pooled, the component that accounts for at least half
   of the difference in average duration (and more of it than the other)
   explains it; when neither does, a larger share of long calls may; else the
   answer says the difference is spread. Averages print with two decimals.
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


#: A component "explains" the longer calls when it accounts for at least this share of the difference
#: in average duration against the other centers (and more of it than the other component).
EXPLAINS_SHARE = 0.5
#: A long call: longer than this quantile of every call of the quarter (all centers together).
LONG_CALL_QUANTILE = 0.75
#: The columns of the labelled calls that :func:`answer` reads: what a caller needs to hold of them.
LABELLED_COLUMNS = [
    "month",
    "is_call",
    "contact_center_name",
    "call_duration_minutes",
    "interaction_start",
    "agent_resolution_timestamp",
    "interaction_end",
]


def _components(calls: pl.DataFrame) -> pl.DataFrame:
    return calls.with_columns(
        _minutes("interaction_end", "agent_resolution_timestamp").alias("gap"),
        _minutes("agent_resolution_timestamp", "interaction_start").alias("work"),
    )


def call_measures(labelled: pl.DataFrame) -> pl.DataFrame:
    """Per contact center, over phone calls: average duration, post-resolution gap and agent work time (2 decimals)."""
    calls = _components(labelled.filter(pl.col("is_call")))
    return (
        calls.group_by("contact_center_name")
        .agg(
            pl.len().alias("calls"),
            pl.col("call_duration_minutes").count().alias("calls_with_duration"),
            pl.col("call_duration_minutes").mean().round(2).alias("avg_call_duration_min"),
            pl.col("gap").mean().round(2).alias("avg_after_resolution_min"),
            pl.col("work").mean().round(2).alias("avg_agent_work_min"),
        )
        .with_columns(
            (pl.col("avg_after_resolution_min") / pl.col("avg_call_duration_min") * 100)
            .round(0)
            .alias("after_resolution_share_pct")
        )
        .sort(["avg_call_duration_min", "contact_center_name"], descending=[True, False], nulls_last=True)
    )


@dataclass(frozen=True)
class Comparison:
    """The longest-call center against the pooled calls of every other center (unrounded figures)."""

    center: str
    duration: float
    others_duration: float
    work: float | None
    others_work: float | None
    after: float | None
    others_after: float | None
    long_threshold: float
    long_share: float
    others_long_share: float

    @property
    def difference(self) -> float:
        return self.duration - self.others_duration

    @property
    def work_difference(self) -> float | None:
        return None if self.work is None or self.others_work is None else self.work - self.others_work

    @property
    def after_difference(self) -> float | None:
        return None if self.after is None or self.others_after is None else self.after - self.others_after

    def cause(self) -> str:
        """``after_resolution``, ``agent_work``, ``long_calls`` or ``spread``: what the numbers say explains it."""
        gap, work = self.after_difference, self.work_difference
        needed = EXPLAINS_SHARE * self.difference
        if gap is not None and gap >= needed and (work is None or gap > work):
            return "after_resolution"
        if work is not None and work >= needed and (gap is None or work > gap):
            return "agent_work"
        if self.long_share > self.others_long_share:
            return "long_calls"
        return "spread"


def compare(calls: pl.DataFrame, center: str) -> Comparison | None:
    """``center``'s calls with a duration against the other centers' (None when no other center has one)."""
    measured = _components(calls.filter(pl.col("call_duration_minutes").is_not_null()))
    threshold = float(measured["call_duration_minutes"].quantile(LONG_CALL_QUANTILE, "nearest") or 0.0)
    mine = pl.col("contact_center_name") == center
    figures = (
        measured.group_by(mine.alias("mine"))
        .agg(
            pl.col("call_duration_minutes").mean().alias("duration"),
            pl.col("work").mean().alias("work"),
            pl.col("gap").mean().alias("after"),
            (pl.col("call_duration_minutes") > threshold).mean().alias("long_share"),
        )
        .sort("mine")
    )
    if figures.height < 2:
        return None
    others, top = figures.row(0, named=True), figures.row(1, named=True)
    return Comparison(
        center=center,
        duration=top["duration"],
        others_duration=others["duration"],
        work=top["work"],
        others_work=others["work"],
        after=top["after"],
        others_after=others["after"],
        long_threshold=threshold,
        long_share=top["long_share"],
        others_long_share=others["long_share"],
    )


def _two_decimals(expr: pl.Expr) -> pl.Expr:
    """A number as text with exactly two decimals (``9.8`` -> ``9.80``), null stays null."""
    cents = (expr * 100).round(0).cast(pl.Int64)
    whole, part = (cents.abs() // 100).cast(pl.String), (cents.abs() % 100).cast(pl.String).str.zfill(2)
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, whole, pl.lit("."), part])


def measures_table(measures: pl.DataFrame) -> str:
    """The per-center measures as Markdown, averages with two decimals."""
    averages = [name for name in measures.columns if name.startswith("avg_")]
    shown = measures.with_columns(_two_decimals(pl.col(name)).alias(name) for name in averages)
    return markdown_table(shown.with_columns(pl.col("after_resolution_share_pct").cast(pl.Int64)), 50)


def _min(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} min"


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f} min"


def explanation(c: Comparison) -> list[str]:
    """The "why" sentences, each chosen by the numbers of ``c``."""
    lead = (
        f"That is **{c.difference:.2f} min** more than the other centers' {c.others_duration:.2f} min "
        "(their phone calls together)."
    )
    components = (
        f"Agent work time (agent_resolution_timestamp - interaction_start): {_min(c.work)} against "
        f"{_min(c.others_work)} ({_signed(c.work_difference)}); time after resolution (interaction_end - "
        f"agent_resolution_timestamp): {_min(c.after)} against {_min(c.others_after)} ({_signed(c.after_difference)})."
    )
    cause = c.cause()
    if cause == "after_resolution":
        why = (
            f"Why: **time on the line after the agent resolved the request** explains it: "
            f"{_signed(c.after_difference)} per call against the other centers, "
            f"while its agents' work time differs by {_signed(c.work_difference)}."
        )
    elif cause == "agent_work":
        why = (
            f"Why: **longer agent work time** explains it: its agents work {_signed(c.work_difference)} per call "
            f"more than the other centers', while time after resolution differs by {_signed(c.after_difference)}."
        )
    else:
        why = (
            "Why: neither agent work time nor time after resolution explains the difference "
            f"({_signed(c.work_difference)} and {_signed(c.after_difference)} against the other centers)"
        )
        if cause == "long_calls":
            why += (
                f"; it has **more long calls**: {c.long_share:.0%} of its calls last over {c.long_threshold:.2f} min, "
                f"against {c.others_long_share:.0%} at the other centers."
            )
        else:
            why += "; nor does a larger share of long calls: the difference is spread over its calls."
    return [lead, "", components, "", why]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


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
        quarter_calls = labelled.filter(pl.col("month").is_in(months) & pl.col("is_call"))
        comparison = compare(quarter_calls, top["contact_center_name"])
        lines += [
            f"**{top['contact_center_name']}** has the longest average call: "
            f"**{top['avg_call_duration_min']:.2f} min** over {top['calls_with_duration']} calls with a duration.",
            "",
        ]
        if comparison is None:
            lines += ["It is the only contact center with phone calls in the quarter: there is nothing to compare.", ""]
        else:
            lines += [*explanation(comparison), ""]
            figures |= {
                "longest_call_cause": comparison.cause(),
                "longest_call_difference_minutes": round(comparison.difference, 2),
                "agent_work_difference_minutes": _round(comparison.work_difference),
                "after_resolution_difference_minutes": _round(comparison.after_difference),
            }
        lines += [
            "Better measure: **agent work time = agent_resolution_timestamp - interaction_start**, per contact center "
            "(phone calls, quarter):",
            "",
            measures_table(measures),
        ]
        figures |= {
            "longest_avg_call_center": top["contact_center_name"],
            "longest_avg_call_minutes": top["avg_call_duration_min"],
            "longest_after_resolution_minutes": top["avg_after_resolution_min"],
            "longest_agent_work_minutes": top["avg_agent_work_min"],
        }
    return Answers("\n".join(lines) + "\n", figures, measures)
