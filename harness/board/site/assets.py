"""A team's pictures for the site: found where the harness left them, written small.

For a board row the files come from its run folder (``<runs>/<team>/<run_id>/``): the scored
samples ``samples/samples-<checkpoint>-n<N>-seed<seed>.npz``, the latent walk
``samples/walk-*.npz`` (``harness sample --walk``), ``loss_curves.png``, ``config.json`` (the
hparams) and the memorisation check's nearest-pairs PNG. Where the run folder is not on this
machine (a clone of the board, a course page), the row's sample strip and, for a memorised row,
its nearest-training-image evidence come from ``strips/`` beside ``results.csv``
(:mod:`harness.scoring.strips`: scoring keeps them there, named by their content). A samples
submission has no run: its pictures come from ``<submissions>/<team>/samples.npz`` or
``samples/<class>/*.png`` when its row has no strip. Whatever
is missing is reported as a note for the page, never as an error: an organiser may publish a
board on a machine that holds only some of the runs.

Images are re-encoded as WebP (photos lossy, plots lossless) at their own pixel size, so five
teams' pages stay around a megabyte; the browser scales them up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from harness.classes import CLASS_NAMES, NUM_CLASSES
from harness.sandbox.safe_files import UnsafeFileError, entry_kind, plain_file_names, read_json
from harness.sandbox.safe_images import NpyHeader, read_npz, read_picture
from harness.scoring.strips import cut_strip, strip_names
from harness.training import runs

THUMB_PER_CLASS = 4
GRID_PER_CLASS = 32
GRID_COLUMNS = 8
PHOTO_QUALITY = 85
PNG_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
SAMPLES_MAX_BYTES = 512 * 2**20  # a samples file larger than this is not drawn on a page
STRIP_MAX_PIXELS = 4 * 2**20  # a strip declaring more pixels than this is not decoded


def nearest_pairs_image(run_dir: Path) -> Path | None:
    """The memorisation check's picture in a run folder: the newest PNG whose name contains
    ``nearest`` or ``memoris``. Competition mode (issue 14) writes it and owns its name; this
    looks for either word so the site needs no change when it lands."""
    run_dir = Path(run_dir)
    found = [
        p
        for p in run_dir.rglob("*.png")
        if ("nearest" in p.name.lower() or "memoris" in p.name.lower())
        and _plain(p, run_dir)  # no link leads a page out of the run
    ]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def _plain(path: Path, root: Path) -> bool:
    """Whether ``path`` is a plain file inside ``root``: no link on the way, one name."""
    return entry_kind(path, root=root) == "file" and os.lstat(path).st_nlink == 1


@dataclass
class TeamFiles:
    """What exists on this machine for one board row, and notes on what does not."""

    samples: list[np.ndarray] | None = None
    samples_total: int | None = None
    samples_from: str = ""
    walk: list[np.ndarray] | None = None
    walk_from: str = ""
    nearest: Path | None = None
    loss_curves: Path | None = None
    config: dict[str, Any] | None = None
    notes: dict[str, str] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)


def _row_text(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _accept_samples(headers: dict[str, NpyHeader]) -> int:
    images = headers["images"]
    if images.nbytes > SAMPLES_MAX_BYTES:
        raise ValueError(f"images declare {images.nbytes / 2**20:.0f} MiB, too many for a page")
    return images.nbytes + headers["labels"].nbytes


def read_class_arrays(
    path: Path, keep: int, root: Path | None = None
) -> tuple[list[np.ndarray], int]:
    """The first ``keep`` images of each class of a samples ``.npz`` and the count per class.

    Read through :mod:`harness.sandbox.safe_images` inside ``root`` (default: the file's
    folder): no link followed, headers checked before inflating.

    Raises:
        ValueError: the file is not a samples file (the caller turns this into a note).
    """
    try:
        arrays = read_npz(
            Path(path),
            root=root or Path(path).parent,
            keys=("images", "labels"),
            check=_accept_samples,
            max_file_bytes=SAMPLES_MAX_BYTES + 2**20,
        )
    except UnsafeFileError as exc:
        raise ValueError(str(exc)) from None
    images, labels = arrays["images"], arrays["labels"]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images are {images.dtype} {images.shape}, not uint8 [N, S, S, 3]")
    if labels.shape != (len(images),):
        raise ValueError("labels do not match the images")
    per_class = [images[labels == c] for c in range(NUM_CLASSES)]
    empty = [name for name, a in zip(CLASS_NAMES, per_class, strict=True) if not len(a)]
    if empty:
        raise ValueError(f"no images of {', '.join(empty)}")
    return [a[:keep] for a in per_class], min(len(a) for a in per_class)


def _read_png_folders(folder: Path, keep: int) -> tuple[list[np.ndarray], int]:
    """A samples submission's ``samples/<class>/*.png`` as arrays (the first ``keep``), read
    without following links out of the team folder and with each header checked first."""
    arrays, total = [], []
    team_dir = folder.parent
    for name in CLASS_NAMES:
        try:
            names = plain_file_names(folder / name, root=team_dir, limit=100_000)
        except UnsafeFileError as exc:
            raise ValueError(str(exc)) from None
        files = [folder / name / n for n in names if Path(n).suffix.lower() in PNG_SUFFIXES]
        total.append(len(files))
        with_pixels = []
        for path in files[:keep]:
            try:
                picture, _ = read_picture(path, root=team_dir, size=None, max_pixels=1024 * 1024)
            except UnsafeFileError as exc:
                raise ValueError(str(exc)) from None
            with_pixels.append(picture)
        if not with_pixels:
            raise ValueError(f"no images in {folder / name}")
        arrays.append(np.stack(with_pixels))
    return arrays, min(total)


def _scored_samples_file(row: dict[str, Any], run_dir: Path) -> Path | None:
    """The samples the row was scored on, by the name :mod:`harness.scoring.sample` gives
    them, else the run's newest samples file."""
    folder = run_dir / runs.SAMPLES
    checkpoint, n, seed = (
        _row_text(row, "checkpoint"),
        _row_text(row, "n_fake_with_mask"),
        _row_text(row, "sample_seed"),
    )
    exact = folder / f"samples-{Path(checkpoint).stem}-n{n}-seed{seed}.npz"
    if checkpoint and entry_kind(exact, root=run_dir) == "file":
        return exact
    if entry_kind(folder, root=run_dir) != "dir":
        return None
    found = sorted(
        (p for p in folder.glob("samples-*.npz") if entry_kind(p, root=run_dir) == "file"),
        key=lambda p: p.stat().st_mtime,
    )
    return found[-1] if found else None


