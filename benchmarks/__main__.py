"""``python -m benchmarks CASE|all --rows N [--without MECHANISM]``: print one JSON object per case."""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

from benchmarks.runner import run_benchmark
from caseworks_assets.settings import MECHANISMS


def main() -> None:
    warnings.filterwarnings("ignore", message=r".*(currently in (beta|preview)).*")
    from caseworks_assets.registry import registered_cases

    cases = list(registered_cases())
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("case", choices=[*cases, "all"])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--work-dir", type=Path, help="keep inputs and outputs here (default: a temp folder)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of the case and of its baseline, alternating; the fastest count"
    )
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        choices=MECHANISMS,
        help="switch this performance mechanism off (repeatable), to measure what it saves",
    )
    args = parser.parse_args()
    for case in cases if args.case == "all" else [args.case]:
        work = args.work_dir / case if args.work_dir else None
        print(json.dumps(run_benchmark(case, args.rows, work, args.repeat, tuple(args.without))), flush=True)


if __name__ == "__main__":
    main()
