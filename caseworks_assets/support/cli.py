"""How the CLI drives the support case: which months to apply, the runs over their ranges, the printed answers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from caseworks_assets.registry import InputError
from caseworks_assets.support.assets import MONTHS, OUTPUT_ASSETS, PARTITIONED_ASSETS
from caseworks_assets.support.jobs import months_target
from caseworks_assets.support.layout import CASE, discover, month_arg, month_key

if TYPE_CHECKING:
    from caseworks_assets.runner import CaseRun


def months_to_apply(data_dir: Path, selected: list[str] | None) -> list[str]:
    """Partition keys to apply, in order: the initial extract's month, then the selected deltas (all by default)."""
    layout = discover(data_dir)
    deltas = sorted(layout.deltas)
    if selected is None:
        return layout.months
    wanted = {month_key(m) for m in selected}
    unknown = sorted(wanted - set(deltas))
    if unknown:
        raise InputError(
            f"{data_dir / 'delta'}: no delta for --months {', '.join(month_arg(m) for m in unknown)} "
            f"(deltas found: {', '.join(month_arg(m) for m in deltas) or 'none'})"
        )
    return [layout.initial_month, *(m for m in deltas if m in wanted)]


def consecutive_blocks(months: list[str], order: list[str]) -> list[list[str]]:
    """``months`` (in application order) cut wherever a month of ``order`` is left out."""
    blocks: list[list[str]] = []
    for month in months:
        if blocks and order.index(month) == order.index(blocks[-1][-1]) + 1:
            blocks[-1].append(month)
        else:
            blocks.append([month])
    return blocks


def run(case_run: CaseRun) -> None:
    """Register the folder's months, apply the chosen ones in order, then publish the last one.

    Consecutive months are applied in one run over their range (all of them by
    default); a month left out by ``--months`` splits the runs. The last run
    also publishes the state after its last month (final tables, report,
    answers, exports): they run after the months, in the same run.
    """
    months = months_to_apply(case_run.data_dir, list(case_run.months) if case_run.months else None)
    layout = discover(case_run.data_dir)
    known = set(case_run.instance.get_dynamic_partitions(MONTHS.name))
    missing = [m for m in layout.months if m not in known]
    if missing:
        case_run.instance.add_dynamic_partitions(MONTHS.name, missing)
    month_keys = [key for asset in PARTITIONED_ASSETS for key in asset.keys]
    output_keys = [key for asset in OUTPUT_ASSETS for key in asset.keys]
    blocks = consecutive_blocks(months, layout.months)
    for block in blocks:
        last = block is blocks[-1]
        case_run.echo(f"[support] applying {', '.join(block)}" + (f", then publishing {block[-1]}" if last else ""))
        case_run.execute(
            "support_job",
            asset_selection=[*month_keys, *output_keys] if last else month_keys,
            run_config=_outputs_config(block[-1], case_run.fmt) if last else None,
            **months_target(block[0], block[-1]),
        )


def _outputs_config(month: str, fmt: str) -> dict:
    """Run config of the outputs: the month to publish and the export format."""
    return {
        "ops": {
            "support_final_state": {"config": {"month": month}},
            "support__support_exports": {"config": {"fmt": fmt}},
        }
    }


def summarize(case_run: CaseRun) -> str:
    """The answers' Markdown, as written by ``support_answers``."""
    path = case_run.out_dir / CASE / "support_answers.md"
    return path.read_text(encoding="utf-8") if path.exists() else "(support answers not written)"