def _walk_file(row: dict[str, Any], run_dir: Path) -> Path | None:
    """The run's latent walk from the row's checkpoint, else its newest walk."""
    folder = run_dir / runs.SAMPLES
    if entry_kind(folder, root=run_dir) != "dir":
        return None
    found = sorted(
        (p for p in folder.glob("walk-*.npz") if entry_kind(p, root=run_dir) == "file"),
        key=lambda p: p.stat().st_mtime,
    )
    stem = Path(_row_text(row, "checkpoint")).stem
    same = [p for p in found if stem and p.name.startswith(f"walk-{stem}-")]
    return (same or found or [None])[-1]


def _read_strip(path: Path, root: Path) -> tuple[list[np.ndarray], None]:
    """A sample strip's images per class, read through :mod:`harness.sandbox.safe_images`
    (no link followed, the header's size checked before decoding)."""
    try:
        pixels, _ = read_picture(path, root=root, size=None, max_pixels=STRIP_MAX_PIXELS)
    except UnsafeFileError as exc:
        raise ValueError(str(exc)) from None
    return cut_strip(pixels), None


def _from_strips(files: TeamFiles, row: dict[str, Any], strips: Path) -> bool:
    """Fill in the samples and memorisation evidence that the board's ``strips/`` folder
    keeps for ``row`` where the run folder gave none; whether the row names any strip."""
    sample_name, nearest_name = strip_names(row)
    if not (sample_name or nearest_name) or entry_kind(strips, root=strips.parent) != "dir":
        return False
    if files.samples is None and sample_name:
        path = strips / sample_name
        if _plain(path, strips):
            _load_samples(files, path, lambda: _read_strip(path, strips))
            files.samples_from = f"{strips.name}/{sample_name}"
        else:
            files.notes["samples"] = f"the board's {strips.name}/ folder lacks {sample_name}"
    if files.nearest is None and nearest_name and _plain(strips / nearest_name, strips):
        files.nearest = strips / nearest_name
    return True


