"""One job's scoring, wherever it runs: the worker's settings, the team's log, the scorer.

Shared by :mod:`harness.service.workers` (which takes jobs and keeps their leases) and
:mod:`harness.service.slurm` (which scores a job in a Slurm job of its own), so neither imports
the other. Whose fault a failure is decides what follows: :data:`INFRASTRUCTURE` errors and
:class:`RetryLater` give the job back to the queue, never counted against the team.
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import (
    BoardError,
    DataError,
    DiskFullError,
    HarnessError,
    WeightsError,
)
from harness.service import queue, store

LOG_LINES = 40


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker needs besides the database; ``serve`` passes the same to each.

    Attributes:
        state: the service's state folder (unpacked submissions, runs).
        data_root: the dataset (its ``test`` split is the held-out set).
        board: the results CSV rows are appended to.
        competition: the competition's rules (N, image size, MiFID threshold).
        isolation: strict or soft (None: as ``harness score`` decides, strict when bwrap works).
        device: auto, cpu, cuda...
        dims: Inception feature dims (default 2048, the board's pool3).
        bootstrap: bootstrap replicates (default 100, as ``harness score``).
        labels: measure label fidelity (default on, as ``harness score``).
        lease_s: the lease a heartbeat keeps extending (default 60 s).
        scale: ``--executor slurm`` (or ``submitit-local``) and the Slurm job's resources:
            each job is then scored in a Slurm job of its own (None: in this process).
        poll_s: how often a worker looks at its Slurm job (default 10 s; tests use less).
    """

    state: Path
    data_root: Path
    board: Path
    competition: Any
    isolation: str | None = None
    device: str = "auto"
    dims: int = 2048
    bootstrap: int = 100
    labels: bool = True
    lease_s: float = queue.LEASE_S
    kid_subsets: int = 100
    extra: dict[str, Any] = field(default_factory=dict)
    scale: Any = None  # harness.scale.plan.ScaleSettings
    poll_s: float = 10.0

    @property
    def on_cluster(self) -> bool:
        """Whether each job goes to Slurm (or submitit's local stand-in) through submitit."""
        return self.scale is not None and self.scale.cluster is not None

    def hidden_paths(self) -> list[Path]:
        """The paths a team's log must never show (the state and the data, as given and real)."""
        return [self.state.resolve(), self.state, self.data_root.resolve(), self.data_root]


class RetryLater(HarnessError):
    """The infrastructure failed outside this process (a Slurm job died, or its node hit a
    harness fault): the job goes back to the queue, never counted against the team."""


INFRASTRUCTURE = (DataError, DiskFullError, BoardError, WeightsError, RetryLater)


class JobLog:
    """What a team may read of its job: lines about its own submission, paths removed."""

    def __init__(self, team: str, hidden: list[Path]) -> None:
        self.team = team
        self.lines: list[str] = []
        self._hidden = sorted(
            {str(p) for p in hidden if str(p) not in ("", ".")}, key=len, reverse=True
        )

    def say(self, message: str) -> None:
        """Keep a scoring message when it is about this team's submission."""
        if message.startswith(f"{self.team}:"):
            self.lines.append(self.clean(message))
            del self.lines[:-LOG_LINES]

    def clean(self, message: str) -> str:
        for path in self._hidden:
            message = message.replace(path + "/", "").replace(path, "<hidden>")
        # Absolute paths only: "samples/without_mask/005.png" names the team's own file.
        return re.sub(r"(?<![\w.\-])(/[\w.\-]+){2,}", "<path>", message)

    def extend(self, lines: list[str]) -> None:
        """Add lines another process already kept and cleaned (a Slurm job's)."""
        self.lines.extend(lines)
        del self.lines[:-LOG_LINES]

    def tail(self) -> str:
        return "\n".join(self.lines)


