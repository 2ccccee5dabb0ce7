"""What a team handed in, and the samples the harness scores from it.

A team folder holds one of three kinds of submission, recorded in the row as ``source``:

- ``code``: ``model.py`` alone; the organiser trains it (``harness train``) and the latest
  trained run is sampled, as before competitions;
- ``checkpoint``: ``model.py`` plus ``checkpoint.pt`` from ``harness export`` on the team's
  own machine; the harness samples it in a child without training (the parent never opens
  the file; the child reads it with ``weights_only=True``);
- ``samples``: ``samples.npz`` (``images`` uint8 ``[N, S, S, 3]``, ``labels`` int64 ``[N]``)
  or ``samples/with_mask/*.png`` and ``samples/without_mask/*.png``, with no code at all;
  exactly N per class at the competition's image size.

A folder holding more than one kind is scored from the one that leaves the least to trust:
a checkpoint first (the harness draws the samples itself, with the shared seed), then
samples (no training needed), then code; the row's ``source_note`` says which and why.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness import atomic
from harness.classes import CLASS_NAMES, NUM_CLASSES
from harness.errors import HarnessError, SampleError
from harness.sandbox.runner import Limits
from harness.sandbox.safe_files import (
    UnsafeFileError,
    entry_kind,
    open_plain,
    opened,
    plain_file_names,
    refuse_links_in,
    require_plain,
)
from harness.training import runs

CODE = "code"
CHECKPOINT = "checkpoint"
SAMPLES = "samples"
KINDS: tuple[str, ...] = (CODE, CHECKPOINT, SAMPLES)
MODEL_FILE = "model.py"
CHECKPOINT_FILE = "checkpoint.pt"
SAMPLES_FILE = "samples.npz"
SAMPLES_FOLDER = "samples"
HANDED_IN = "handed-in"  # runs/<team>/handed-in/<digest>/: samples and evidence of a submission
PNG_SUFFIXES = (".png", ".jpg", ".jpeg")
ID_LETTERS = "abcdefghjkmnpqrstuvwxyz"
ID_ALPHABET = ID_LETTERS + "23456789"


def new_submission_id() -> str:
    """A short id to type in ``harness select``: 8 characters, starting with a letter (so that
    no reader takes it for a number), without look-alikes (0/o, 1/l/i)."""
    return secrets.choice(ID_LETTERS) + "".join(secrets.choice(ID_ALPHABET) for _ in range(7))


@dataclass(frozen=True)
class Submission:
    """A team folder and the kind of submission the harness will score from it."""

    team: str
    folder: Path
    kind: str
    note: str = ""


def holds_submission(folder: Path) -> bool:
    """Whether ``folder`` holds anything of a submission (``model.py``, ``checkpoint.pt``,
    ``samples.npz``, ``samples/``); :func:`detect` then says what, or what is missing. A link
    in one of those names counts, so that :func:`detect` refuses it in the team's row."""
    folder = Path(folder)
    return any(
        entry_kind(folder / name, root=folder) != "missing"
        for name in (MODEL_FILE, CHECKPOINT_FILE, SAMPLES_FILE, SAMPLES_FOLDER)
    )


def _kind(folder: Path, team: str, name: str, want: str) -> bool:
    """Whether ``name`` in the team folder is there as a ``want`` (file or dir); a link there
    is refused with one line, never followed."""
    kind = entry_kind(folder / name, root=folder)
    if kind == "link":
        raise UnsafeFileError(
            f"{team}: {name} is a symbolic link; the harness follows no link in a team folder "
            f"(see docs/guide/handing-in-safely.md): put the {'folder' if want == 'dir' else 'file'} "
            "itself there"
        )
    return kind == want


