"""The newcomer's first run: demo data when offline, then train, score, rank."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.data.demo import is_demo
from harness.quickstart import quickstart_settings, resolve_quickstart_data, run_quickstart
from harness.scoring.score import ScoreSettings


def test_quickstart_runs_the_loop_on_demo_data_when_offline(
    tiny_team: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fid_weights,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.chdir(tmp_path)  # no data/facemask here
    messages: list[str] = []
    outcome = run_quickstart(
        data_flag=None,
        team_dir=tiny_team,
        workdir=tmp_path / "qs",
        epochs=1,
        n_per_class=8,
        device="cpu",
        say=messages.append,
        allow_download=False,
        settings=ScoreSettings(
            n_per_class=8, bootstrap=10, kid_subsets=3, kid_subset_size=6, dims=64, device="cpu"
        ),
        demo_sizes=(24, 10),
    )
    assert outcome["demo"] and is_demo(Path(outcome["data"]))
    assert any("USING THE SYNTHETIC DEMO SET" in m for m in messages)
    row = outcome["rows"][0]
    assert row["status"] == "ok" and row["demo_data"] is True and row["n_fake_with_mask"] == 8
    assert (tmp_path / "qs" / "leaderboard" / "results.csv").is_file()
    assert outcome["board"].iloc[0]["team"] == "tiny"
    assert not (tmp_path / "leaderboard").exists(), "a quickstart never touches the real board"


def test_quickstart_scores_like_score_but_for_n() -> None:
    # It used 50 bootstrap replicates where the README and `harness score` say 100.
    settings = quickstart_settings(250, "cpu")
    assert settings.n_per_class == 250 and settings.device == "cpu"
    assert settings.bootstrap == 100
    # Only N, the device and the memorisation check differ: its one-time pass over the train
    # features (about 13 minutes on this CPU) would dominate a first run.
    assert settings == ScoreSettings(n_per_class=250, device="cpu", memorisation=False)


def test_quickstart_uses_the_given_data_and_checks_it(tiny_data: Path, tmp_path: Path) -> None:
    found = resolve_quickstart_data(tiny_data, tmp_path, print)
    assert found.root == tiny_data and found.demo
    from harness.errors import DataError

    with pytest.raises(DataError, match="does not exist"):
        resolve_quickstart_data(tmp_path / "typo", tmp_path, print)


def test_ctrl_c_in_the_quickstart_says_what_stopped_and_how_to_go_on(
    tiny_team: Path, tiny_data: Path, tmp_path: Path
) -> None:
    # It exited 130 without a word. A real Ctrl-C (SIGINT to the harness) during training.
    import os
    import signal
    import subprocess
    import sys
    import time

    workdir = tmp_path / "qs"
    args = ["quickstart", "--data", str(tiny_data), "--team", str(tiny_team)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", *args, "--workdir", str(workdir), "--epochs", "1000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 300
        while not list(workdir.glob("runs/tiny/*/checkpoints/epoch-*.pt")):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    text = err.decode()
    assert proc.returncode == 130, text
    last = text.strip().splitlines()[-1]
    assert last.startswith(f"quickstart interrupted while training {tiny_team}"), text
    assert "finish its training with `harness train" in last and "--resume" in last
    assert f"then score it with `harness score {tiny_team} --data {tiny_data}" in last


def test_ctrl_c_while_the_quickstart_scores_names_the_score_command(
    tiny_team: Path, tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.quickstart import QuickstartInterrupted
    from harness.scoring.score import Scorer

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # as Ctrl-C lands in the scoring stage

    monkeypatch.setattr(Scorer, "score_teams", interrupted)
    with pytest.raises(QuickstartInterrupted) as info:
        run_quickstart(
            data_flag=tiny_data,
            team_dir=tiny_team,
            workdir=tmp_path / "qs",
            epochs=1,
            n_per_class=8,
            device="cpu",
            say=print,
        )
    message = str(info.value)
    assert message.startswith(f"quickstart interrupted while scoring {tiny_team}")
    assert f"harness score {tiny_team} --data {tiny_data} --runs {tmp_path / 'qs' / 'runs'}" in (
        message
    )
