"""What a resumed run continues with: its own settings, changed only where the user says so.

A run records the settings its last session resolved (``train_config`` and ``hparams`` in
``config.json``). ``--resume`` starts from those, not from the team's defaults, so that a run
started with ``--batch-size 16`` resumes at 16 without the flag being repeated; an option the
user does give is an explicit change, and :func:`check_resumable` refuses those that would
make the run something it was not (only the epoch target and other schedule knobs may move).
``max_steps`` is a limit on one session, not a setting of the run, so it is not carried over.

A run also records its data folder, so that ``--resume`` without ``--data`` continues on the
data it was started on, and the hint printed on Ctrl-C (:func:`resume_command`) is a command
that works when pasted: it names every option a resume cannot read from the run itself.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.spec import TrainConfig

RESUMABLE_CHANGES = ("epochs", "max_steps", "checkpoint_every", "num_workers")
SESSION_ONLY = ("max_steps",)


def run_settings(config: Mapping[str, Any], hparam_names: Any) -> dict[str, Any]:
    """A run's own settings as overrides: its last session's TrainConfig and hparams (only the
    fields and hparams that still exist), or for a run that never got that far, the overrides
    it was created with."""
    saved = config.get("train_config")
    if not saved:
        return dict(config.get("overrides") or {})
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    own = {k: v for k, v in saved.items() if k in fields and k not in SESSION_ONLY}
    own.update({k: v for k, v in (config.get("hparams") or {}).items() if k in hparam_names})
    return own


def check_resumable(saved: Mapping[str, Any] | None, current: Mapping[str, Any]) -> None:
    """Refuse explicit changes to settings that define the run (all but the schedule knobs).

    Raises:
        HarnessError: naming each changed setting, old -> new.
    """
    if not saved:
        return
    # A setting added to TrainConfig after the run was made had its default then.
    defaults = dataclasses.asdict(TrainConfig())
    changed = [
        k
        for k in current
        if k not in RESUMABLE_CHANGES and saved.get(k, defaults.get(k)) != current[k]
    ]
    if changed:
        diffs = ", ".join(f"{k} {saved.get(k)!r} -> {current[k]!r}" for k in changed)
        raise HarnessError(
            f"--resume continues a run with its own settings, but these differ: {diffs}; "
            "drop those options to continue it, or start a new run to change them"
        )


def resume_command(team_dir: Path, runs_root: Path, run_id: str, device: str = "auto") -> str:
    """The command that continues run ``run_id``, to paste in the shell it was started from.

    Spelt with the paths as the user gave them; ``--runs`` only when it is not what the
    default (``$HARNESS_RUNS``, else ``runs``) would find, ``--device`` only when one was
    chosen. The data folder, settings and precision come from the run's own record.
    """
    from harness.paths import runs_root as default_runs_root

    words = ["harness", "train", str(team_dir), "--resume", run_id]
    if Path(runs_root) != default_runs_root():
        words += ["--runs", str(runs_root)]
    if device != "auto":
        words += ["--device", device]
    return shlex.join(words)


def run_data_root(config: Mapping[str, Any], flag: Path | None) -> Path:
    """The data folder a resumed run trains on: ``--data`` when given, else the folder the
    run recorded (when it still holds a train split), else the usual default."""
    from harness.paths import data_root

    if flag is not None:
        return data_root(flag)
    recorded = config.get("data_root")
    if recorded and (Path(recorded) / "train").is_dir():
        return Path(recorded)
    return data_root()
