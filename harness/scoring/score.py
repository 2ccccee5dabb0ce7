"""Scoring: samples from each team's run against the held-out reals, one leaderboard row each.

For a team: its latest (or chosen) run's checkpoint makes ``n`` samples per class in a child
process with the same seed for every team; the parent checks them, extracts Inception features
and computes, per class, FID against the ``test`` reals of that class, plus KID, the overall
FID (all samples against all test reals) and optionally a bootstrap interval of the summed
score. Score = FID(with_mask) + FID(without_mask); lower wins.

``score_teams`` never lets one team stop the others: any failure, the harness's own bugs
included, becomes a ``failed`` row with a one-line error, and the next team is scored. A team
with no trained run yet is not a failure: it is reported and gets no row.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.classes import CLASS_NAMES, NUM_CLASSES
from harness.errors import DataError, HarnessError, NotTrainedError
from harness.sandbox.isolation import isolation_in_use
from harness.sandbox.limits import job_limits
from harness.training import runs

STATUS_OK = "ok"
STATUS_FAILED = "failed"


@dataclass(frozen=True)
class ScoreSettings:
    """How samples are drawn and measured; every field is recorded in the row.

    Attributes:
        n_per_class: samples per class (default 1,000, as the course).
        seed: the sample seed, the same for every team (default 0).
        bootstrap: bootstrap replicates for the score interval, 0 for none (default 100).
        kid_subsets: KID subsets (default 100); kid_subset_size: their size (default 1,000).
        dims: Inception feature dims (default 2048, pool3).
        device: device for sampling and Inception (default auto).
        batch_size: Inception batch size (default 50).
        sample_timeout_s: time limit of the sampling child (None: the sample job's default,
            1,800 s; 0: none).
        memory_gib: memory limit of the sampling child (None: the default, 16 GiB; 0: none).
        samples_image_size: the size a ``samples`` submission must have (default 64).
        public_private, memorisation, prdc: compute those competition columns (default on;
            see :mod:`harness.scoring.competition_metrics`); memorisation_eps: MiFID's
            threshold (default 0.1); prdc_k: PRDC's neighbours (default 5).
    """

    n_per_class: int = 1000
    seed: int = 0
    bootstrap: int = 100
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    dims: int = 2048
    device: str = "auto"
    batch_size: int = 50
    sample_timeout_s: float | None = None
    memory_gib: float | None = None
    samples_image_size: int = 64
    public_private: bool = True
    memorisation: bool = True
    prdc: bool = True
    memorisation_eps: float = 0.1
    prdc_k: int = 5


def discover_teams(
    submissions: Path,
    say: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
) -> list[Path]:
    """Every folder under ``submissions`` that holds a submission of any kind, sorted by name.

    A folder whose name is not a plain identifier (``=cmd|calc!A0``, a name with ``;`` or a
    newline) is not a team: it gets no row and no run, only a line through ``say`` naming it.
    """
    from harness.scoring.submission import holds_submission

    submissions = Path(submissions)
    if not submissions.is_dir():
        raise HarnessError(f"submissions folder {submissions} does not exist")
    found = []
    for path in sorted(submissions.iterdir()):
        if not path.is_dir() or not holds_submission(path):
            continue
        if runs.usable_team_name(path.name):
            found.append(path)
        else:
            say(runs.refused_team_line(path.name))
    return found


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    import torch

    import harness

    return {
        "torch_version": torch.__version__,
        "pytorch_fid_version": version("pytorch-fid"),
        "harness_version": harness.__version__,
    }


class Scorer:
    """Scores teams against one dataset with one extractor, shared by every row it makes."""

    def __init__(
        self,
        *,
        data_root: Path,
        runs_root: Path,
        settings: ScoreSettings = ScoreSettings(),
        say: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
        label_judge: Any = None,
        strips: Path | None = None,
    ) -> None:
        self.data_root = Path(data_root)
        # Where each row's sample strip is kept (``strips/`` beside results.csv, see
        # :mod:`harness.scoring.strips`); None keeps none.
        self.strips = Path(strips) if strips is not None else None
        self.runs_root = Path(runs_root)
        self.settings = settings
        self.say = say
        self.label_judge = label_judge
        self._extractor: Any = None
        self.not_trained: dict[str, str] = {}
        self._references: dict[int, list[Any]] = {}
        from harness.scoring.competition_metrics import CompetitionMetrics, Options

        self.competition = CompetitionMetrics(
            self.data_root,
            lambda: self.extractor,
            Options(
                public_private=settings.public_private,
                memorisation=settings.memorisation,
                prdc=settings.prdc,
                eps=settings.memorisation_eps,
                k=settings.prdc_k,
                bootstrap=settings.bootstrap,
                kid_subsets=settings.kid_subsets,
                kid_subset_size=settings.kid_subset_size,
                seed=settings.seed,
            ),
            say=say,
        )

    @property
    def extractor(self) -> Any:
        """The Inception feature extractor, built on first use."""
        if self._extractor is None:
            from harness import device
            from harness.scoring.metrics.inception import InceptionFeatures

            dev = device.resolve_device(self.settings.device)
            device.configure(dev)
            self._extractor = InceptionFeatures(
                dims=self.settings.dims, device=dev, batch_size=self.settings.batch_size
            )
        return self._extractor

    def references(self, size: int) -> list[Any]:
        """The held-out reference of each class at ``size`` (built once, then cached)."""
        if size not in self._references:
            from harness.scoring.metrics.reference import class_reference

            self._references[size] = [
                class_reference(self.data_root, c, size, self.extractor) for c in range(NUM_CLASSES)
            ]
        return self._references[size]

    def base_row(self, team: str) -> dict[str, Any]:
        """Fields every row has, failed or not."""
        from harness import data
        from harness.data.demo import is_demo
        from harness.scoring.submission import new_submission_id

        now = runs.utc_now()
        row: dict[str, Any] = {
            "timestamp_utc": now,
            "submission_id": new_submission_id(),
            "submitted_at": now,
            "team": team,
            "sample_seed": self.settings.seed,
            "dataset": str(self.data_root),
            "demo_data": is_demo(self.data_root),
            "isolation": isolation_in_use(),
            **_versions(),
        }
        with contextlib.suppress(HarnessError):  # a wrong data folder is reported by the caller
            row["data_fingerprint_test"] = data.split_fingerprint(self.data_root, "test")
        return row

    def failed_row(self, team: str, error: str, run_id: str | None = None) -> dict[str, Any]:
        """A row recording that the team could not be scored, and why."""
        return {**self.base_row(team), "run_id": run_id, "status": STATUS_FAILED, "error": error}

    def score_team(self, team_dir: Path, run_id: str | None = None) -> dict[str, Any]:
        """Sample (or load), measure and return the team's row; raises HarnessError on failure."""
        from harness.sandbox.runner import forbidden_paths
        from harness.scoring import submission
        from harness.scoring.metrics import fid as fidlib
        from harness.scoring.metrics.reference import combined

        sub = submission.detect(team_dir)
        team = sub.team
        s = self.settings
        row = self.base_row(team)
        drawn = submission.draw(
            sub,
            runs_root=self.runs_root,
            data_root=self.data_root,
            run_id=run_id,
            n_per_class=s.n_per_class,
            seed=s.seed,
            device=s.device,
            limits=job_limits("sample", timeout_s=s.sample_timeout_s, memory_gib=s.memory_gib),
            forbidden=forbidden_paths(self.data_root),
            samples_size=s.samples_image_size,
            say=self.say,
        )
        samples = drawn.samples
        size = int(samples.images.shape[1])
        references = self.references(size)
        fakes = [
            self.extractor(samples.of_class(c), progress=f"{team} {CLASS_NAMES[c]} samples")
            for c in range(NUM_CLASSES)
        ]
        fids = []
        for c, name in enumerate(CLASS_NAMES):
            value = fidlib.frechet_distance(fidlib.statistics(fakes[c]), references[c].stats)
            fids.append(value)
            kid_mean = (
                fidlib.kid(
                    fakes[c],
                    references[c].features,
                    subsets=s.kid_subsets,
                    subset_size=s.kid_subset_size,
                    seed=s.seed,
                )[0]
                if s.kid_subsets
                else None
            )
            row.update(
                {
                    f"fid_{name}": value,
                    f"kid_{name}": kid_mean,
                    f"n_fake_{name}": len(fakes[c]),
                    f"n_real_{name}": len(references[c].features),
                    f"real_stats_{name}": references[c].digest,
                }
            )
        overall = combined(references)
        row["fid_overall"] = fidlib.frechet_distance(
            fidlib.statistics(np.concatenate(fakes)), overall.stats
        )
        row["score"] = sum(fids)
        row["bootstrap_replicates"] = s.bootstrap
        if s.bootstrap:
            self.say(f"{team}: bootstrap interval ({s.bootstrap} replicates) ...")
            replicates = fidlib.bootstrap_score(
                fakes,
                [r.stats for r in references],
                replicates=s.bootstrap,
                seed=s.seed,
                progress=f"{team} bootstrap",
            )
            row["score_ci_low"], row["score_ci_high"] = fidlib.centred_interval(
                row["score"], replicates
            )
            row["bootstrap_mean"] = float(replicates.mean())
        row.update(
            self.competition.columns(
                team, samples, fakes, references, fids, submission_id=row["submission_id"]
            )
        )
        if self.label_judge is not None:
            row.update(self.label_judge(samples))
        row.update(
            {
                "status": STATUS_OK,
                "error": "",
                "source": sub.kind,
                "source_note": sub.note,
                "image_size": size,
                "real_resizer": references[0].key["resizer"],
                "extractor": self.extractor.name,
                "dims": self.extractor.dims,
                "weights_sha256": self.extractor.weights.sha256,
                "weights_source": self.extractor.weights.source,
                "device": str(self.extractor.device),
                **drawn.row,
            }
        )
        if self.strips is not None:
            from harness.scoring.strips import keep_strips

            per_class = [samples.of_class(c) for c in range(NUM_CLASSES)]
            row.update(keep_strips(row, per_class, self.strips, self.say))
        return row

    def score_teams(
        self,
        team_dirs: Iterable[Path],
        run_id: str | None = None,
        on_row: Callable[[dict[str, Any]], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Score each team in turn; a failure becomes that team's ``failed`` row.

        ``on_row`` receives each row as soon as it exists (the CLI appends it to the board
        then), so that a run of ``--all`` killed at the fifth team keeps the first four. A team
        that has no trained run gets no row; it is named in :attr:`not_trained` with the reason.
        """
        from harness.scoring import rounds

        team_dirs = list(team_dirs)
        rounds.prepare_references(self, team_dirs, run_id)  # the data's faults first
        rows: list[dict[str, Any]] = []
        for i, team_dir in enumerate(team_dirs):
            team = Path(team_dir).resolve().name
            if not runs.usable_team_name(team):
                self.say(runs.refused_team_line(team))  # no row: the name itself is hostile
                continue
            try:
                try:
                    row = self.score_team(team_dir, run_id)
                    self.say(f"{team}: score {row['score']:.2f}")
                except NotTrainedError as exc:
                    self.not_trained[team] = str(exc)
                    if len(team_dirs) > 1:  # one team: the caller's error line says it once
                        self.say(f"{team}: not trained yet, so not scored (no row written): {exc}")
                    continue
                except DataError:
                    raise  # the held-out data's fault, not the team's: stop the round
                except HarnessError as exc:
                    row = self.failed_row(team, str(exc), run_id)
                    self.say(f"{team}: failed: {exc}")
                except Exception as exc:  # a harness bug must not stop the other teams either
                    traceback.print_exc(file=sys.stderr)
                    row = self.failed_row(
                        team, f"internal error: {type(exc).__name__}: {exc}", run_id
                    )
                    self.say(f"{team}: failed with an internal error: {exc}")
                rows.append(row)
                if on_row is not None:
                    on_row(row)
            except (KeyboardInterrupt, DataError) as exc:
                # Team code runs in children, whose interrupts arrive as TeamCodeError: this is
                # the user's own Ctrl-C (or the data), and it stops the round.
                why = "interrupted" if isinstance(exc, KeyboardInterrupt) else "stopped"
                self.say(rounds.not_scored_message(team_dirs[i:], why))
                raise
        return rows
