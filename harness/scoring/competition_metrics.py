"""The competition's columns of a row, from the features the row's FID already used.

A submission's fakes go through Inception once (:class:`harness.scoring.score.Scorer`); what
this module adds works from those features and from cached real features, with no further
pass over the fakes:

- **public / private**: with a split (``harness data split``), every figure that compares the
  fakes with the test reals again for each part of ``test``, from the rows of the same cached
  real features that the whole-test figures used: the per-class FID and its sum
  (``fid_public_<class>``, ``score_public``, ...), the sum's 95% bootstrap interval
  (``score_public_ci_low/high``), KID (``kid_public_<class>``), MiFID per class
  (``mifid_public_<class>``) and PRDC (``coverage_private_<class>``, ...), so that each board
  shows its own part's numbers only; the headline ``score`` stays the whole test set;
- **memorisation**: per class, Kaggle's MiFID against the ``train`` images of that class,
  whose features are computed once and cached like the test references; a PNG pairs the 8
  fakes nearest to a training image with that image, the evidence a person checks;
- **fidelity and diversity**: precision, recall, density and coverage (k = 5) against the
  test reals, and against each part alone for the public and the final board;
- **test leak**: each sample's distance to the nearest held-out image, in the test features
  the FID used (:mod:`harness.scoring.metrics.test_leak`); ``test_leak`` and the share of
  samples that sit on held-out images go in the row, the nearest pairs only into a PNG under
  the held-out cache, which the organiser sees and teams and the public site never do.

Every column is a constant here, so the board and the rows agree on names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.classes import CLASS_NAMES, NUM_CLASSES
from harness.errors import NumericalError
from harness.scoring.metrics import memorisation as memo
from harness.scoring.metrics import test_leak as leak
from harness.scoring.metrics.prdc import DEFAULT_K, KEYS, prdc

KEY_SCORE_PUBLIC = "score_public"
KEY_SCORE_PRIVATE = "score_private"
KEY_MIFID = "mifid"
KEY_MIFID_PUBLIC = "mifid_public"
KEY_MIFID_PRIVATE = "mifid_private"
KEY_MEMORISED = "memorised"
KEY_MEMORISATION_MEASURED = "memorisation_measured"
KEY_SPLIT = "split_digest"
KEY_TEST_LEAK = "test_leak"
KEY_TEST_LEAK_FRACTION = "test_leak_fraction"
NEAREST_SHOWN = 8


@dataclass(frozen=True)
class Options:
    """Which of the competition's metrics to compute, and their parameters.

    Attributes:
        public_private: split FID by the public/private assignment when there is one.
        memorisation: compute MiFID against the ``train`` features (one pass over every
            train image the first time, then cached; ``harness prepare`` does it ahead).
        prdc: compute precision, recall, density and coverage.
        eps: MiFID's threshold on the mean cosine distance (default 0.1).
        k: neighbours for PRDC (default 5).
        bootstrap: replicates of each part's score interval (0: none), as the whole-test one.
        kid_subsets, kid_subset_size: each part's KID, as the whole-test one (0 subsets: none).
        seed: the seed of the resampling (the sample seed, as for the whole test set).
        leak_threshold, leak_fraction: the test-leak rule (:mod:`.metrics.test_leak`).
    """

    public_private: bool = True
    memorisation: bool = True
    prdc: bool = True
    eps: float = memo.DEFAULT_EPS
    k: int = DEFAULT_K
    bootstrap: int = 0
    kid_subsets: int = 0
    kid_subset_size: int = 1000
    seed: int = 0
    leak_threshold: float = leak.DEFAULT_THRESHOLD
    leak_fraction: float = leak.DEFAULT_MIN_FRACTION


def part_fids(fake: np.ndarray, real: np.ndarray, masks: Sequence[np.ndarray]) -> list[float]:
    """FID of one class's fakes against each subset ``real[mask]`` of its real features.

    With centred features ``X1`` (``n1 x d``) and ``X2`` (``n2 x d``), the covariance product
    ``S1 S2 = X1^T X1 X2^T X2 / c`` (``c = (n1 - 1)(n2 - 1)``) has the non-zero eigenvalues of
    ``M M^T / c`` with ``M = X1 X2^T``, so ``tr (S1 S2)^(1/2)`` is the sum of ``M``'s singular
    values over ``sqrt(c)``. For 1,000 fakes and 425 reals that is one 1,000 x 425 product and
    its SVD, instead of a general matrix square root at 2,048 dims (minutes on 2 CPU cores).
    Exact, not approximate: a test holds it equal to :func:`frechet_distance`.
    """
    fake = np.asarray(fake, np.float64)
    mu_fake = fake.mean(axis=0)
    x1 = fake - mu_fake
    trace_fake = float((x1 * x1).sum() / (len(fake) - 1))
    out = []
    for mask in masks:
        part = np.asarray(real, np.float64)[mask]
        if len(part) < 2:
            raise NumericalError(f"FID needs at least two real images, got {len(part)}")
        mu_part = part.mean(axis=0)
        x2 = part - mu_part
        trace_part = float((x2 * x2).sum() / (len(part) - 1))
        singular = np.linalg.svd(x1 @ x2.T, compute_uv=False)
        root_trace = singular.sum() / np.sqrt((len(fake) - 1) * (len(part) - 1))
        diff = mu_fake - mu_part
        out.append(float(diff @ diff + trace_fake + trace_part - 2 * root_trace))
    return out


def public_private_columns(
    fakes: Sequence[np.ndarray], reals: Sequence[np.ndarray], public: Sequence[np.ndarray]
) -> dict[str, Any]:
    """``score_public``, ``score_private`` and their per-class FIDs and real counts."""
    row: dict[str, Any] = {}
    per_class = [part_fids(fakes[c], reals[c], [public[c], ~public[c]]) for c in range(NUM_CLASSES)]
    for index, (part, masks) in enumerate((("public", public), ("private", [~m for m in public]))):
        fids = [per_class[c][index] for c in range(NUM_CLASSES)]
        for c, name in enumerate(CLASS_NAMES):
            row[f"fid_{part}_{name}"] = fids[c]
            row[f"n_real_{part}_{name}"] = int(masks[c].sum())
        row[f"score_{part}"] = sum(fids)
    return row


PARTS: tuple[str, ...] = ("public", "private")


def part_interval_columns(
    fakes: Sequence[np.ndarray],
    reals: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    *,
    part: str,
    score: float,
    replicates: int,
    seed: int,
) -> dict[str, Any]:
    """``score_<part>_ci_low/high``: the 95% bootstrap interval of a part's score, computed as
    the whole-test one (the fakes resampled, the reals fixed, centred on the estimate), against
    each class's reals ``reals[c][masks[c]]`` given by their features
    (:meth:`~harness.scoring.metrics.fid.FastFrechet.of_features`: no covariance at 2,048 dims)."""
    from harness.scoring.metrics import fid as fidlib

    references = [
        fidlib.FastFrechet.of_features(np.asarray(r)[m]) for r, m in zip(reals, masks, strict=True)
    ]
    values = fidlib.bootstrap_score(fakes, references, replicates=replicates, seed=seed)
    low, high = fidlib.centred_interval(score, values)
    return {f"score_{part}_ci_low": low, f"score_{part}_ci_high": high}


def part_kid_columns(
    fakes: Sequence[np.ndarray],
    reals: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    *,
    part: str,
    subsets: int,
    subset_size: int,
    seed: int,
) -> dict[str, Any]:
    """``kid_<part>_<class>``: KID against one part's reals, as the whole-test KID."""
    from harness.scoring.metrics import fid as fidlib

    return {
        f"kid_{part}_{name}": fidlib.kid(
            fakes[c], np.asarray(reals[c])[masks[c]], subsets=subsets, subset_size=subset_size,
            seed=seed,
        )[0]
        for c, name in enumerate(CLASS_NAMES)
    }  # fmt: skip


