"""Choosing the isolation: strict refuses without bwrap, soft warns, rows and runs record it,
and ``harness doctor`` says what this machine offers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.sandbox import isolation
from harness.sandbox.isolation import (
    INSTALL_HINT,
    Isolation,
    IsolationError,
    probe_bwrap,
    resolve_isolation,
    weakest,
)
from harness.scoring.score import Scorer
from harness.training import runs
from harness.training.train import train_team
from tests.conftest import requires_bwrap

FAILING_BWRAP = """#!/bin/sh
if [ "$1" = "--version" ]; then echo "bubblewrap 0.0-fake"; exit 0; fi
echo "bwrap: setting up uid map: Permission denied" >&2
exit 1
"""


def run_cli(args: list[str], capture: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capture.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees the once-per-process warning as a new process would."""
    monkeypatch.setattr(isolation, "_warned", set())


@pytest.fixture
def no_bwrap(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without bubblewrap (an empty HARNESS_BWRAP hides it)."""
    monkeypatch.setenv("HARNESS_BWRAP", "")
    monkeypatch.delenv("HARNESS_ISOLATION", raising=False)


@pytest.fixture
def broken_bwrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bwrap that is installed but may not create namespaces (user namespaces disabled)."""
    fake = tmp_path / "bwrap"
    fake.write_text(FAILING_BWRAP)
    fake.chmod(0o755)
    monkeypatch.setenv("HARNESS_BWRAP", str(fake))
    monkeypatch.delenv("HARNESS_ISOLATION", raising=False)


def test_strict_without_bwrap_is_one_line_saying_how_to_install_it(
    no_bwrap: None, tiny_team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["validate", str(tiny_team), "--isolation", "strict"], capsys)
    assert code == 1 and err.count("\n") == 1, err
    assert err.startswith("error: strict isolation needs bubblewrap: bubblewrap (bwrap) is not")
    assert "apt-get install bubblewrap" in err and "dnf install bubblewrap" in err
    assert "--isolation soft" in err


def test_strict_with_a_bwrap_that_cannot_make_namespaces_says_what_to_enable(
    broken_bwrap: None,
) -> None:
    with pytest.raises(IsolationError, match=r"Permission denied.*user namespaces"):
        resolve_isolation("strict")


def test_default_without_a_working_bwrap_is_soft_with_one_warning(
    broken_bwrap: None, tiny_team: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(["validate", str(tiny_team)], capfd)
    assert code == 0 and "ok: tiny" in out
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, err
    assert "soft isolation" in warnings[0] and "held-out test set" in warnings[0]
    assert "user namespaces" in warnings[0]


def test_an_unknown_isolation_is_one_line(
    tiny_team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["validate", str(tiny_team), "--isolation", "none"], capsys)
    assert code == 1 and err == "error: unknown isolation 'none'; use strict or soft\n"


def test_every_leaderboard_row_records_the_isolation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scorer = Scorer(data_root=tmp_path, runs_root=tmp_path)
    expected = "strict" if probe_bwrap().works else "soft"
    assert scorer.failed_row("team9", "it broke")["isolation"] == expected
    monkeypatch.setenv("HARNESS_ISOLATION", "soft")
    assert scorer.base_row("team9")["isolation"] == "soft"


@requires_bwrap
def test_a_run_records_the_weakest_isolation_it_was_trained_under(
    tiny_team: Path, tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_ISOLATION", "strict")
    first = train_team(
        tiny_team,
        data_root=tiny_data,
        runs_root=tmp_path,
        overrides={"max_steps": 1},
        image_size=16,
    )
    run_dir = Path(first["run_dir"])
    assert runs.read_config(run_dir)["isolation"] == "strict"
    monkeypatch.setenv("HARNESS_ISOLATION", "soft")
    train_team(
        tiny_team,
        data_root=tiny_data,
        runs_root=tmp_path,
        overrides={"max_steps": 2},
        resume="latest",
    )
    assert runs.read_config(run_dir)["isolation"] == "soft"


def test_weakest_isolation() -> None:
    assert weakest("strict", "soft") == "soft"
    assert weakest("strict", "strict") == "strict"
    assert weakest(None, "strict") == "strict"


def test_doctor_names_each_missing_piece_and_its_fix(
    no_bwrap: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(["doctor", "--data", str(tmp_path / "nowhere"), "--json"], capsys)
    assert code == 0
    checks = {c["name"]: c for c in json.loads(out)}
    assert set(checks) == {"isolation", "user namespaces", "cuda", "weights", "data", "caches"}
    assert checks["isolation"]["status"] == "missing"
    assert checks["isolation"]["fix"].startswith(INSTALL_HINT)
    assert checks["data"]["status"] == "missing" and "--data" in checks["data"]["fix"]
    code, out, _ = run_cli(["doctor", "--data", str(tmp_path / "nowhere")], capsys)
    assert "isolation        missing  soft only: bubblewrap (bwrap) is not installed" in out
    assert "fix:     install bubblewrap" in out


@requires_bwrap
def test_doctor_reports_a_working_sandbox(
    tiny_data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HARNESS_ISOLATION", raising=False)
    code, out, _ = run_cli(["doctor", "--data", str(tiny_data), "--json"], capsys)
    checks = {c["name"]: c for c in json.loads(out)}
    assert code == 0 and checks["isolation"]["status"] == "ok"
    assert probe_bwrap().version in checks["isolation"]["detail"]
    assert checks["data"]["status"] == "ok" and "48 train, 24 test" in checks["data"]["detail"]
    assert resolve_isolation() is Isolation.STRICT


def test_a_bwrap_too_old_for_the_job_options_asks_for_a_newer_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text(
        FAILING_BWRAP.replace("setting up uid map: Permission denied", "Unknown option --size")
    )
    fake.chmod(0o755)
    monkeypatch.setenv("HARNESS_BWRAP", str(fake))
    with pytest.raises(IsolationError, match=r"Unknown option --size.*bubblewrap 0\.8 or newer"):
        resolve_isolation("strict")