def detect(team_dir: Path) -> Submission:
    """The kind of submission a team folder holds, and a note when it held more than one.

    Raises:
        HarnessError: the folder holds nothing scorable, a checkpoint without the model.py
            that builds it, or both ``samples.npz`` and ``samples/``.
    """
    folder = Path(team_dir)
    team = runs.team_name(folder)
    code = _kind(folder, team, MODEL_FILE, "file")
    ckpt = _kind(folder, team, CHECKPOINT_FILE, "file")
    npz = _kind(folder, team, SAMPLES_FILE, "file")
    pngs = _kind(folder, team, SAMPLES_FOLDER, "dir")
    refuse_links_in(folder, label=team)
    if npz and pngs:
        raise HarnessError(
            f"{team}: {folder} holds both {SAMPLES_FILE} and {SAMPLES_FOLDER}/; keep one of them"
        )
    samples_name = SAMPLES_FILE if npz else f"{SAMPLES_FOLDER}/"
    if ckpt and not code:
        raise HarnessError(
            f"{team}: {folder} holds {CHECKPOINT_FILE} but no {MODEL_FILE}; a checkpoint "
            f"needs the {MODEL_FILE} that builds its generator"
        )
    if ckpt:
        note = ""
        if npz or pngs:
            note = (
                f"scored {CHECKPOINT_FILE}, not {samples_name}: the harness draws its own samples "
                f"from a checkpoint with the shared seed; remove {CHECKPOINT_FILE} to be scored "
                f"on {samples_name}"
            )
        return Submission(team, folder, CHECKPOINT, note)
    if npz or pngs:
        note = ""
        if code:
            note = (
                f"scored {samples_name}, not a trained run of {MODEL_FILE}: samples need no "
                f"training; remove {samples_name} to be scored from a trained run"
            )
        return Submission(team, folder, SAMPLES, note)
    if code:
        return Submission(team, folder, CODE)
    raise HarnessError(
        f"{team}: {folder} holds no {MODEL_FILE}, {CHECKPOINT_FILE}, {SAMPLES_FILE} or "
        f"{SAMPLES_FOLDER}/; nothing to score"
    )


@dataclass(frozen=True)
class Drawn:
    """Checked samples of a submission and the row fields that say where they came from."""

    samples: Any  # harness.scoring.sample.SampleSet
    row: dict[str, Any] = field(default_factory=dict)


def _work_dir(runs_root: Path, team: str, digest: str) -> Path:
    folder = Path(runs_root) / team / HANDED_IN / digest[:16]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def draw(
    sub: Submission,
    *,
    runs_root: Path,
    data_root: Path,
    run_id: str | None,
    n_per_class: int,
    seed: int,
    device: str,
    limits: Limits,
    forbidden: list[str],
    samples_size: int,
    say: Callable[[str], None],
) -> Drawn:
    """The submission's samples, drawn (code, checkpoint) or loaded (samples), and checked."""
    if sub.note:
        say(f"{sub.team}: {sub.note}")
    if sub.kind == CODE:
        return _draw_code(sub, runs_root, run_id, n_per_class, seed, device, limits, forbidden, say)
    if run_id:
        say(f"{sub.team}: --run {run_id} ignored: a {sub.kind} submission has no run here")
    if sub.kind == CHECKPOINT:
        drawn = _draw_checkpoint(sub, runs_root, n_per_class, seed, device, limits, forbidden, say)
        from harness.data.layout import split_fingerprint

        trained_on = drawn.row.get("checkpoint_data_fingerprint")
        drawn.row["checkpoint_data_matches"] = trained_on == split_fingerprint(data_root, "train")
        return drawn
    return _load_samples(sub, runs_root, n_per_class, samples_size, say)