def memorisation_columns(
    nearest: Sequence[memo.Nearest], fids: dict[str, Sequence[float]], eps: float
) -> dict[str, Any]:
    """``memorisation_<class>`` (d), ``mifid_<class>``, ``memorised`` and the MiFID sums.

    ``fids`` maps a part ("" for the whole test set, "public", "private") to its per-class
    FIDs; each gets its MiFID per class (``mifid_<class>``, ``mifid_public_<class>``, ...)
    and its sum (``mifid``, ``mifid_public``, ``mifid_private``).
    """
    row: dict[str, Any] = {"memorisation_eps": eps}
    d = [n.mean for n in nearest]
    for c, name in enumerate(CLASS_NAMES):
        row[f"memorisation_{name}"] = d[c]
    for part, values in fids.items():
        mifids = [memo.mifid(values[c], d[c], eps) for c in range(NUM_CLASSES)]
        for c, name in enumerate(CLASS_NAMES):
            row[f"mifid_{part}_{name}" if part else f"mifid_{name}"] = mifids[c]
        row[KEY_MIFID if not part else f"mifid_{part}"] = sum(mifids)
    row[KEY_MEMORISED] = bool(any(value < eps for value in d))
    return row


def prdc_columns(
    fakes: Sequence[np.ndarray], reals: Sequence[np.ndarray], k: int, suffix: str = ""
) -> dict[str, Any]:
    """``precision_<class>``, ``recall_...``, ``density_...``, ``coverage_...`` (with
    ``suffix``, e.g. ``_public``, before the class name)."""
    row: dict[str, Any] = {}
    for c, name in enumerate(CLASS_NAMES):
        values = prdc(reals[c], fakes[c], k)
        for key in KEYS:
            row[f"{key}{suffix}_{name}"] = values[key]
    return row


