"""A scoring round's edges: what is checked before the first team, and what a cut-short round says.

A round must not turn the user's typo or the data's fault into board rows, one per team:
``--n 0`` or a misspelt team folder is one error line before anything runs, and a corrupt
held-out image is one error naming the file before any team is sampled (the references of
every image size the round needs are built first). What stays per team is what the team did.
When the user stops a round with Ctrl-C, the message names the teams left unscored and the
command that scores just them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import data
from harness.errors import HarnessError
from harness.training import runs

MIN_SAMPLES_PER_CLASS = 2  # a covariance (FID) and an unbiased KID need two samples


def check_sample_count(n_per_class: int, *, minimum: int = MIN_SAMPLES_PER_CLASS) -> None:
    """Refuse a per-class sample count that no metric can use, naming the option.

    Raises:
        HarnessError: ``n_per_class`` is below ``minimum``.
    """
    if n_per_class < minimum:
        raise HarnessError(
            f"--n {n_per_class} is too small: scoring needs at least {minimum} samples per "
            "class (FID estimates a covariance); the board uses --n 1000"
        )


def check_team_folders(team_dirs: Sequence[Path]) -> None:
    """Refuse team folders that do not exist, hold no submission of any kind (``model.py``,
    ``checkpoint.pt``, ``samples.npz`` or ``samples/``) or whose name is not a plain
    identifier (no row for any of them), before any is scored.

    Raises:
        HarnessError: naming every such folder and the teams that do exist beside them.
    """
    from harness.scoring.submission import holds_submission
    from harness.training.runs import refused_team_line, usable_team_name

    names = [Path(t).resolve().name for t in team_dirs]
    refused = [name for name in names if not usable_team_name(name)]
    if refused:
        raise HarnessError("; ".join(refused_team_line(name) for name in refused))
    missing = [Path(t) for t in team_dirs if not Path(t).is_dir() or not holds_submission(Path(t))]
    if not missing:
        return
    parents = sorted({p.parent for p in missing})
    known = sorted(
        f"{p}"
        for parent in parents
        if parent.is_dir()
        for p in parent.iterdir()
        if p.is_dir() and holds_submission(p)
    )
    shown = ", ".join(str(p) for p in missing)
    hint = f"teams there: {', '.join(known)}" if known else "use --all to score every team"
    raise HarnessError(
        f"no team folder with a model.py, checkpoint.pt or samples at {shown} ({hint})"
    )


def needed_sizes(runs_root: Path, team_dirs: Sequence[Path], run_id: str | None) -> list[int]:
    """The image sizes of the runs a round will score (teams without a usable run are skipped:
    their own rows will say why)."""
    sizes = set()
    for team_dir in team_dirs:
        try:
            config = runs.read_config(runs.find_run(runs_root, runs.team_name(team_dir), run_id))
            sizes.add(int(config["image_size"]))
        except (HarnessError, OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(sizes)


def pending_passes(scorer: Any, sizes: Sequence[int]) -> list[str]:
    """The one-time passes a round will make before its first row, each with its size in
    images: what is not in the cache yet (test features; train features when memorisation is
    measured; the label classifier when labels are)."""
    from harness.classes import CLASS_NAMES, NUM_CLASSES
    from harness.data import cache as data_cache
    from harness.scoring.label_fidelity import classifier_cached
    from harness.scoring.metrics.reference import reference_cached

    root = scorer.data_root
    out = []
    for size in sizes:
        splits = ["test", *(["train"] if scorer.settings.memorisation else [])]
        for split in splits:
            missing = [
                c
                for c in range(NUM_CLASSES)
                if not reference_cached(root, c, size, scorer.extractor, split=split)
            ]
            if missing:
                files = data.list_split(root, split)
                count = sum(len(files.files[c]) for c in missing)
                why = " for the memorisation check" if split == "train" else ""
                names = " and ".join(CLASS_NAMES[c] for c in missing)
                out.append(
                    f"Inception features of {count:,} {split} images{why} ({names}, {size}px)"
                )
        judge = scorer.label_judge
        device = getattr(judge, "device", None)
        if device is not None and not classifier_cached(root, size, device, judge.recipe):
            count = len(data_cache.cached_split(root, "train", size, progress=False).labels)
            out.append(f"the label classifier's training on {count:,} train images ({size}px)")
    return out


def prepare_references(scorer: Any, team_dirs: Sequence[Path], run_id: str | None) -> None:
    """Build (or load) the held-out references, the train references of the memorisation
    check, and the label judge, for every size needed, saying first which of these one-time
    passes are coming.

    A corrupt ``test`` image then stops the round with one error naming the file before any
    team is scored, instead of failing every team's row in turn; and the long passes happen
    up front, announced and with a measured ETA, not silently after the first team's sampling.
    """
    from harness.classes import NUM_CLASSES
    from harness.scoring.metrics.reference import class_reference

    sizes = needed_sizes(scorer.runs_root, team_dirs, run_id)
    coming = pending_passes(scorer, sizes)
    if coming:
        scorer.say(
            "one-time passes before the first row (cached afterwards; `harness prepare` makes "
            f"them ahead): {'; '.join(coming)}. Each shows images/s and the time left, "
            "measured from its first batches"
            + (
                "; --no-memorisation skips the train pass"
                if scorer.settings.memorisation and any("memorisation" in c for c in coming)
                else ""
            )
        )
    for size in sizes:
        scorer.references(size)
        if scorer.settings.memorisation:
            for c in range(NUM_CLASSES):
                class_reference(scorer.data_root, c, size, scorer.extractor, split="train")
        judge = getattr(scorer.label_judge, "judge", None)
        if callable(judge):
            judge(size)


def not_scored_message(team_dirs: Sequence[Path], why: str) -> str:
    """One line for a round cut short: which teams got no row, and how to score just them."""
    names = ", ".join(Path(t).name for t in team_dirs)
    command = " ".join(["harness score", *(str(t) for t in team_dirs)])
    return (
        f"{why}: {len(team_dirs)} team(s) not scored ({names}); the rows already scored are "
        f"saved; score the rest with `{command}` and the same options"
    )