def _draw_code(
    sub: Submission,
    runs_root: Path,
    run_id: str | None,
    n_per_class: int,
    seed: int,
    device: str,
    limits: Limits,
    forbidden: list[str],
    say: Callable[[str], None],
) -> Drawn:
    from harness.scoring.sample import sample_team

    run_dir = runs.find_run(runs_root, sub.team, run_id)
    config = runs.read_config(run_dir)
    say(f"{sub.team}: sampling {n_per_class} images per class from run {run_dir.name} ...")
    samples = sample_team(
        sub.folder,
        runs_root=runs_root,
        run_id=run_dir.name,
        n_per_class=n_per_class,
        seed=seed,
        device=device,
        limits=limits,
        forbidden=forbidden,
    )
    train_config = config.get("train_config", {})
    return Drawn(
        samples,
        {
            "run_id": run_dir.name,
            "train_seed": train_config.get("seed"),
            "epochs_trained": config.get("epochs_done"),
            "steps_trained": config.get("steps_done"),
            "checkpoint": samples.checkpoint,
            "used_ema": samples.used_ema,
            "train_device": config.get("device"),
            "submission_commit": config.get("submission_commit"),
            "train_isolation": config.get("isolation"),
            "params_source": _describe_source(config.get("params_source")),
        },
    )


def _draw_checkpoint(
    sub: Submission,
    runs_root: Path,
    n_per_class: int,
    seed: int,
    device: str,
    limits: Limits,
    forbidden: list[str],
    say: Callable[[str], None],
) -> Drawn:
    from harness.scoring.sample import sample_checkpoint

    path = require_plain(sub.folder / CHECKPOINT_FILE, root=sub.folder)  # bound as it is
    digest = _digest(path, sub.folder)  # hashing reads bytes; nothing here unpickles them
    work = _work_dir(runs_root, sub.team, digest)
    say(f"{sub.team}: sampling {n_per_class} images per class from its {CHECKPOINT_FILE} ...")
    samples = sample_checkpoint(
        sub.folder,
        path,
        out=work / f"samples-n{n_per_class}-seed{seed}.npz",
        work_dir=work,
        n_per_class=n_per_class,
        seed=seed,
        device=device,
        limits=limits,
        forbidden=forbidden,
        exported=True,
    )
    meta = samples.meta
    return Drawn(
        samples,
        {
            "run_id": meta.get("run_id"),
            "train_seed": meta.get("train_seed"),
            "epochs_trained": meta.get("epochs_done"),
            "steps_trained": meta.get("steps_done"),
            "checkpoint": CHECKPOINT_FILE,
            "used_ema": samples.used_ema,
            "train_device": meta.get("train_device"),
            "submission_commit": meta.get("submission_commit"),
            "submission_sha256": digest,
            "checkpoint_spec_name": meta.get("spec_name"),
            "checkpoint_harness_version": meta.get("harness_version"),
            "checkpoint_data_fingerprint": meta.get("data_fingerprint_train"),
        },
    )


def _digest(path: Path, root: Path) -> str:
    """SHA-256 of a handed-in file, read without following a link (in chunks: no size cap)."""
    digest = hashlib.sha256()
    with opened(path, root=root, max_bytes=None) as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _folder_arrays(
    team_dir: Path, team: str, n_per_class: int, size: int
) -> tuple[np.ndarray, np.ndarray, str]:
    """Images, labels and digest of ``samples/<class>/*.png``; every fault named with its file.

    Each picture is opened without following links, and its header size is checked against
    the competition's before it is decoded (a 144-megapixel PNG costs a header read).
    """
    from harness.sandbox.safe_images import read_picture

    images, labels = [], []
    digest = hashlib.sha256()
    for label, name in enumerate(CLASS_NAMES):
        sub = team_dir / SAMPLES_FOLDER / name
        kind = entry_kind(sub, root=team_dir)
        if kind == "link":
            raise UnsafeFileError(
                f"{team}: {SAMPLES_FOLDER}/{name} is a symbolic link; put the folder itself there"
            )
        names = (
            [
                n
                for n in plain_file_names(sub, root=team_dir, limit=4 * n_per_class + 64)
                if Path(n).suffix.lower() in PNG_SUFFIXES
            ]
            if kind == "dir"
            else []
        )
        if len(names) != n_per_class:
            raise SampleError(
                f"{team}: {SAMPLES_FOLDER}/{name} holds {len(names)} images, expected "
                f"{n_per_class} per class (n_per_class)"
            )
        for file_name in names:
            where = f"{SAMPLES_FOLDER}/{name}/{file_name}"

            def wrong_size(found: tuple[int, int], where: str = where) -> str:
                return (
                    f"{team}: {where} is {found[0]} x {found[1]}; this competition takes "
                    f"{size} x {size} (image_size)"
                )

            try:
                array, data = read_picture(
                    sub / file_name, root=team_dir, size=size, describe=wrong_size
                )
            except UnsafeFileError as exc:
                raise UnsafeFileError(f"{team}: {exc}") from None
            except ValueError as exc:
                if str(exc).startswith(f"{team}: "):
                    raise SampleError(str(exc)) from None
                raise SampleError(f"{team}: {where} is not a readable image") from None
            digest.update(f"{name}/{file_name}\t{hashlib.sha256(data).hexdigest()}\n".encode())
            images.append(array)
            labels.append(label)
    return np.stack(images), np.asarray(labels, dtype=np.int64), digest.hexdigest()


