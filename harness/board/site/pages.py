"""One board row -> the pictures it needs on disk and the values its pages show.

:func:`team_context` writes a team's images under the site folder (thumbnail, sample grid per
class, latent walk, memorisation pairs, loss curves, history plot) and returns the values the
index row and the team page templates read. Every value is text already formatted, or None
for "not here", with a note saying why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness.board.cells import REFERENCE_LABEL, REFERENCE_MEMORISED, leaked, unprotected
from harness.board.references import REFERENCE_RANK
from harness.board.site import assets, views
from harness.board.site.history import plot_history, when
from harness.classes import CLASS_NAMES
from harness.scoring.score import STATUS_OK


@dataclass(frozen=True)
class Picture:
    """An image on a page: its path relative to the page, pixel size and alt text."""

    src: str
    width: int
    height: int
    alt: str


def team_context(
    record: dict[str, Any],
    *,
    slug: str,
    bar: views.ScoreBar | None,
    team_rows: pd.DataFrame,
    column: str,
    root: Path,
    runs_root: Path,
    submissions: Path,
    label: str | None = None,
    index_metrics: tuple[tuple[str, str, int, bool], ...] = views.PER_CLASS_INDEX,
    entries: tuple[int, str] | None = None,
    strips: Path | None = None,
) -> dict[str, Any]:
    """Write the team's pictures under ``root`` and return what its pages show.

    ``column`` is the score each row of ``team_rows`` shows in the history, ``label`` what the
    pages call it, ``index_metrics`` the per-class columns of the index, ``entries`` the
    team's submission count and latest submission time, ``strips`` the board's folder of
    sample strips, used where the run folder is not here."""
    team = views.text(record.get("team"))
    reference = str(record.get("rank")) == REFERENCE_RANK
    files = assets.find_team_files(
        record, runs_root=runs_root, submissions=submissions, strips=strips
    )
    if reference:  # no run to miss: say what the floor is instead
        files.notes = dict.fromkeys(files.notes, REFERENCE_NOTE)
        files.hints = {}
    elif leaked(record):
        _withhold_held_out(files)
    pictures = _write_pictures(files, team=team, slug=slug, root=root)
    history_size = plot_history(
        team_rows,
        score_column=column,
        best_index=record.get("_row"),
        out=root / "teams" / slug / "history.png",
        label=label or views.score_label(column),
    )
    history_plot = (
        Picture(f"{slug}/history.png", *history_size, f"{team}: score at each submission")
        if history_size
        else None
    )
    memorised = views.truthy(record.get("memorised"))
    if views.truthy(record.get("memorisation_measured")) is False:
        memorised = None  # scored with --no-memorisation: "not measured", never "no"
    count, last = entries or (0, views.BLANK)
    return {
        "team": team,
        "reference": reference,
        "reference_label": REFERENCE_LABEL if reference else "",
        "reference_memorised": REFERENCE_MEMORISED,
        "entries": f"{count:,}",
        "last": last,
        "chosen_by": views.text(record.get("chosen_by")),
        "public_score": views.number(record.get("score_public"), 1),
        "public_rank": views.text(record.get("public_rank")),
        "rank_change": views.text(record.get("rank_change")),
        "slug": slug,
        "rank": views.text(record.get("rank")),
        "ok": record.get("status") == STATUS_OK,
        "error": views.text(record.get("error")),
        "score": views.number(record.get(views.SCORE), 1),
        "ci": _interval(record),
        "bar": bar,
        "ahead": views.ahead(record.get("ahead_of_next")),
        "per_class": views.per_class(record, index_metrics),
        "per_class_detail": views.per_class(record, views.PER_CLASS_DETAIL),
        "memorised": memorised,
        "soft": unprotected(record),  # made under soft isolation: marked on the board
        "test_leak": leaked(record),  # samples sit on held-out images: a red badge
        "meta": _meta(record),
        "facts": _facts(record, column),
        "other_scores": _other_scores(record, column),
        **pictures,
        "samples_total": _scored_per_class(record, files.samples_total),
        "samples_from": files.samples_from,
        "history_plot": history_plot,
        "history": _history(team_rows, column),
        "hparams": _hparams(files.config),
        "notes": files.notes,
        "hints": files.hints,
    }


LEAK_WITHHELD = "withheld, because this row is a test leak: its samples are held-out test images"


def _withhold_held_out(files: assets.TeamFiles) -> None:
    """A test-leak row's samples (and the walk and nearest pairs drawn from them) are the
    held-out images: the public site does not publish them."""
    for key in ("samples", "walk", "nearest"):
        setattr(files, key, None)
        files.notes[key] = LEAK_WITHHELD
        files.hints.pop(key, None)


def _write_pictures(files: assets.TeamFiles, *, team: str, slug: str, root: Path) -> dict[str, Any]:
    """The team's thumbnail (on the index), its sample grid and walk per class, the
    memorisation pairs and loss curves (on its page), written under ``root``; None for each
    one that is not on this machine."""
    folder = root / "teams" / slug
    out: dict[str, Any] = dict.fromkeys(("thumb", "grids", "walk", "nearest", "losses"))
    if files.samples is not None:
        few = [a[: assets.THUMB_PER_CLASS] for a in files.samples]
        image = assets.tile(few, columns=assets.THUMB_PER_CLASS)
        size = assets.save_photo(image, root / "thumbs" / f"{slug}.webp")
        out["thumb"] = Picture(f"thumbs/{slug}.webp", *size, f"{team}: samples, a row per class")
        out["grids"] = []
        for label, (name, images) in enumerate(zip(CLASS_NAMES, files.samples, strict=True)):
            grid = assets.tile([images], columns=assets.GRID_COLUMNS)
            size = assets.save_photo(grid, folder / f"{name}.webp")
            alt = f"{team}: {len(images)} samples of class {label} = {name}"
            picture = Picture(f"{slug}/{name}.webp", *size, alt)
            out["grids"].append((label, name, len(images), picture))
    if files.walk is not None:
        out["walk"] = []
        for label, (name, images) in enumerate(zip(CLASS_NAMES, files.walk, strict=True)):
            strip = assets.tile([images], columns=len(images))
            size = assets.save_photo(strip, folder / f"walk-{name}.webp")
            alt = f"{team}: latent walk of class {label} = {name}"
            out["walk"].append((label, name, Picture(f"{slug}/walk-{name}.webp", *size, alt)))
    if files.nearest is not None:
        size = assets.reencode(files.nearest, folder / "nearest.webp", lossless=False)
        alt = f"{team}: samples beside their nearest training images"
        out["nearest"] = Picture(f"{slug}/nearest.webp", *size, alt)
    if files.loss_curves is not None:
        size = assets.reencode(files.loss_curves, folder / "losses.webp", lossless=True)
        out["losses"] = Picture(f"{slug}/losses.webp", *size, f"{team}: loss curves")
    return out


REFERENCE_NOTE = (
    "the real-data floor is real train photos drawn by harness real-floor, not a team's "
    "generator: it has no run, walk, losses or hyperparameters"
)


def _meta(record: dict[str, Any]) -> str:
    """The line under a team's name on the board: what it submitted and how long it trained."""
    if record.get("status") != STATUS_OK:
        return "not scored"
    if str(record.get("rank")) == REFERENCE_RANK:
        return REFERENCE_LABEL
    why = " ".join(views.text(record.get(k)) for k in ("error", "not_ranked_because"))
    if str(record.get("rank")) == "-" and why.strip(" —"):
        return "not ranked: " + why.replace(views.BLANK, "").strip()  # e.g. before the split
    parts = [views.text(record.get("source", "code"))]
    epochs = views.number(record.get("epochs_trained"), 0)
    if epochs != views.BLANK:
        parts.append(f"{epochs} epoch{'' if epochs == '1' else 's'}")
    return " · ".join(parts)


