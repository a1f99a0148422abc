"""The ``caseworks`` command line: demo, run, sample, serve and ui.

Errors a user can fix (a missing folder, a malformed file, a bad setting) end
with one line on stderr and exit code 2; a failed run ends with the failing step
and exit code 1. Neither prints a traceback.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import date
from pathlib import Path

from caseworks_assets.cases import CASE_MODULES
from caseworks_assets.settings import (
    CASES_DATA_ENV,
    OUT_DIR_ENV,
    Settings,
    SettingsError,
    case_data_env,
    log_level,
    without,
)

EXIT_RUN_FAILED = 1
EXIT_USAGE = 2
#: Exit code of a command stopped by a signal is this plus the signal's number (130 for SIGINT, 143 for SIGTERM).
EXIT_SIGNAL = 128
FORMATS = ("csv", "json", "parquet")


def _months(value: str) -> list[str]:
    months = [m.strip() for m in value.split(",") if m.strip()]
    for month in months:
        if len(month) != 6 or not month.isdigit() or not 1 <= int(month[4:]) <= 12:
            raise argparse.ArgumentTypeError(f"not a YYYYMM month: {month!r}")
    return months


def _as_of(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {value!r}") from error


def build_parser() -> argparse.ArgumentParser:
    cases = list(CASE_MODULES)
    parser = argparse.ArgumentParser(prog="caseworks", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="generate sample inputs if missing and run every case")
    demo.add_argument("--data-dir", type=Path, help="root of the per-case input folders")
    demo.add_argument("--out-dir", type=Path, help="where the warehouse, lake and exports go")

    run = commands.add_parser("run", help="run one case end to end")
    run.add_argument("case", choices=cases)
    run.add_argument("--data-dir", type=Path, help="the case's input folder (default: the bundled sample)")
    run.add_argument("--out-dir", type=Path, help="where the warehouse, lake and exports go")
    run.add_argument("--format", choices=FORMATS, default="parquet", dest="fmt")
    run.add_argument("--months", type=_months, help="YYYYMM,... deltas to apply (support)")
    run.add_argument(
        "--select",
        help="only these assets, in Dagster's selection syntax (e.g. 'key:\"payments/raw_*\"'); "
        "their upstream assets must already be materialized",
    )
    run.add_argument("--as-of", type=_as_of, help="evaluation date YYYY-MM-DD (payments)")

    sample = commands.add_parser("sample", help="write synthetic inputs in a case's input layout")
    sample.add_argument("case", choices=cases)
    sample.add_argument("--out", type=Path, required=True)
    sample.add_argument("--rows", type=int, default=None, help="scale (default: the demo's size)")
    sample.add_argument("--seed", type=int, default=42)

    stream = commands.add_parser("stream", help="replay a case's records as NDJSON micro-batches into a landing folder")
    stream.add_argument("case", choices=["payments"])
    stream.add_argument("--data-dir", type=Path, help="the case's input folder (default: the bundled sample)")
    stream.add_argument("--landing", type=Path, required=True, help="folder the micro-batch files land in")
    stream.add_argument("--batch-rows", type=int, default=1000, help="records per micro-batch")
    stream.add_argument("--interval", type=float, default=1.0, help="seconds between batches")
    stream.add_argument("--out-dir", type=Path, help="where the warehouse, lake and exports go (with --process)")
    stream.add_argument(
        "--process", action="store_true", help="also materialize each batch in process (no daemon needed)"
    )

    rotate = commands.add_parser("rotate-keys", help="re-encrypt restricted values with the active key")
    rotate.add_argument("--out-dir", type=Path, help="the output folder whose lake and warehouse to rotate")

    serve = commands.add_parser("serve", help="serve a case's HTTP API over its published data (crm)")
    serve.add_argument("case", choices=["crm"])
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--out-dir", type=Path, help="the output folder the case published to")

    ui = commands.add_parser("ui", help="serve the Dagster UI on the same instance and warehouse")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    return parser


def _configure(out_dir: Path | None, data_dir: Path | None = None, case: str | None = None) -> Settings:
    """Apply CLI folders as environment variables, the single switch for every resource."""
    if out_dir is not None:
        os.environ[OUT_DIR_ENV] = str(out_dir.absolute())
    if data_dir is not None:
        key = case_data_env(case) if case else CASES_DATA_ENV
        os.environ[key] = str(data_dir.absolute())
    settings = Settings.from_env()
    from caseworks_assets.governance.encryption import KeyRingError
    from caseworks_assets.governance.keys import check_key_settings

    try:
        check_key_settings()
    except KeyRingError as error:
        raise SettingsError(str(error)) from error
    return settings


def _innermost(error: BaseException) -> str:
    """The first line of ``error``'s message, or of its cause's when it has none of its own."""
    while not str(error).strip() and error.__cause__ is not None:
        error = error.__cause__
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _say(line: str) -> None:
    print(f"caseworks: {line}", file=sys.stderr, flush=True)


@contextmanager
def _owning(out_dir: Path, command: str) -> Iterator[None]:
    """Hold ``out_dir`` for this process (a second run waits, saying for whom); clear what a killed run left.

    Half-written staging files of a killed run are deleted, and runs of this
    instance whose process is gone are marked failed and give back their pool
    slots, before anything runs.
    """
    from caseworks_assets.locks import out_dir_lock
    from caseworks_assets.recovery import remove_staged_files

    with out_dir_lock(out_dir, on_wait=_say, command=command):
        remove_staged_files(out_dir)
        yield


#: Whether this process is a ``caseworks`` process (set by :func:`entry`): only there is the collector paused,
#: since only there does what the imports build live until the process exits. A test calling :func:`main`
#: in its own long-lived process keeps its collector as it is.
PAUSE_COLLECTOR = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while the process imports and builds definitions, then frozen.

    Importing Dagster, pandera (which imports pandas) and a case, and building
    its definitions, allocates hundreds of thousands of objects that live as
    long as the process; the collector walked them over and over on the way,
    about 0.5 s of 2.2 s of imports on the idle 2-core machine. On leaving,
    everything allocated so far is frozen (``gc.freeze``), so the collections
    during the run do not walk it either. Switched off by ``--without gc_pause``.
    """
    if not PAUSE_COLLECTOR or without("gc_pause") or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def _instance():
    """The instance, after recovering the runs a killed ``caseworks`` left unfinished."""
    from caseworks_assets.instance import get_instance
    from caseworks_assets.recovery import recover_dead_runs
    from caseworks_assets.resources.warehouse import WAREHOUSE_POOL

    instance = get_instance()
    for gone in recover_dead_runs(instance, [WAREHOUSE_POOL]):
        _say(gone.describe())
    return instance


