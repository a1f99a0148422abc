"""The self-contained HTML dashboard: inline SVG charts drawn from the platform tables, no script, no network.

Charts: runs per day by status, p95 duration per job, cost per asset per
month, and the storage footprint over time. Each chart is an ``<svg>`` with a
``data-chart`` attribute, so a browser test can find it; every figure in the
page is computed from the frames passed in.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

import polars as pl

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 720, 260, 80, 60, 20
PALETTE = ["#2b8a3e", "#c92a2a", "#868e96", "#1971c2", "#e67700", "#6741d9", "#0b7285", "#a61e4d", "#5c940d"]
STATUS_COLOURS = {"SUCCESS": "#2b8a3e", "FAILURE": "#c92a2a", "CANCELED": "#868e96"}


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def human(value: float, unit: str) -> str:
    """``1.5 MiB`` for bytes, ``1,234 runs`` otherwise."""
    if unit == "bytes":
        for name in ("bytes", "KiB", "MiB", "GiB", "TiB"):
            if abs(value) < 1024 or name == "TiB":
                return f"{value:,.0f} {name}" if name == "bytes" else f"{value:,.1f} {name}"
            value /= 1024
    return f"{value:,.3g} {unit}"


def _axis(maximum: float, unit: str) -> str:
    """Y axis with three gridlines labelled in ``unit``."""
    parts = []
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    for i in range(4):
        value = maximum * i / 3
        y = HEIGHT - PAD_BOTTOM - plot_h * i / 3
        parts.append(f'<line x1="{PAD_LEFT}" y1="{y:.1f}" x2="{WIDTH - 10}" y2="{y:.1f}" stroke="#dee2e6"/>')
        parts.append(f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_esc(human(value, unit))}</text>')
    return "".join(parts)


def _legend(names: Sequence[str], colours: dict[str, str]) -> str:
    items = "".join(
        f'<span class="key"><i style="background:{colours[name]}"></i>{_esc(name)}</span>' for name in names
    )
    return f'<div class="legend">{items}</div>'


def stacked_bars(
    name: str, title: str, categories: list[str], series: dict[str, list[float]], colours: dict[str, str], unit: str
) -> str:
    """Bars per category, stacked by series; an empty chart says so instead of drawing nothing."""
    if not categories:
        return f'<section><h2>{_esc(title)}</h2><p class="empty" data-chart-empty="{name}">no data yet</p></section>'
    totals = [sum(values[i] for values in series.values()) for i in range(len(categories))]
    maximum = max(totals) or 1.0
    plot_w, plot_h = WIDTH - PAD_LEFT - 10, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / len(categories)
    bar = max(step * 0.7, 1.0)
    shapes = [_axis(maximum, unit)]
    label_every = max(1, len(categories) // 12)
    for i, category in enumerate(categories):
        x = PAD_LEFT + i * step + (step - bar) / 2
        base = HEIGHT - PAD_BOTTOM
        for series_name, values in series.items():
            height = values[i] / maximum * plot_h
            if height <= 0:
                continue
            base -= height
            shapes.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                f'fill="{colours[series_name]}"><title>{_esc(category)} {_esc(series_name)}: '
                f"{values[i]:,.4g} {_esc(unit)}</title></rect>"
            )
        if i % label_every == 0:
            shapes.append(
                f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - PAD_BOTTOM + 14}" text-anchor="end" '
                f'transform="rotate(-35 {x + bar / 2:.1f} {HEIGHT - PAD_BOTTOM + 14})">{_esc(category)}</text>'
            )
    svg = (
        f'<svg data-chart="{name}" role="img" aria-label="{_esc(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}">{"".join(shapes)}</svg>'
    )
    return f"<section><h2>{_esc(title)}</h2>{svg}{_legend(list(series), colours)}</section>"


def line_chart(name: str, title: str, points: list[tuple[str, float]], unit: str) -> str:
    """A polyline with a marker per point (one point still draws a visible marker)."""
    if not points:
        return f'<section><h2>{_esc(title)}</h2><p class="empty" data-chart-empty="{name}">no data yet</p></section>'
    maximum = max(value for _, value in points) or 1.0
    plot_w, plot_h = WIDTH - PAD_LEFT - 10, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / max(len(points) - 1, 1)
    coords = [
        (PAD_LEFT + (i * step if len(points) > 1 else plot_w / 2), HEIGHT - PAD_BOTTOM - value / maximum * plot_h)
        for i, (_, value) in enumerate(points)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    marks = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#1971c2"><title>{_esc(label)}: {value:,.4g} {_esc(unit)}'
        f"</title></circle>"
        for (x, y), (label, value) in zip(coords, points, strict=True)
    )
    every = max(1, len(points) // 10)
    labels = "".join(
        f'<text x="{x:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" text-anchor="middle">{_esc(label)}</text>'
        for i, ((x, _), (label, _)) in enumerate(zip(coords, points, strict=True))
        if i % every == 0
    )
    svg = (
        f'<svg data-chart="{name}" role="img" aria-label="{_esc(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}">{_axis(maximum, unit)}'
        f'<polyline points="{path}" fill="none" stroke="#1971c2" stroke-width="2"/>{marks}{labels}</svg>'
    )
    return f"<section><h2>{_esc(title)}</h2>{svg}</section>"


def runs_per_day_chart(runs: pl.DataFrame) -> str:
    counts = runs.group_by("day", "status").agg(n=pl.len()).sort("day")
    days = [str(d) for d in counts["day"].unique().sort().to_list()]
    statuses = sorted(counts["status"].unique().to_list(), key=lambda s: (s not in STATUS_COLOURS, s))
    table = {(str(d), s): n for d, s, n in counts.iter_rows()}
    series = {s: [float(table.get((d, s), 0)) for d in days] for s in statuses}
    colours = {s: STATUS_COLOURS.get(s, PALETTE[(3 + i) % len(PALETTE)]) for i, s in enumerate(statuses)}
    return stacked_bars("runs_per_day", "Runs per day by status", days, series, colours, "runs")


def p95_chart(reliability: pl.DataFrame) -> str:
    jobs = reliability.sort("p95_s", descending=True, nulls_last=True).head(15)
    names = jobs["job_name"].to_list()
    values = [float(v or 0) for v in jobs["p95_s"].to_list()]
    return stacked_bars("p95_duration", "p95 run duration per job", names, {"p95": values}, {"p95": "#1971c2"}, "s")


def cost_chart(costs: pl.DataFrame, top: int = 8) -> str:
    totals = costs.group_by("asset_key").agg(pl.col("total_usd").sum()).sort("total_usd", descending=True)
    leaders = totals.head(top)["asset_key"].to_list()
    labelled = costs.with_columns(
        asset=pl.when(pl.col("asset_key").is_in(leaders)).then(pl.col("asset_key")).otherwise(pl.lit("other"))
    )
    per = labelled.group_by("month", "asset").agg(pl.col("total_usd").sum())
    months = sorted(per["month"].unique().to_list())
    assets = [a for a in [*leaders, "other"] if a in set(per["asset"].to_list())]
    table = {(m, a): v for m, a, v in per.iter_rows()}
    series = {a: [float(table.get((m, a), 0.0)) for m in months] for a in assets}
    colours = {a: PALETTE[i % len(PALETTE)] for i, a in enumerate(assets)}
    return stacked_bars("cost_per_asset", "Estimated cost per asset per month", months, series, colours, "USD")


def storage_series(activity: pl.DataFrame) -> list[tuple[str, float]]:
    """The footprint per day: each asset's latest bytes written (its metadata), carried forward, summed.

    The footprint measured now (table statistics, file sizes) counts other
    things (blocks, compression, lake copies): it is a key figure on its own,
    not a point of this series.
    """
    written = activity.filter((pl.col("event") == "materialization") & pl.col("bytes").is_not_null())
    points: list[tuple[str, float]] = []
    if not written.is_empty():
        latest = written.sort("timestamp").group_by("day", "asset_key").agg(pl.col("bytes").last())
        days = latest.select(pl.col("day").unique().sort())
        grid = days.join(latest.select("asset_key").unique(), how="cross")
        carried = (
            grid.join(latest, on=["day", "asset_key"], how="left")
            .sort("asset_key", "day")
            .with_columns(pl.col("bytes").forward_fill().over("asset_key"))
            .group_by("day")
            .agg(pl.col("bytes").sum())
            .sort("day")
        )
        points = [(str(day), float(size)) for day, size in carried.iter_rows()]
    return points


def _figures_table(figures: dict[str, str]) -> str:
    cells = "".join(f'<div class="figure"><b>{_esc(v)}</b><span>{_esc(k)}</span></div>' for k, v in figures.items())
    return f'<div class="figures">{cells}</div>'


def _table(frame: pl.DataFrame, name: str) -> str:
    if frame.is_empty():
        return f'<p class="empty" data-table="{name}">none</p>'
    head = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_esc(f'{v:,.2f}' if isinstance(v, float) else v)}</td>" for v in row) + "</tr>"
        for row in frame.iter_rows()
    )
    return f'<table data-table="{name}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


STYLE = """
body{font:14px system-ui,sans-serif;margin:24px;color:#212529;max-width:1100px}
h1{font-size:22px}h2{font-size:16px;margin:24px 0 6px}
svg text{font-size:10px;fill:#495057}
.figures{display:flex;flex-wrap:wrap;gap:12px}.figure{border:1px solid #dee2e6;border-radius:6px;padding:8px 12px}
.figure b{display:block;font-size:18px}.figure span{color:#868e96}
.legend{display:flex;flex-wrap:wrap;gap:10px;font-size:12px}
.key i{display:inline-block;width:10px;height:10px;margin-right:4px}
table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #dee2e6;padding:3px 6px;text-align:left}
.empty{color:#868e96}
"""


def render_dashboard(
    *,
    generated_at: datetime,
    figures: dict[str, str],
    runs: pl.DataFrame,
    reliability: pl.DataFrame,
    costs: pl.DataFrame,
    activity: pl.DataFrame,
    current_bytes: int | None,
    hints: pl.DataFrame,
    recommendations: pl.DataFrame,
) -> str:
    """The whole page as one string: CSS inline, charts as SVG, no external reference of any kind."""
    if current_bytes is not None:
        figures = {**figures, "storage now (measured)": human(float(current_bytes), "bytes")}
    charts = [
        runs_per_day_chart(runs),
        p95_chart(reliability),
        cost_chart(costs),
        line_chart(
            "storage_growth", "Bytes held over time (latest write per asset)", storage_series(activity), "bytes"
        ),
    ]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>caseworks platform dashboard</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>caseworks platform</h1><p>Generated {generated_at:%Y-%m-%d %H:%M} UTC from the Dagster instance.</p>"
        f"{_figures_table(figures)}{''.join(charts)}"
        f"<section><h2>Optimization hints</h2>{_table(hints, 'hints')}</section>"
        f"<section><h2>Scaling recommendations</h2>{_table(recommendations, 'recommendations')}</section>"
        "</body></html>"
    )