def _npz_size_check(path: Path, team: str, size: int, root: Path) -> None:
    """Name a wrong image size in the competition's terms before the generic checks run;
    only the member's header is read."""
    from harness.sandbox.safe_images import npz_headers

    try:
        headers = npz_headers(path, root=root, keys=("images",), max_file_bytes=None)
    except (OSError, ValueError, KeyError):
        return  # check_samples names an unreadable file
    shape = headers["images"].shape
    if len(shape) == 4 and tuple(shape[1:3]) != (size, size):
        raise SampleError(
            f"{team}: {SAMPLES_FILE} holds {shape[2]} x {shape[1]} images; this competition "
            f"takes {size} x {size} (image_size)"
        )


def _load_samples(
    sub: Submission, runs_root: Path, n_per_class: int, size: int, say: Callable[[str], None]
) -> Drawn:
    from harness.scoring.sample import SampleSet, check_samples, npz_budget

    npz = sub.folder / SAMPLES_FILE
    if _kind(sub.folder, sub.team, SAMPLES_FILE, "file"):
        cap = npz_budget(n_per_class * NUM_CLASSES, size)
        os.close(open_plain(npz, root=sub.folder, max_bytes=cap))  # a size beyond any fit: no hash
        digest = _digest(npz, sub.folder)
        work = _work_dir(runs_root, sub.team, digest)
        _npz_size_check(npz, sub.team, size, sub.folder)
        path, root = npz, sub.folder
    else:
        images, labels, digest = _folder_arrays(sub.folder, sub.team, n_per_class, size)
        work = _work_dir(runs_root, sub.team, digest)
        path, root = work / SAMPLES_FILE, work
        atomic.write_with(path, lambda handle: np.savez(handle, images=images, labels=labels))
    say(f"{sub.team}: loading its {n_per_class} samples per class from {path.name} ...")
    images, labels = check_samples(
        path, n_per_class=n_per_class, size=size, team=sub.team, root=root
    )
    order = np.argsort(labels, kind="stable")  # class 0 first, as drawn samples are
    samples = SampleSet(
        images=images[order],
        labels=labels[order],
        path=path,
        run_dir=work,
        checkpoint="",
        used_ema=False,
        seed=-1,
    )
    from harness.training import grids

    rows = [samples.of_class(c)[:8] for c in range(NUM_CLASSES)]
    grids.save_grid(
        work / "samples.png", rows, title=f"{sub.team}: handed-in samples", scale=max(1, 64 // size)
    )
    return Drawn(samples, {"sample_seed": None, "submission_sha256": digest})


def _describe_source(source: Any) -> str:
    if not source:
        return ""
    if isinstance(source, dict):
        return ", ".join(f"{k}={v}" for k, v in source.items())
    return str(source)
