"""``harness quickstart``: the whole loop once, for a newcomer's first run.

Data comes from ``--data`` / ``HARNESS_DATA`` / the user's settings file / ``data/facemask``
when there, else from the download; offline with no copy it draws the synthetic demo set and says, loudly, that its scores
mean nothing. Everything it writes stays under one work folder (``quickstart/`` by default), so
a first run never touches the repository's leaderboard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.data.demo import is_demo, make_demo_dataset
from harness.errors import DataError, Interrupted
from harness.paths import DATA_ENV, DEFAULT_DATA


class QuickstartInterrupted(Interrupted):
    """Ctrl-C during the quickstart; the message names the stage and how to go on from it."""


@dataclass(frozen=True)
class QuickstartData:
    """The dataset the quickstart uses and how it was found."""

    root: Path
    how: str
    demo: bool


def resolve_quickstart_data(
    flag: Path | None,
    workdir: Path,
    say: Callable[[str], None],
    *,
    allow_download: bool = True,
    demo_sizes: tuple[int, int] = (300, 100),
) -> QuickstartData:
    """Find data: the flag or environment, the default folder, a download, or the demo set."""
    import os

    from harness import data

    explicit = (
        flag
        if flag is not None
        else (Path(os.environ[DATA_ENV]) if os.environ.get(DATA_ENV) else None)
    )
    if explicit is not None:
        data.list_split(explicit, "train")  # a wrong folder fails here with a precise message
        return QuickstartData(explicit, "given by --data / HARNESS_DATA", is_demo(explicit))
    from harness.settings import read_settings

    settings = read_settings()
    recorded = settings.get("data")
    if recorded:
        data.list_split(Path(recorded), "train")
        return QuickstartData(
            Path(recorded), f"from the settings file {settings.path}", is_demo(Path(recorded))
        )
    if DEFAULT_DATA.is_dir() and any(DEFAULT_DATA.iterdir()):
        return QuickstartData(DEFAULT_DATA, f"found in {DEFAULT_DATA}", is_demo(DEFAULT_DATA))
    if allow_download:
        from harness.data.download import download_dataset

        say(f"no dataset at {DEFAULT_DATA}; trying to download it ...")
        try:
            download_dataset(DEFAULT_DATA)
            return QuickstartData(DEFAULT_DATA, "downloaded", False)
        except DataError as exc:
            say(f"download failed: {exc}")
    demo_root = workdir / "demo-data"
    if not is_demo(demo_root):
        make_demo_dataset(demo_root, train_per_class=demo_sizes[0], test_per_class=demo_sizes[1])
    say(
        "USING THE SYNTHETIC DEMO SET: the loop runs end to end, but its scores mean nothing. "
        "Get the real data with `harness data download` or `harness data import PATH`."
    )
    return QuickstartData(demo_root, "synthetic demo set", True)


def quickstart_settings(n_per_class: int, device: str) -> Any:
    """Scoring settings of the quickstart: ``harness score``'s defaults (100 bootstrap
    replicates included; at 250 samples per class they take seconds) except N and device,
    and no memorisation check: its one-time pass over every train image's features would
    dominate a first run: it sends every train image through Inception, the 250 samples
    per class only 500 (`harness prepare` makes that cache ahead)."""
    from harness.scoring.score import ScoreSettings

    return ScoreSettings(n_per_class=n_per_class, device=device, memorisation=False)


def run_quickstart(
    *,
    data_flag: Path | None,
    team_dir: Path,
    workdir: Path,
    epochs: int,
    n_per_class: int,
    device: str,
    say: Callable[[str], None],
    allow_download: bool = True,
    settings: Any = None,
    demo_sizes: tuple[int, int] = (300, 100),
) -> dict[str, Any]:
    """Data, a short training of ``team_dir``, scoring, the ranked board; returns all of it."""
    from harness.board import leaderboard
    from harness.scoring.label_fidelity import LabelJudge
    from harness.scoring.score import Scorer
    from harness.scoring.strips import strips_dir
    from harness.training.train import train_team

    workdir.mkdir(parents=True, exist_ok=True)
    runs_root = workdir / "runs"
    board_path = workdir / "leaderboard" / "results.csv"
    try:
        found = resolve_quickstart_data(
            data_flag, workdir, say, allow_download=allow_download, demo_sizes=demo_sizes
        )
    except KeyboardInterrupt:
        raise QuickstartInterrupted(
            "quickstart interrupted while getting the data; nothing was trained or scored; "
            "run the same `harness quickstart` command again to start over"
        ) from None
    say(f"data: {found.root} ({found.how})")
    say(f"training {team_dir} for {epochs} epoch(s) ...")
    score = _score_command(team_dir, found.root, runs_root, board_path, n_per_class, device)
    try:
        trained = train_team(
            team_dir,
            data_root=found.root,
            runs_root=runs_root,
            overrides={"epochs": epochs},
            device=device,
        )
    except KeyboardInterrupt:
        why = _training_interrupted(team_dir, runs_root, device, score)
        raise QuickstartInterrupted(why) from None
    say(f"scoring with {n_per_class} samples per class against the held-out test images ...")
    settings = settings or quickstart_settings(n_per_class, device)
    try:
        scorer = Scorer(
            data_root=found.root,
            runs_root=runs_root,
            settings=settings,
            say=say,
            label_judge=LabelJudge(found.root, device=device, say=say),
            strips=strips_dir(board_path),
        )
        rows = scorer.score_teams([team_dir])
    except KeyboardInterrupt:
        raise QuickstartInterrupted(
            f"quickstart interrupted while scoring {team_dir}; the trained run is kept in "
            f"{runs_root}; score it with `{score}` (one-time caches already computed are kept)"
        ) from None
    leaderboard.append_rows(rows, board_path)
    board = leaderboard.ranked(leaderboard.read(board_path))
    return {
        "data": str(found.root),
        "demo": found.demo,
        "train": trained,
        "rows": rows,
        "board": board,
        "board_path": str(board_path),
    }


def _score_command(
    team_dir: Path, data: Path, runs_root: Path, board: Path, n_per_class: int, device: str
) -> str:
    """The ``harness score`` command that does the quickstart's scoring step on its own."""
    import shlex

    words = ["harness", "score", str(team_dir), "--data", str(data), "--runs", str(runs_root)]
    words += ["--leaderboard", str(board), "--n", str(n_per_class), "--no-memorisation"]
    if device != "auto":
        words += ["--device", device]
    return shlex.join(words)


