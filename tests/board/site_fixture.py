"""A small competition on disk for the site tests: rows, run folders and a samples team.

Five ranked teams and one that only failed. Four teams submitted code and have run folders
(scored samples, loss curves, config; some a latent walk or the memorisation pairs); ``echo``
handed in samples only and is flagged as memorised. Every row carries competition-mode columns
(public/private scores, PRDC, MiFID), and every private number starts with ``1337.4`` so a
test can look for it in every file of a site.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from harness.board import leaderboard
from harness.classes import CLASS_NAMES
from harness.data.demo import draw_face

PRIVATE_MARK = b"1337.4"
PRIVATE_SHOWN = "1,337.4"
SIZE = 64
N = 40  # samples per class in each scored file (the site shows at most 32)


@dataclass(frozen=True)
class Competition:
    results: Path
    runs: Path
    submissions: Path
    by_score: list[str]  # ranked teams, by the whole-test score
    by_public: list[str]
    by_private: list[str]
    failed: str


def faces(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy cartoon faces per class (GAN-like texture, so the images do not compress
    better than real samples would), class 0 first."""
    rng = np.random.default_rng(seed)
    images = []
    for label in range(len(CLASS_NAMES)):
        for _ in range(n):
            face = np.asarray(draw_face(rng, SIZE, masked=label == 0), dtype=np.float32)
            noisy = face + rng.normal(0, 18, face.shape)
            images.append(noisy.clip(0, 255).astype(np.uint8))
    return np.stack(images), np.repeat(np.arange(len(CLASS_NAMES), dtype=np.int64), n)


def save_npz(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, images=images, labels=labels)


def make_run(runs: Path, team: str, run_id: str, seed: int, *, walk: bool, nearest: bool) -> None:
    """A run folder as training and scoring leave it."""
    from harness.training import grids, plots

    run = runs / team / run_id
    save_npz(run / "samples" / f"samples-epoch-0010-n{N}-seed0.npz", *faces(seed, N))
    if walk:
        save_npz(run / "samples" / "walk-epoch-0010-seed0-1-steps10.npz", *faces(seed + 100, 10))
    if nearest:
        images, _ = faces(seed + 200, 8)
        grids.save_grid(run / "score" / "nearest-train-pairs.png", [images[:8], images[8:]])
    rng = np.random.default_rng(seed)
    with open(run / "metrics.jsonl", "w") as handle:
        for step in range(0, 400, 10):
            record = {"kind": "step", "step": step, "loss_d": 1.2 + rng.normal(0, 0.1)}
            record["loss_g"] = 0.9 + rng.normal(0, 0.2)
            handle.write(json.dumps(record) + "\n")
    plots.plot_losses(run / "metrics.jsonl", run / "loss_curves.png", title=f"{team} {run_id}")
    config = {
        "spec_name": f"{team} conditional DCGAN",
        "loss": "bce",
        "latent_dim": 100,
        "image_size": SIZE,
        "hparams": {"g_width": 64, "d_width": 64, "note": "<script>alert('x')</script>"},
        "train_config": {"epochs": 10, "batch_size": 128, "lr_g": 0.0002, "lr_d": 0.0002},
    }
    (run / "config.json").write_text(json.dumps(config))


