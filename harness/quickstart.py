"""``harness quickstart``: the whole loop once, for a newcomer's first run.

Data comes from ``--data`` / ``HARNESS_DATA`` / ``data/facemask`` when there, else from the
download; offline with no copy it draws the synthetic demo set and says, loudly, that its scores
mean nothing. Everything it writes stays under one work folder (``quickstart/`` by default), so
a first run never touches the repository's leaderboard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.demo import is_demo, make_demo_dataset
from harness.errors import DataError
from harness.paths import DATA_ENV, DEFAULT_DATA


@dataclass(frozen=True)
class QuickstartData:
    """The dataset the quickstart uses and how it was found."""

    root: Path
    how: str
    demo: bool


def resolve_quickstart_data(
    flag: Path | None, workdir: Path, say: Callable[[str], None], *, allow_download: bool = True
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
    if DEFAULT_DATA.is_dir() and any(DEFAULT_DATA.iterdir()):
        return QuickstartData(DEFAULT_DATA, f"found in {DEFAULT_DATA}", is_demo(DEFAULT_DATA))
    if allow_download:
        from harness.download import download_dataset

        say(f"no dataset at {DEFAULT_DATA}; trying to download it ...")
        try:
            download_dataset(DEFAULT_DATA)
            return QuickstartData(DEFAULT_DATA, "downloaded", False)
        except DataError as exc:
            say(f"download failed: {exc}")
    demo_root = workdir / "demo-data"
    if not is_demo(demo_root):
        make_demo_dataset(demo_root)
    say(
        "USING THE SYNTHETIC DEMO SET: the loop runs end to end, but its scores mean nothing. "
        "Get the real data with `harness data download` or `harness data import PATH`."
    )
    return QuickstartData(demo_root, "synthetic demo set", True)


def run_quickstart(
    *,
    data_flag: Path | None,
    team_dir: Path,
    workdir: Path,
    epochs: int,
    device: str,
    say: Callable[[str], None],
    allow_download: bool = True,
) -> dict[str, Any]:
    """Data, then a short training of ``team_dir``; returns what was done."""
    from harness.train import train_team

    workdir.mkdir(parents=True, exist_ok=True)
    found = resolve_quickstart_data(data_flag, workdir, say, allow_download=allow_download)
    say(f"data: {found.root} ({found.how})")
    say(f"training {team_dir} for {epochs} epoch(s) ...")
    result = train_team(
        team_dir,
        data_root=found.root,
        runs_root=workdir / "runs",
        overrides={"epochs": epochs},
        device=device,
    )
    return {"data": str(found.root), "demo": found.demo, "train": result}