def _scored_per_class(record: dict[str, Any], in_file: int | None) -> str:
    """How many images per class were scored: the row's count, else the file's."""
    shown = views.number(record.get(f"n_fake_{CLASS_NAMES[0]}"), 0)
    if shown == views.BLANK and in_file is not None:
        shown = f"{in_file:,}"
    return shown


def _interval(record: dict[str, Any]) -> str:
    low, high = record.get("score_ci_low"), record.get("score_ci_high")
    if views.number(low, 1) == views.BLANK or views.number(high, 1) == views.BLANK:
        return ""
    return f"[{views.number(low, 1)}, {views.number(high, 1)}]"


def _facts(record: dict[str, Any], column: str) -> list[tuple[str, str]]:
    """The team page's summary: what was scored, when and how."""
    ema = views.truthy(record.get("used_ema"))
    checkpoint = views.text(record.get("checkpoint"))
    if ema is not None and checkpoint != views.BLANK:
        checkpoint += " (EMA generator)" if ema else " (generator, no EMA)"
    return [
        ("Source", views.text(record.get("source", "code"))),
        ("Submission", views.text(record.get("submission_id"))),
        ("Submitted", views.moment(record.get("submitted_at"))),
        ("Scored", views.moment(record.get("timestamp_utc"))),
        ("Run", views.text(record.get("run_id"))),
        ("Checkpoint", checkpoint),
        ("Epochs / steps trained", _pair(record, "epochs_trained", "steps_trained")),
        ("Trained on", views.text(record.get("train_device"))),
        ("Tuned parameters from", views.text(record.get("params_source"))),
        ("Submission commit", views.text(record.get("submission_commit"))),
    ]


