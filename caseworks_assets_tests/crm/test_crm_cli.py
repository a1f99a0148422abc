"""The crm case through the ``caseworks`` command: run on a folder, the printed answers, the serve subcommand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from caseworks_assets.cli import build_parser, main
from caseworks_assets.settings import Settings
from caseworks_assets_tests.crm.crm_kit import CUSTOMER_1, write_fixture


def test_run_prints_counts_and_two_example_requests_with_their_answers(
    caseworks_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_fixture(tmp_path / "crm_in")
    assert main(["run", "crm", "--data-dir", str(data), "--out-dir", str(caseworks_env.out_dir)]) == 0
    printed = capsys.readouterr().out
    assert "customers: 4 loaded, interactions: 6 loaded, products: 2 loaded" in printed
    assert "interactions/customer_unknown 1" in printed
    requests = [line for line in printed.splitlines() if line.startswith("$ curl")]
    answers = [line for line in printed.splitlines() if line.startswith("200 ")]
    assert len(requests) == 2 and len(answers) == 2
    assert json.loads(answers[0].removeprefix("200 ")) == {"data": {"customer_id": 1, "interactions": CUSTOMER_1}}
    assert json.loads(answers[1].removeprefix("200 "))["total"] == 2  # the Business customers, by page
    assert (caseworks_env.out_dir / "crm" / "serving" / "CURRENT").exists()


def test_serve_takes_host_port_and_out_dir() -> None:
    args = build_parser().parse_args(["serve", "crm", "--host", "127.0.0.1", "--port", "8123", "--out-dir", "o"])
    assert (args.case, args.host, args.port, args.out_dir) == ("crm", "127.0.0.1", 8123, Path("o"))
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "support"])


def test_a_folder_without_the_export_exits_2_naming_it(caseworks_env: Settings, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["run", "crm", "--data-dir", str(tmp_path / "empty"), "--out-dir", str(caseworks_env.out_dir)]) == 2