def row(
    team: str, run_id: str | None, when: str, score: float, public: float, private: float
) -> dict:
    """A full competition-mode row (``private`` must start with 1337.4)."""
    out = {
        "timestamp_utc": when,
        "submitted_at": when,
        "team": team,
        "run_id": run_id,
        "submission_id": f"{team}-{when[:10]}",
        "source": "code",
        "status": "ok",
        "error": "",
        "score": score,
        "score_ci_low": score - 2.5,
        "score_ci_high": score + 2.5,
        "score_public": public,
        "score_public_ci_low": public - 3.0,
        "score_public_ci_high": public + 3.0,
        "score_private": private,
        "fid_private_with_mask": private / 2,
        "fid_private_without_mask": private / 2,
        "fid_public_with_mask": public / 2 - 1,
        "fid_public_without_mask": public / 2 + 1,
        "bootstrap_replicates": 100,
        "fid_overall": score * 0.45,
        "image_size": SIZE,
        "real_resizer": "center-square-crop+pil-bicubic-antialias",
        "extractor": "pytorch-fid-0.3.0 InceptionV3 pool3",
        "dims": 2048,
        "weights_sha256": "f91d46f51c1d0e89ac64aca12f454bffa6bbd67c98b3e38a9325073e58bcce4c",
        "data_fingerprint_test": "82b945c4f50942044930cd3ff158a5538f2b1d66",
        "split_digest": "s5e1ec7ed5e1ec7ed",
        "sample_seed": 0,
        "epochs_trained": 10,
        "steps_trained": 770,
        "checkpoint": "epoch-0010.pt",
        "used_ema": True,
        "memorised": False,
    }
    for c, name in enumerate(CLASS_NAMES):
        out |= {
            f"fid_{name}": score / 2 + c,
            f"kid_{name}": 0.2 + c / 100,
            f"label_fidelity_{name}": 0.9,
            f"precision_{name}": 0.61,
            f"recall_{name}": 0.22,
            f"density_{name}": 0.8,
            f"coverage_{name}": 0.41,
            f"memorisation_{name}": 0.3,
            f"mifid_{name}": score / 2 + c,
            f"n_fake_{name}": N,
            f"n_real_{name}": 850 + 59 * c,
        }
    return out


def make_competition(base: Path) -> Competition:
    """Write the rows, run folders and team folders under ``base``."""
    runs, submissions = base / "runs", base / "submissions"
    spec = [  # team, score, public, private, walk, nearest
        ("alpha", 300.0, 320.0, 1337.405, True, True),
        ("bravo", 350.0, 310.0, 1337.420, True, False),
        ("charlie", 400.0, 400.0, 1337.430, True, False),
        ("delta", 450.0, 460.0, 1337.440, False, False),
    ]
    rows = []
    for k, (team, score, public, private, walk, nearest) in enumerate(spec):
        first, second = "2026-01-01T10:00:00+00:00", "2026-01-02T10:00:00+00:00"
        rows.append(row(team, "20260101-000000", first, score + 80, public + 80, private))
        make_run(runs, team, "20260102-000000", seed=k, walk=walk, nearest=nearest)
        rows.append(row(team, "20260102-000000", second, score, public, private + 0.005))
    rows.append(
        {
            "timestamp_utc": "2026-01-02T09:00:00+00:00",
            "team": "delta",
            "status": "failed",
            "error": "delta: the generator produced NaN or infinite values for with_mask",
        }
    )
    echo = row("echo", None, "2026-01-03T10:00:00+00:00", 500.0, 330.0, 1337.401)
    echo |= {"source": "samples", "memorised": True, "epochs_trained": float("nan")}
    echo |= {f"memorisation_{name}": 0.03 for name in CLASS_NAMES}
    rows.append(echo)
    save_npz(submissions / "echo" / "samples.npz", *faces(99, N))
    rows.append(
        {
            "timestamp_utc": "2026-01-03T11:00:00+00:00",
            "team": "foxtrot",
            "status": "failed",
            "error": "team foxtrot has no trained run under runs",
        }
    )
    results = base / "leaderboard" / "results.csv"
    leaderboard.append_rows(rows, results)
    return Competition(
        results=results,
        runs=runs,
        submissions=submissions,
        by_score=["alpha", "bravo", "charlie", "delta", "echo"],
        by_public=["bravo", "alpha", "echo", "charlie", "delta"],
        by_private=["echo", "alpha", "bravo", "charlie", "delta"],
        failed="foxtrot",
    )


def site_files(site: Path) -> list[Path]:
    """Every file of a written site."""
    return sorted(p for p in site.rglob("*") if p.is_file())


def png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size