def _pair(record: dict[str, Any], a: str, b: str) -> str:
    return f"{views.number(record.get(a), 0)} / {views.number(record.get(b), 0)}"


def _other_scores(record: dict[str, Any], column: str) -> list[tuple[str, str]]:
    """Numbers beside the ranking score that the board's part allows: its MiFID sum; on the
    whole-test board the overall FID, the bootstrap mean and the classifier's accuracy; on the
    final board the public score, the public rank and the change (the part view has dropped
    the rest)."""
    names = {
        "mifid": "MiFID, summed over the classes",
        "fid_overall": "FID, all samples vs all held-out reals",
        "bootstrap_mean": "Mean of the bootstrap replicates",
        "score_public": "Public score",
        "classifier_test_accuracy": "Label classifier's accuracy on held-out reals",
    }
    digits = {"classifier_test_accuracy": 3}
    out = [
        (label, views.number(record.get(key), digits.get(key, 1)))
        for key, label in names.items()
        if key in record and key != column
    ]
    texts = {
        "public_rank": "Public rank",
        "rank_change": "Places moved since the public board",
        "chosen_by": "Chosen by",
    }
    out += [(label, views.text(record.get(key))) for key, label in texts.items() if key in record]
    return out


def _history(rows: pd.DataFrame, column: str) -> list[dict[str, str]]:
    """Every submission of the team, newest first, failed ones with their error."""
    if rows.empty:
        return []
    ordered = rows.assign(_when=when(rows)).sort_values("_when", ascending=False)
    out = []
    for (_, row), shown in zip(ordered.iterrows(), _when_text(ordered), strict=True):
        record = row.to_dict()
        ok = record.get("status") == STATUS_OK
        out.append(
            {
                "when": shown,
                "id": views.text(record.get("submission_id", record.get("run_id"))),
                "source": views.text(record.get("source", "code")),
                "score": views.number(record.get(column), 1) if ok else views.BLANK,
                "status": "ok" if ok else f"failed: {views.text(record.get('error'))}",
            }
        )
    return out


def _when_text(rows: pd.DataFrame) -> list[str]:
    return [views.BLANK if pd.isna(t) else t.strftime("%Y-%m-%d %H:%M") for t in rows["_when"]]


def _hparams(config: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The run's hparams and training settings as (name, value) text pairs."""
    if not config:
        return []
    hparams = config.get("hparams") or {}
    if isinstance(hparams, str):
        try:
            hparams = json.loads(hparams)
        except ValueError:
            hparams = {"hparams": hparams}
    pairs = [(str(k), _short(v)) for k, v in dict(hparams).items()]
    pairs += [(k, _short(config[k])) for k in ("spec_name", "loss", "latent_dim") if k in config]
    pairs += [(str(k), _short(v)) for k, v in dict(config.get("train_config") or {}).items()]
    return pairs


def _short(value: Any, limit: int = 160) -> str:
    shown = value if isinstance(value, str) else json.dumps(value, default=str)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