def _training_interrupted(team_dir: Path, runs_root: Path, device: str, score: str) -> str:
    """What to say when Ctrl-C stopped the quickstart's training: resume and score, when a
    checkpoint was saved; else start over."""
    from harness.errors import HarnessError
    from harness.training import runs
    from harness.training.resume import resume_command

    again = "run the same `harness quickstart` command again to start over"
    try:
        run_dir = runs.find_run(runs_root, runs.team_name(team_dir))
    except HarnessError:
        return f"quickstart interrupted while training {team_dir}, before a checkpoint; {again}"
    resume = resume_command(team_dir, runs_root, run_dir.name, device)
    return (
        f"quickstart interrupted while training {team_dir}; its checkpoint is saved: to finish "
        f"the loop, finish its training with `{resume}`, then score it with `{score}`; "
        f"or {again}"
    )


def remember_data(flag: Path) -> str | None:
    """Record ``--data`` in the user's settings file when it names no data folder yet, so
    that later commands (and ``harness doctor``) find it without the flag; returns the one
    line that says what was done (or how to do it), None when there is nothing to say.

    A folder already recorded is never replaced behind the user's back, a demo set is never
    recorded, and a folder that is not a dataset is left to the quickstart's own error.
    """
    from harness import data
    from harness.errors import HarnessError
    from harness.settings import read_settings, write_setting

    folder = Path(flag).expanduser().resolve()
    try:
        data.list_split(folder, "train")
        settings = read_settings()
    except HarnessError:
        return None
    if is_demo(folder):
        return None
    recorded = settings.get("data")
    if recorded is None:
        written = write_setting("data", str(folder))
        return (
            f"recorded {folder} as your data folder in {written.path}: later commands need no "
            "--data (`harness config show`; `harness config unset data` forgets it)"
        )
    if Path(recorded).expanduser().resolve() != folder:
        return (
            f"your settings name {recorded} as the data folder; to make {folder} the default: "
            f"`harness config set data {folder}`"
        )
    return None