def _run_case(
    name: str, settings: Settings, fmt: str = "parquet", months=None, as_of=None, select=None, every_case=False
) -> str:
    """Run one case; on its own definitions, or (``every_case``) on the whole location's, built once per process."""
    from caseworks_assets.code_location import build_definitions
    from caseworks_assets.registry import load_case
    from caseworks_assets.runner import CaseRun

    with collector_paused():
        case = load_case(name)
        data_dir = settings.case_data_dir(name)
        case.validate_inputs(data_dir)
        run = CaseRun(
            case=name,
            data_dir=data_dir,
            out_dir=settings.out_dir,
            instance=_instance(),
            defs=build_definitions(settings, cases=None if every_case else [name]),
            fmt=fmt,
            months=months,
            as_of=as_of,
            selection=select,
        )
    case.run(run)
    return case.summarize(run)


def _demo(args: argparse.Namespace) -> None:
    settings = _configure(args.out_dir, args.data_dir)
    with _owning(settings.out_dir, "caseworks demo"):
        _demo_cases(settings)


def _demo_cases(settings: Settings) -> None:
    from caseworks_assets.governance.keys import DEMO_WARNING, privacy_resource
    from caseworks_assets.registry import registered_cases

    for name, case in registered_cases().items():
        data_dir = settings.case_data_dir(name)
        if not data_dir.exists():
            print(f"[{name}] writing sample inputs to {data_dir}")
            case.write_sample(data_dir, None, 42)
        print(f"[{name}] running on {data_dir}")
        summary = _run_case(name, settings, every_case=True)
        print(f"\n== {name} ==\n{summary}\n")
    print(f"warehouse: {settings.warehouse_path}\nexports: {settings.out_dir}\nUI: make ui")
    if privacy_resource().demo:
        print(f"note: {DEMO_WARNING}")


