"""What ``--data-dir`` may name for the platform case, and the one-line errors when it names something else."""

from __future__ import annotations

from pathlib import Path

import pytest

from caseworks_assets.platform.cli import validate_inputs
from caseworks_assets.platform.sample import NOTE, plan_history, write_sample
from caseworks_assets.registry import InputError


def test_a_dagster_home_a_sample_or_the_demo_note_are_accepted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    validate_inputs(home)
    write_sample(tmp_path / "sample", 20, 1)
    validate_inputs(tmp_path / "sample")
    write_sample(tmp_path / "demo", None, 1)
    assert [p.name for p in (tmp_path / "demo").iterdir()] == [NOTE]
    validate_inputs(tmp_path / "demo")
    validate_inputs(tmp_path / "absent")  # no --data-dir: the current instance


def test_a_named_folder_that_is_missing_or_holds_something_else_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASEWORKS_PLATFORM_DATA_DIR", str(tmp_path / "absent"))
    with pytest.raises(InputError, match="input folder not found"):
        validate_inputs(tmp_path / "absent")
    other = tmp_path / "other"
    other.mkdir()
    (other / "transactions.csv").write_text("a,b\n")
    with pytest.raises(InputError, match=r"neither dagster.yaml nor history.json \(found transactions.csv\)"):
        validate_inputs(other)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "history.json").write_text('{"runs": [\n{"run_id": }\n')
    with pytest.raises(InputError, match=r"history.json line 2: not valid JSON"):
        validate_inputs(broken)


def test_the_planned_history_has_the_promised_shape() -> None:
    plan = plan_history(600, days=60, seed=3)
    assert plan == plan_history(600, days=60, seed=3)
    kinds = [run["kind"] for run in plan]
    assert 0.03 < kinds.count("step_failure") / 600 < 0.15  # about 1 in 12
    assert plan[0]["rows"] < plan[-1]["rows"]  # a growing table
    assert all(0 <= run["seconds_ago"] <= 60 * 86400 for run in plan)
    assert sum(run["slowdown"] > 1 for run in plan) == 59  # the last tenth runs slower