def find_team_files(
    row: dict[str, Any], *, runs_root: Path, submissions: Path, strips: Path | None = None
) -> TeamFiles:
    """Look up what exists for ``row`` on this machine (its run folder first, then the
    board's ``strips`` folder, then a samples submission's team folder); each missing thing
    gets a note."""
    files = TeamFiles()
    team, run_id = _row_text(row, "team"), _row_text(row, "run_id")
    source = _row_text(row, "source") or "code"
    # Names from the table become paths only when they are plain names (no "..", no "/").
    safe = bool(runs.TEAM_NAME.match(team)) and Path(run_id).name == run_id and ".." not in run_id
    run_dir = Path(runs_root) / team / run_id if run_id and safe else None
    has_run = run_dir is not None and run_dir.is_dir()
    team_dir = Path(submissions) / team if safe else None
    if has_run:
        assert run_dir is not None
        samples_path = _scored_samples_file(row, run_dir)
        if samples_path is not None:
            _load_samples(
                files,
                samples_path,
                lambda: read_class_arrays(samples_path, GRID_PER_CLASS, run_dir),
            )
        walk_path = _walk_file(row, run_dir)
        if walk_path is not None:
            try:
                files.walk, _ = read_class_arrays(walk_path, 10_000, run_dir)
                files.walk_from = walk_path.name
            except (OSError, ValueError, KeyError) as exc:
                files.notes["walk"] = f"{walk_path.name} is unreadable ({exc})"
        files.nearest = nearest_pairs_image(run_dir)
        curves = run_dir / "loss_curves.png"
        files.loss_curves = curves if _plain(curves, run_dir) else None
        config_path = run_dir / runs.CONFIG
        if entry_kind(config_path, root=run_dir) != "missing":
            try:
                files.config = read_json(config_path, root=run_dir)
            except (OSError, ValueError, UnsafeFileError) as exc:
                files.notes["hparams"] = f"{config_path.name} is unreadable ({exc})"
    stripped = strips is not None and _from_strips(files, row, Path(strips))
    if stripped and files.nearest is None and "nearest" not in files.notes:
        files.notes["nearest"] = (
            "not memorised: the nearest training images travel with the board only for rows "
            "flagged as memorised"
            if _flag(row.get("memorised")) is False
            else "the board keeps no nearest-training-image picture for this row"
        )
    if files.samples is None and team_dir is not None:
        path, folder = team_dir / "samples.npz", team_dir / "samples"
        if entry_kind(path, root=team_dir) == "file":
            _load_samples(files, path, lambda: read_class_arrays(path, GRID_PER_CLASS, team_dir))
        elif entry_kind(folder, root=team_dir) == "dir":
            _load_samples(files, folder, lambda: _read_png_folders(folder, GRID_PER_CLASS))
    if files.samples is None and _flag(row.get("reference")):
        files.notes.setdefault(
            "samples",
            "the real-data floor's pictures are training photos; `harness real-floor` keeps "
            "them in strips/ beside results.csv on the machine that holds the data",
        )
    _note_missing(files, source=source, has_run=has_run, run_id=run_id, team=team)
    return files


def _flag(value: Any) -> bool | None:
    """A flag cell as True, False or None (missing), however the table typed it."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return None


def _load_samples(files: TeamFiles, path: Path, read: Any) -> None:
    try:
        files.samples, files.samples_total = read()
        files.samples_from = path.name
    except (OSError, ValueError, KeyError) as exc:
        files.notes["samples"] = f"{path.name} is unreadable ({exc})"


def _note_missing(files: TeamFiles, *, source: str, has_run: bool, run_id: str, team: str) -> None:
    """Say, for each picture a page wants and does not have, why it is not there."""
    by_kind = {
        "samples": {
            "walk": "a samples submission has no generator to walk",
            "losses": "a samples submission was trained elsewhere: no loss curves",
            "hparams": "a samples submission has no hparams",
        },
        "checkpoint": {"losses": "trained on the team's own machine: no loss curves here"},
    }.get(source, {})
    absent = (
        f"run {run_id} is not on the machine that made this site"
        if run_id
        else "the folder it was scored in is not on the machine that made this site"
    )
    in_run = {
        "samples": f"run {run_id} holds no samples file",
        "walk": "no latent walk yet; this command draws one:",
        "nearest": "this row was scored without the memorisation check",
        "losses": "the run has no loss_curves.png",
        "hparams": "the run has no config.json",
    }
    present = {
        "samples": files.samples is not None,
        "walk": files.walk is not None,
        "nearest": files.nearest is not None,
        "losses": files.loss_curves is not None,
        "hparams": files.config is not None,
    }
    for key, found in present.items():
        if not found and key not in files.notes:
            files.notes[key] = by_kind.get(key) or (in_run[key] if has_run else absent)
    if has_run and files.walk is None and "walk" not in by_kind:
        files.hints["walk"] = f"harness sample submissions/{team} --run {run_id} --walk"


def tile(rows: list[np.ndarray], *, columns: int, gap: int = 2) -> Image.Image:
    """Lay out uint8 ``[k, S, S, 3]`` arrays as one image, ``columns`` per line, white gaps."""
    import torch
    from torchvision.utils import make_grid

    images = np.concatenate(rows)
    tensor = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
    grid = make_grid(tensor, nrow=columns, padding=gap, pad_value=255)
    return Image.fromarray(grid.permute(1, 2, 0).numpy())


def save_photo(image: Image.Image, path: Path) -> tuple[int, int]:
    """Write a picture of faces as lossy WebP; returns its pixel size for the page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image.convert("RGB").save(path, format="WEBP", quality=PHOTO_QUALITY, method=4)
    return image.size


def reencode(source: Path, path: Path, *, lossless: bool, max_width: int = 960) -> tuple[int, int]:
    """Re-encode a picture the harness drew elsewhere (loss curves: ``lossless``; a contact
    sheet of faces: lossy) as WebP, no wider than ``max_width``; returns its pixel size."""
    picture = Image.fromarray(read_picture(source, root=Path(source).parent, size=None)[0])
    if picture.width > max_width:
        height = round(picture.height * max_width / picture.width)
        picture = picture.resize((max_width, height), Image.Resampling.LANCZOS)
    path.parent.mkdir(parents=True, exist_ok=True)
    if lossless:
        picture.save(path, format="WEBP", lossless=True, method=4)
    else:
        picture.save(path, format="WEBP", quality=PHOTO_QUALITY, method=4)
    return picture.size
