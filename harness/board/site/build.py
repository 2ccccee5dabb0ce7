"""``harness leaderboard --html SITE_DIR``: the board as a static site people look at.

The site is plain HTML and one stylesheet (no JavaScript, no web fonts, nothing fetched), so
it opens from disk and can be published as it is (a course page, GitHub Pages): ``index.html``
ranks the teams on the public board with a thumbnail of each one's samples, and
``teams/<team>.html`` shows one team's samples, latent walk, memorisation evidence, losses,
history and hparams. Built with ``private`` (the organiser, after the deadline), the same site
also holds the final board in ``final/`` (``final/index.html``, ``final/teams/<team>.html``);
tabs link the two. Each board shows its own part's numbers only (:mod:`harness.board.parts`).

The site is written into a temporary folder beside ``SITE_DIR`` and swapped in at the end, so
a failure leaves the previous site whole; a folder that holds anything this command did not
write is refused rather than replaced.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from harness import atomic
from harness.board.site import pages as team_pages
from harness.board.site import views
from harness.classes import CLASS_NAMES
from harness.errors import HarnessError

MARKER = ".harness-site"
STYLESHEET = "style.css"
FINAL = "final"


@dataclass(frozen=True)
class Board:
    """One board of the site: its folder (``""``: the site's root), the rows it draws each
    team's history from, its rows as :func:`views.select_board` gives them, and whether it
    is the final board."""

    folder: str
    table: pd.DataFrame
    rows: pd.DataFrame
    column: str
    private: bool
    all_runs: bool = False

    @property
    def shown_by(self) -> str:
        """Which submissions the board shows, in a sentence."""
        if self.private:
            return (
                "Each team is shown by the best private score among the submissions it "
                "selected, or among its best public ones when it selected none (chosen by)."
            )
        if self.all_runs:
            return "Every scored submission is shown, each on its own row."
        return "Each team is shown by its best submission."

    @property
    def title(self) -> str:
        return "Final board (private scores)" if self.private else "Public board"


@dataclass(frozen=True)
class SiteSummary:
    """What was written: the index page, one page per team, and the site's size in bytes."""

    index: Path
    team_pages: list[Path]
    size_bytes: int


def write_site(
    site_dir: Path,
    table: pd.DataFrame,
    *,
    runs_root: Path,
    submissions: Path,
    private: bool = False,
    source_label: str = "results.csv",
    selections: Mapping[str, Sequence[str]] | None = None,
    final_selections: int = 2,
    metric: str = "score",
    all_runs: bool = False,
    strips: Path | None = None,
) -> SiteSummary:
    """Write the board of ``table`` (rows as ``results.csv`` holds them) as a static site.

    Args:
        site_dir: the folder to write; new, empty, or a site this function wrote before.
        table: every scored row; each team's best row is shown, all rows feed its history.
        runs_root: where run folders are (samples, walks, losses, hparams).
        submissions: where team folders are (a samples submission's pictures).
        private: also write the final board, private numbers included, into ``final/``; the
            public board (the index) is always written, from the table without any column
            whose name contains ``private``.
        source_label: how the footer names the table.
        selections, final_selections: the teams' selected submissions and K, for the final
            board (the same rule as ``harness leaderboard --private``).
        metric, all_runs: as ``harness leaderboard --metric/--all-runs`` (``all_runs`` shapes
            the public board only, as it does at the terminal).
        strips: the board's ``strips/`` folder (beside results.csv): each row's sample strip
            and memorisation evidence, shown where the row's run folder is not on this machine.

    Raises:
        HarnessError: ``site_dir`` is a file or holds files this function did not write; the
            final board of rows never scored with a split.
    """
    site_dir = Path(site_dir)
    _check_target(site_dir)
    table = table.reset_index(drop=True)
    public = views.drop_private(table)
    boards = [
        Board(
            "",
            public,
            *views.select_board(public, private=False, metric=metric, all_runs=all_runs),
            private=False,
            all_runs=all_runs,
        )
    ]
    if private:
        final = views.select_board(
            table,
            private=True,
            selections=selections,
            final_selections=final_selections,
            metric=metric,
        )
        boards.append(Board(FINAL, table, *final, private=True))
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.", dir=site_dir.parent))
    try:
        with atomic.disk_full_as_error(site_dir):  # a full disk: one line, the old site intact
            os.chmod(tmp, 0o777 & ~_umask())
            pages = []
            for shown in boards:
                pages += _render_all(
                    tmp,
                    shown,
                    metric=metric,
                    tabs=[(b.title, b.folder) for b in boards],
                    runs_root=Path(runs_root),
                    submissions=Path(submissions),
                    source=source_label,
                    strips=Path(strips) if strips is not None else None,
                )
            shutil.copyfile(_template_dir() / STYLESHEET, tmp / STYLESHEET)
            (tmp / MARKER).write_text("written by `harness leaderboard --html`; safe to replace\n")
            size = sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file())
            _swap(tmp, site_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SiteSummary(
        index=site_dir / "index.html",
        team_pages=[site_dir / p.relative_to(tmp) for p in pages],
        size_bytes=size,
    )


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _check_target(site_dir: Path) -> None:
    if site_dir.exists() and not site_dir.is_dir():
        raise HarnessError(f"--html {site_dir} is a file; give a folder for the site")
    if site_dir.is_dir() and any(site_dir.iterdir()) and not (site_dir / MARKER).is_file():
        raise HarnessError(
            f"--html {site_dir} holds files that `harness leaderboard --html` did not write; "
            "give a new or empty folder (nothing was changed)"
        )


def _swap(tmp: Path, site_dir: Path) -> None:
    """Put the new site in place; the old one is removed only once the new one is there."""
    old = None
    if site_dir.exists():
        old = site_dir.with_name(f".{site_dir.name}.old-{os.getpid()}")
        os.rename(site_dir, old)
    os.rename(tmp, site_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("harness.board.site", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _slug(team: str, used: set[str]) -> str:
    """A file name for the team's page: its name when safe, else a cleaned one, unique."""
    base = re.sub(r"[^A-Za-z0-9_.-]", "-", str(team)).lstrip(".-") or "team"
    slug, n = base, 1
    while slug.lower() in used:
        n += 1
        slug = f"{base}-{n}"
    used.add(slug.lower())
    return slug


def _render_all(
    site: Path,
    shown: Board,
    *,
    metric: str,
    tabs: list[tuple[str, str]],
    runs_root: Path,
    submissions: Path,
    source: str,
    strips: Path | None = None,
) -> list[Path]:
    """Write one board's team pictures and pages, then its index; returns the team pages."""
    from harness.board.boards import board_part
    from harness.board.parts import MISSING_NOTE, own_part

    env = _environment()
    root = site / shown.folder if shown.folder else site
    up = "../" if shown.folder else ""  # from the board's index to the site's root
    board, column = shown.rows, shown.column
    part = board_part(shown.table, private=shown.private)
    keep = ("score_public",) if shown.private else ()
    history = own_part(shown.table, part, keep=keep)  # each team's rows, its part's numbers
    value = "mifid" if metric == "mifid" else views.SCORE
    bars, scale = views.score_bars(board)
    index_metrics = views.index_metrics(metric)
    common = {
        "board_kind": shown.title,
        "private": shown.private,
        "score_label": views.score_label(column),
        "protocol": views.protocol(board),
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "source": source,
        "classes": list(enumerate(CLASS_NAMES)),
        "per_class_index": index_metrics,
        "blank_note": MISSING_NOTE[part],
        "has_interval": metric == views.SCORE,
        "shown_by": shown.shown_by,
    }
    counts = views.entries(shown.table)
    teams, pages, used = [], [], set()
    records = board.to_dict("records") if len(board) else []
    for record, bar in zip(records, bars, strict=True):
        slug = _slug(record.get("team"), used)
        team_rows = history[history["team"] == record.get("team")]
        context = team_pages.team_context(
            record,
            slug=slug,
            bar=bar,
            team_rows=team_rows,
            column=value,
            root=root,
            runs_root=runs_root,
            submissions=submissions,
            label=views.score_label(column),
            index_metrics=index_metrics,
            entries=counts.get(str(record.get("team"))),
            strips=strips,
        )
        teams.append(context)
        page = root / "teams" / f"{slug}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        html = env.get_template("team.html").render(
            **common,
            t=context,
            css=f"../{up}{STYLESHEET}",
            home="../index.html",
            tabs=_tabs(tabs, shown.folder, f"../{up}"),
        )
        page.write_text(html, encoding="utf-8")
        pages.append(page)
    index = env.get_template("index.html").render(
        **common,
        teams=teams,
        scale_text="" if math.isnan(scale[0]) else f"{scale[0]:,.0f} to {scale[1]:,.0f}",
        css=f"{up}{STYLESHEET}",
        home="index.html",
        tabs=_tabs(tabs, shown.folder, up),
    )
    (root / "index.html").write_text(index, encoding="utf-8")
    return pages


def _tabs(tabs: list[tuple[str, str]], current: str, up: str) -> list[dict[str, Any]]:
    """The links between the boards, relative to a page ``up`` below the site's root."""
    return [
        {
            "title": title,
            "href": f"{up}{folder + '/' if folder else ''}index.html",
            "current": folder == current,
        }
        for title, folder in tabs
    ]


def _template_dir() -> Path:
    return Path(__file__).parent / "templates"
