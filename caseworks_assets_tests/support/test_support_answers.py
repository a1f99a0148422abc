"""Answer 3's "why" is chosen by the numbers: four hand-made quarters whose explanations differ.

Each fixture has two contact centers; ``Long`` has the longer average call.
The timestamps give each call's agent work time and time after resolution;
``call_duration_minutes`` is the source's own figure, as in the real export.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from caseworks_assets.support.answers import answer

START = datetime(2025, 1, 10, 15, 0, tzinfo=UTC)


def _calls(center: str, calls: list[tuple[float, float, float]]) -> list[dict]:
    """Phone calls of ``center`` as (duration, agent work, after resolution) in minutes."""
    rows = []
    for index, (duration, work, after) in enumerate(calls):
        start = START + timedelta(hours=index)
        resolved = start + timedelta(minutes=work)
        rows.append(
            {
                "month": "2025-01",
                "contact_center_name": center,
                "is_call": True,
                "call_duration_minutes": duration,
                "interaction_start": start,
                "agent_resolution_timestamp": resolved,
                "interaction_end": resolved + timedelta(minutes=after),
            }
        )
    return rows


def _answers(long: list[tuple[float, float, float]], short: list[tuple[float, float, float]]) -> str:
    labelled = pl.DataFrame(_calls("Long", long) + _calls("Short", short))
    report = labelled.group_by("month", "contact_center_name").agg(pl.len().cast(pl.Int64).alias("total_interactions"))
    return answer(report, labelled).markdown


AFTER = "Why: **time on the line after the agent resolved the request** explains it"
WORK = "Why: **longer agent work time** explains it"
NEITHER = "Why: neither agent work time nor time after resolution explains the difference"
LONG_CALLS = "it has **more long calls**"
SPREAD = "the difference is spread over its calls"

CASES = {
    # Long: 25-minute calls of which 20 after resolution; Short: 7 minutes, 2 after resolution
    "after_resolution": (
        [(25, 5, 20), (25, 5, 20)],
        [(7, 5, 2), (7, 5, 2)],
        [
            AFTER,
            "**25.00 min** over 2 calls",
            "That is **18.00 min** more than the other centers' 7.00 min",
            "+18.00 min",
        ],
        [WORK, NEITHER],
    ),
    # Long: agents work 20 minutes a call, after resolution as short as at Short
    "agent_work": (
        [(22, 20, 2), (22, 20, 2)],
        [(7, 5, 2), (7, 5, 2)],
        [WORK, "its agents work +15.00 min per call", "time after resolution differs by +0.00 min"],
        [AFTER, NEITHER],
    ),
    # Same components everywhere; one 40-minute call at Long: 25 % of its calls are long, 0 % at Short
    "long_calls": (
        [(7, 5, 2), (7, 5, 2), (7, 5, 2), (40, 5, 2)],
        [(7, 5, 2), (7, 5, 2), (7, 5, 2), (7, 5, 2)],
        [NEITHER, LONG_CALLS, "25% of its calls last over 7.00 min, against 0% at the other centers", "15.25 min"],
        [AFTER, WORK, SPREAD],
    ),
    # Every Long call is a little longer, none of them long, and neither component differs
    "spread": (
        [(10, 5, 2), (10, 5, 2), (10, 5, 2), (10, 5, 2)],
        [(7, 5, 2), (7, 5, 2), (7, 5, 2), (7, 5, 2)],
        [NEITHER, SPREAD, "**10.00 min**"],
        [AFTER, WORK, LONG_CALLS],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_why_sentence_follows_the_numbers(case):
    long, short, must, must_not = CASES[case]
    markdown = _answers(long, short)
    assert "**Long** has the longest average call" in markdown
    for sentence in must:
        assert sentence in markdown, (case, sentence)
    for sentence in must_not:
        assert sentence not in markdown, (case, sentence)


def test_a_single_center_is_not_compared_with_anything():
    labelled = pl.DataFrame(_calls("Long", [(10, 5, 5)]))
    report = labelled.group_by("month", "contact_center_name").agg(pl.len().cast(pl.Int64).alias("total_interactions"))
    markdown = answer(report, labelled).markdown
    assert "only contact center with phone calls" in markdown
    assert "Why:" not in markdown
