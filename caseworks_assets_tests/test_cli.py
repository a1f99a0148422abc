"""The command line: clear one-line errors and exit codes, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from caseworks_assets.cli import EXIT_USAGE, main
from caseworks_assets.registry import registered_cases
from caseworks_assets.settings import Settings


@pytest.mark.parametrize("case", sorted(registered_cases()))
def test_run_on_a_missing_input_folder_exits_2_with_one_line(
    case: str, caseworks_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "does-not-exist"
    code = main(["run", case, "--data-dir", str(missing), "--out-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert err.startswith("caseworks: error:")
    assert str(missing) in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("case", sorted(registered_cases()))
def test_sample_is_deterministic_for_a_seed(case: str, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["sample", case, "--out", str(first), "--rows", "50", "--seed", "7"]) == 0
    assert main(["sample", case, "--out", str(second), "--rows", "50", "--seed", "7"]) == 0
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files, f"{case} sample wrote no files"
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "no-such-case"],
        ["run", "support", "--months", "2025-02"],
        ["run", "support", "--format", "xlsx"],
        ["run", "support", "--as-of", "31/05/2025"],
    ],
)
def test_malformed_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == EXIT_USAGE
    assert "Traceback" not in capsys.readouterr().err


def test_select_materializes_only_the_chosen_assets(
    caseworks_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import dagster as dg
    import duckdb

    from caseworks_assets.instance import get_instance

    data = tmp_path / "payments-in"
    assert main(["sample", "payments", "--out", str(data), "--rows", "200"]) == 0
    out = tmp_path / "out"
    transactions = 'key:"payments/raw_transactions"'  # its step also builds the clean and quarantine tables
    assert main(["run", "payments", "--data-dir", str(data), "--out-dir", str(out), "--select", transactions]) == 0
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    assert tables == {"raw_transactions", "transactions", "transactions_quarantine"}
    assert get_instance().get_latest_materialization_event(dg.AssetKey(["payments", "payments"])) is None

    for selection, says in [('key:"nothing/here"', "names no asset"), (f"{transactions} or or", "--select")]:
        code = main(["run", "payments", "--data-dir", str(data), "--out-dir", str(out), "--select", selection])
        err = capsys.readouterr().err
        assert code == EXIT_USAGE and says in err and len(err.strip().splitlines()) == 1


def test_the_caseworks_process_runs_a_command_and_exits_with_its_code(tmp_path: Path) -> None:
    import subprocess
    import sys

    command = [sys.executable, "-m", "caseworks_assets.cli", "sample", "support", "--out", str(tmp_path / "d")]
    done = subprocess.run([*command, "--rows", "20"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "wrote support sample" in done.stdout
    assert (tmp_path / "d" / "initial" / "interactions.csv").exists()
    failed = subprocess.run(
        [sys.executable, "-m", "caseworks_assets.cli", "run", "support", "--data-dir", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "CASEWORKS_OUT_DIR": str(tmp_path / "out")},
    )
    assert failed.returncode == EXIT_USAGE
    assert failed.stderr.startswith("caseworks: error:") and "Traceback" not in failed.stderr


def _payments_sample(tmp_path: Path) -> Path:
    data = tmp_path / "payments-in"
    assert main(["sample", "payments", "--out", str(data), "--rows", "60"]) == 0
    return data


def _last_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("variables", "says"),
    [
        (
            {"CASEWORKS_PSEUDONYM_KEY": "p", "CASEWORKS_ENCRYPTION_KEYS": "k1:not-base64!"},
            "key 'k1' is not valid base64",
        ),
        ({"CASEWORKS_PSEUDONYM_KEY": "p"}, "CASEWORKS_PSEUDONYM_KEY is set but CASEWORKS_ENCRYPTION_KEYS is not"),
        ({"CASEWORKS_ENCRYPTION_KEYS": "k1:" + "A" * 44}, "CASEWORKS_ENCRYPTION_KEYS is set but"),
    ],
)
def test_bad_key_settings_end_in_one_line_exit_2(
    variables: dict[str, str],
    says: str,
    caseworks_env: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = _payments_sample(tmp_path)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    code = main(["run", "payments", "--data-dir", str(data), "--out-dir", str(tmp_path / "out")])
    line = _last_line(capsys)
    assert code == EXIT_USAGE
    assert line.startswith("caseworks: error: CASEWORKS_") and says in line, line


def test_out_dir_that_is_a_file_ends_in_one_line_exit_2(
    caseworks_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _payments_sample(tmp_path)
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    code = main(["run", "payments", "--data-dir", str(data), "--out-dir", str(a_file)])
    assert code == EXIT_USAGE
    assert (
        _last_line(capsys)
        == f"caseworks: error: --out-dir {a_file} is a file, not a folder: name a folder (it is created if missing)"
    )


def test_broken_ndjson_is_named_by_relative_file_and_physical_line_exit_2(
    caseworks_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    data = _payments_sample(tmp_path)
    records = json.loads((data / "payments.json").read_text())
    (data / "payments.json").unlink()
    lines = [json.dumps(r) for r in records[:10]]
    lines[6] = lines[6][:-5]  # line 7 is cut short
    (data / "payments").mkdir()
    (data / "payments" / "part-1.ndjson").write_text("\n".join(lines) + "\n")
    code = main(["run", "payments", "--data-dir", str(data), "--out-dir", str(tmp_path / "out")])
    line = _last_line(capsys)
    assert code == EXIT_USAGE
    assert line.startswith(
        "caseworks: error: payments: ingest_payments: payments/part-1.ndjson: line 7: not valid JSON"
    )
    assert str(data) not in line and "line 8" not in line


def test_a_json_object_wrapping_the_records_is_refused_naming_the_file(
    caseworks_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _payments_sample(tmp_path)
    array = (data / "transactions.json").read_text()
    (data / "transactions.json").write_text('{"transactions": ' + array + "}")
    code = main(["run", "payments", "--data-dir", str(data), "--out-dir", str(tmp_path / "out")])
    line = _last_line(capsys)
    assert code == EXIT_USAGE
    assert line.startswith("caseworks: error: transactions.json: line 1: the top level is a JSON object")
    assert "expected a JSON array of records or NDJSON" in line


def test_the_collector_is_paused_while_starting_and_back_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """Imports run without the cyclic collector; afterwards it runs again and skips what startup built."""
    import gc

    from caseworks_assets import cli
    from caseworks_assets.cli import collector_paused
    from caseworks_assets.settings import WITHOUT_ENV

    monkeypatch.delenv(WITHOUT_ENV, raising=False)
    monkeypatch.setattr(cli, "PAUSE_COLLECTOR", True)  # as in a ``caseworks`` process (``entry``)
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        with collector_paused():
            assert not gc.isenabled()
            built = [[index] for index in range(1000)]  # container objects, as imports create them
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(built)
        with pytest.raises(RuntimeError), collector_paused():
            raise RuntimeError("a failed import")
        assert gc.isenabled()  # an error while starting does not leave the collector off

        monkeypatch.setenv(WITHOUT_ENV, "gc_pause")
        with collector_paused():
            assert gc.isenabled()  # switched off for the benchmark's "without" run
        monkeypatch.delenv(WITHOUT_ENV)
        monkeypatch.setattr(cli, "PAUSE_COLLECTOR", False)
        with collector_paused():
            assert gc.isenabled()  # main() called in a test's own process: its collector is left alone
    finally:
        gc.unfreeze()
        gc.enable()