def public_figures(row: dict[str, Any]) -> dict[str, Any]:
    """The fields of a row that the public board shows (none computed with the private part),
    by the board's own column lists, plus the row's status and reason."""
    from harness.board.boards import PUBLIC_COLUMNS, WHOLE_TEST_COLUMNS

    split = bool(row.get("score_public") == row.get("score_public")) and "score_public" in row
    template = PUBLIC_COLUMNS if split else WHOLE_TEST_COLUMNS
    names = {c.format(metric="score") for c in template} - {"rank"}
    if split:
        names |= {c.format(metric="mifid") for c in template} - {"rank"}
    keep = {k: v for k, v in row.items() if k in names and "private" not in k}
    keep["status"] = row.get("status")
    keep["error"] = row.get("error") or ""
    return keep


def append_once(row: dict[str, Any], board: Path) -> dict[str, Any]:
    """Append ``row`` to the board under its lock unless a row with its submission id is there;
    returns the row that is on the board (this one, or the one an earlier attempt wrote)."""
    from harness.board import leaderboard
    from harness.board.csv_append import append_to_csv

    board.parent.mkdir(parents=True, exist_ok=True)
    with open(leaderboard.lock_path(board), "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            table = leaderboard.read(board)
            if "submission_id" in table and (table["submission_id"] == row["submission_id"]).any():
                found = table[table["submission_id"] == row["submission_id"]].iloc[0]
                return {k: v for k, v in found.items() if v == v}  # NaN: absent
            append_to_csv(board, [row], leaderboard.COLUMNS)
            return row
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


class JobScorer:
    """Scores a job's folder in this process, by the path ``harness score`` takes; the Scorer
    (Inception, references) is built on first use and kept. A worker holds one; on Slurm, each
    job builds its own on its node (:mod:`harness.service.slurm`)."""

    def __init__(self, settings: WorkerSettings, say: Callable[[str], None]) -> None:
        self.settings = settings
        self.say = say
        self._scorer: Any = None

    @property
    def scorer(self) -> Any:
        if self._scorer is None:
            from harness.scoring.score import Scorer, ScoreSettings
            from harness.scoring.strips import strips_dir

            s, rules = self.settings, self.settings.competition
            judge = None
            if s.labels:
                from harness.scoring.label_fidelity import LabelJudge

                judge = LabelJudge(s.data_root, device=s.device, say=self.say)
            settings = ScoreSettings(
                n_per_class=rules.n_per_class,
                samples_image_size=rules.image_size,
                memorisation_eps=rules.memorisation_threshold,
                bootstrap=s.bootstrap,
                device=s.device,
                dims=s.dims,
                kid_subsets=s.kid_subsets,
                kid_subset_size=min(1000, rules.n_per_class),
                **s.extra,
            )
            self._scorer = Scorer(
                data_root=s.data_root,
                runs_root=store.State(s.state).runs,
                settings=settings,
                say=self.say,
                label_judge=judge,
                strips=strips_dir(s.board),
            )
        return self._scorer

    def score(self, job: queue.Job, log: JobLog) -> dict[str, Any]:
        """The job's row (``ok``, or ``failed`` with the team's one-line reason).

        Raises:
            an :data:`INFRASTRUCTURE` error (or any other exception: a harness bug), which the
            worker turns into a retry.
        """
        from harness.scoring.score import STATUS_FAILED

        folder = store.State(self.settings.state).unpacked / job.submission_id / job.team
        run_id = None
        try:
            if job.kind == "code":
                run_id = self._train(folder)
            row = self.scorer.score_team(folder, run_id)
        except INFRASTRUCTURE:
            raise
        except HarnessError as exc:  # the team's code or files: a failed row, as `score` writes
            self.say(f"{job.team}: failed: {exc}")
            row = self.scorer.failed_row(job.team, log.clean(str(exc)), run_id)
            row["status"] = STATUS_FAILED
        row["submission_id"] = job.submission_id
        return row

    def _train(self, folder: Path) -> str:
        from harness.training.train import train_team

        summary = train_team(
            folder,
            data_root=self.settings.data_root,
            runs_root=store.State(self.settings.state).runs,
            overrides={},
            device=self.settings.device,
        )
        return Path(summary["run_dir"]).name