def _ui(args: argparse.Namespace) -> None:
    from caseworks_assets.instance import ensure_dagster_home

    ensure_dagster_home()
    workspace = Path(__file__).resolve().parent.parent / "workspace.yaml"
    dagster = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
    command = [dagster, "dev", "-h", args.host, "-p", str(args.port)]
    if workspace.exists():
        command += ["-w", str(workspace)]
    else:
        command += ["-m", "caseworks_assets.definitions"]
    raise SystemExit(subprocess.call(command))


def main(argv: Sequence[str] | None = None) -> int:
    # Beta/preview notices of Dagster APIs are for the code's authors, not for people running the cases.
    warnings.filterwarnings("ignore", message=r".*(currently in (beta|preview)).*")
    args = build_parser().parse_args(argv)
    with collector_paused():
        from caseworks_assets.registry import InputError, load_case
        from caseworks_assets.runner import CaseRunCanceled, CaseRunFailed

    try:
        if args.command == "demo":
            _demo(args)
        elif args.command == "run":
            settings = _configure(args.out_dir, args.data_dir, args.case)
            with _owning(settings.out_dir, f"caseworks run {args.case}"):
                print(_run_case(args.case, settings, args.fmt, args.months, args.as_of, args.select))
        elif args.command == "sample":
            load_case(args.case).write_sample(args.out, args.rows, args.seed)
            print(f"wrote {args.case} sample to {args.out}")
        elif args.command == "ui":
            _ui(args)
        elif args.command == "serve":
            from caseworks_assets.crm.serve import serve

            serve(_configure(args.out_dir), args.host, args.port)
        elif args.command == "stream":
            from caseworks_assets.payments.commands import stream

            settings = _configure(args.out_dir, args.data_dir, args.case)
            data_dir = settings.case_data_dir(args.case)
            load_case(args.case).validate_inputs(data_dir)
            with _owning(settings.out_dir, "caseworks stream") if args.process else nullcontext():
                landed = stream(
                    data_dir, args.landing, batch_rows=args.batch_rows, interval=args.interval, process=args.process
                )
            print(f"{len(landed)} micro-batch(es) in {args.landing}")
        elif args.command == "rotate-keys":
            from caseworks_assets.governance.commands import rotate_keys

            settings = _configure(args.out_dir)
            with _owning(settings.out_dir, "caseworks rotate-keys"):
                rotate_keys(settings)
    except (InputError, SettingsError) as error:
        print(f"caseworks: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except CaseRunCanceled as error:
        _say(f"run canceled: {error}; run the same command again to start over")
        return EXIT_SIGNAL + error.signum
    except CaseRunFailed as error:
        where = f"run {error.run_id} in `caseworks ui`" if error.run_id else "`caseworks ui`"
        print(f"caseworks: run failed: {error}; full log: {where}", file=sys.stderr)
        return EXIT_RUN_FAILED
    except Exception as error:  # anything unforeseen still ends in one line; the traceback on request
        if log_level() == "DEBUG":
            raise
        _say(f"{args.command} failed: {_innermost(error)} (CASEWORKS_LOG_LEVEL=DEBUG shows the traceback)")
        return EXIT_RUN_FAILED
    except KeyboardInterrupt:
        _say("interrupted before the run started; nothing was recorded")
        return EXIT_SIGNAL + signal.SIGINT
    return 0


def entry() -> int:
    """The ``caseworks`` process (console script and ``python -m``): :func:`main`, then exit."""
    global PAUSE_COLLECTOR
    PAUSE_COLLECTOR = True
    return main()


if __name__ == "__main__":
    raise SystemExit(entry())