class CompetitionMetrics:
    """The competition's columns for each row a :class:`Scorer` makes.

    Args:
        data_root: the dataset (its ``train`` split for memorisation, its split file).
        extractor: a callable returning the scorer's Inception extractor (built lazily).
        options: which metrics, with which parameters.
        say: progress messages.
    """

    def __init__(
        self,
        data_root: Path,
        extractor: Callable[[], Any],
        options: Options = Options(),
        say: Callable[[str], None] = print,
    ) -> None:
        self.data_root = Path(data_root)
        self.extractor = extractor
        self.options = options
        self.say = say
        self._split: Any = None
        self._split_loaded = False

    @property
    def split(self) -> Any:
        """The dataset's public/private assignment, or None (loaded once)."""
        if not self._split_loaded:
            from harness.data.split import load_split

            self._split = load_split(self.data_root) if self.options.public_private else None
            self._split_loaded = True
        return self._split

    def test_names(self) -> list[list[str]]:
        """File names of each class of ``test``, in the order of the cached real features."""
        from harness.data.layout import list_split

        files = list_split(self.data_root, "test")
        return [[p.name for p in files.files[c]] for c in range(NUM_CLASSES)]

    def columns(
        self,
        team: str,
        samples: Any,
        fakes: Sequence[np.ndarray],
        references: Sequence[Any],
        fids: Sequence[float],
        submission_id: str = "",
    ) -> dict[str, Any]:
        """Every competition column of one row, from the fakes' features ``fakes`` (per class),
        the test references and the whole-test per-class FIDs; ``submission_id`` names the
        test-leak evidence file."""
        o = self.options
        reals = [r.features for r in references]
        row: dict[str, Any] = {KEY_SPLIT: ""}
        part_values: dict[str, Sequence[float]] = {"": fids}
        public_masks = None
        if self.split is not None:
            names = self.test_names()
            public_masks = [self.split.public_mask(c, names[c]) for c in range(NUM_CLASSES)]
            parts = public_private_columns(fakes, reals, public_masks)
            row.update(parts)
            row[KEY_SPLIT] = self.split.digest
            for part in PARTS:
                part_values[part] = [parts[f"fid_{part}_{name}"] for name in CLASS_NAMES]
            row.update(self._part_spread(team, fakes, reals, public_masks, parts))
        # Recorded either way, so that a board shows "not measured", never "not memorised",
        # for a row scored with --no-memorisation (its `memorised` stays blank).
        row[KEY_MEMORISATION_MEASURED] = o.memorisation
        train = None
        if o.memorisation:
            memorised, train = self._memorisation(team, samples, fakes, part_values)
            row.update(memorised)
        row.update(self._test_leak(team, samples, fakes, reals, train, submission_id))
        if o.prdc:
            self.say(f"{team}: precision, recall, density, coverage (k = {o.k}) ...")
            row["prdc_k"] = o.k
            parts = [("", reals)]
            if public_masks is not None:
                parts.append(("_public", [r[m] for r, m in zip(reals, public_masks, strict=True)]))
                parts.append(
                    ("_private", [r[~m] for r, m in zip(reals, public_masks, strict=True)])
                )
            for suffix, part in parts:
                try:
                    row.update(prdc_columns(fakes, part, o.k, suffix))
                except NumericalError as exc:  # too few samples: blank columns, said aloud
                    self.say(f"{team}: no precision/recall/density/coverage{suffix}: {exc}")
        return row

    def _part_spread(
        self,
        team: str,
        fakes: Sequence[np.ndarray],
        reals: Sequence[np.ndarray],
        public_masks: Sequence[np.ndarray],
        parts: dict[str, Any],
    ) -> dict[str, Any]:
        """Each part's KID and score interval, when the whole test set gets them."""
        o = self.options
        row: dict[str, Any] = {}
        for part in PARTS:
            masks = [m if part == "public" else ~m for m in public_masks]
            try:
                if o.kid_subsets:
                    row.update(
                        part_kid_columns(
                            fakes, reals, masks, part=part, subsets=o.kid_subsets,
                            subset_size=o.kid_subset_size, seed=o.seed,
                        )
                    )  # fmt: skip
                if o.bootstrap:
                    row.update(
                        part_interval_columns(
                            fakes, reals, masks, part=part, score=parts[f"score_{part}"],
                            replicates=o.bootstrap, seed=o.seed,
                        )
                    )  # fmt: skip
            except NumericalError as exc:  # too few reals in a part: blank columns, said aloud
                self.say(f"{team}: no {part} KID or interval: {exc}")
        return row

    def _memorisation(
        self,
        team: str,
        samples: Any,
        fakes: Sequence[np.ndarray],
        part_values: dict[str, Sequence[float]],
    ) -> tuple[dict[str, Any], list[np.ndarray]]:
        """The memorisation columns and the train features they were measured against."""
        from harness.data import cache as data_cache
        from harness.scoring.metrics.reference import class_reference
        from harness.scoring.nearest_grid import save_nearest_grid

        size = int(samples.images.shape[1])
        train = [
            class_reference(self.data_root, c, size, self.extractor(), split="train")
            for c in range(NUM_CLASSES)
        ]
        nearest = [memo.nearest_train(fakes[c], train[c].features) for c in range(NUM_CLASSES)]
        row = memorisation_columns(nearest, part_values, self.options.eps)
        for c, name in enumerate(CLASS_NAMES):
            row[f"n_train_{name}"] = len(train[c].features)
            row[f"train_stats_{name}"] = train[c].digest
        train_images = data_cache.cached_split(self.data_root, "train", size)
        # Beside the samples when the harness wrote them, else in the submission's work folder:
        # never into a team's own folder.
        source, work = Path(samples.path), Path(samples.run_dir)
        folder = source.parent if source.parent.is_relative_to(work) else work
        path = folder / f"{source.stem}-nearest-train.png"
        save_nearest_grid(
            path,
            fakes=[samples.of_class(c) for c in range(NUM_CLASSES)],
            train=[train_images.of_class(c) for c in range(NUM_CLASSES)],
            nearest=nearest,
            shown=NEAREST_SHOWN,
            title=f"{team}: the {NEAREST_SHOWN} samples nearest to a training image (below each)",
        )
        row["memorisation_grid"] = str(path)
        flagged = [n for n in CLASS_NAMES if row[f"memorisation_{n}"] < self.options.eps]
        if flagged:
            self.say(
                f"{team}: MEMORISED: {', '.join(flagged)} samples lie within cosine distance "
                f"{self.options.eps} of training images on average; see {path}"
            )
        return row, [t.features for t in train]

    def _test_leak(
        self,
        team: str,
        samples: Any,
        fakes: Sequence[np.ndarray],
        reals: Sequence[np.ndarray],
        train: Sequence[np.ndarray] | None,
        submission_id: str,
    ) -> dict[str, Any]:
        """``test_leak`` and ``test_leak_fraction``; when any sample sits on a held-out image,
        the nearest pairs go into a PNG under the held-out cache, named to the organiser only
        (a line that does not start with the team's name, which a team's job log keeps)."""
        o = self.options
        found = leak.check(
            fakes, reals, train, threshold=o.leak_threshold, min_fraction=o.leak_fraction
        )
        row: dict[str, Any] = {
            KEY_TEST_LEAK: found.leaked,
            KEY_TEST_LEAK_FRACTION: found.fraction,
        }
        if not found.n_counted:
            return row
        from harness.scoring.test_leak_evidence import save_evidence

        path = save_evidence(
            self.data_root, team, submission_id, samples, found, shown=NEAREST_SHOWN
        )
        what = (
            f"{found.n_counted} of {found.n_samples} samples sit on held-out test images "
            f"(cosine distance under {o.leak_threshold})"
        )
        if found.leaked:
            self.say(f"{team}: TEST LEAK: {what}; the submission is flagged test_leak")
        else:  # not told to the team: it would say how much alteration escapes the check
            self.say(
                f"organiser: {team}: {what}, under the {o.leak_fraction:.0%} that flags a test leak"
            )
        self.say(f"organiser: test-leak evidence of {team} (held-out images, keep private): {path}")
        return row
