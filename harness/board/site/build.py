"""``harness leaderboard --html SITE_DIR``: the board as a static site people look at.

The site is plain HTML and one stylesheet (no JavaScript, no web fonts, nothing fetched), so
it opens from disk and can be published as it is (a course page, GitHub Pages): ``index.html``
ranks the teams with a thumbnail of each one's samples, and ``teams/<team>.html`` shows one
team's samples, latent walk, memorisation evidence, losses, history and hparams.

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
    strips: Path | None = None,
) -> SiteSummary:
    """Write the board of ``table`` (rows as ``results.csv`` holds them) as a static site.

    Args:
        site_dir: the folder to write; new, empty, or a site this function wrote before.
        table: every scored row; each team's best row is shown, all rows feed its history.
        runs_root: where run folders are (samples, walks, losses, hparams).
        submissions: where team folders are (a samples submission's pictures).
        private: the final board, private numbers included; by default the public board,
            from which every column whose name contains ``private`` is dropped first.
        source_label: how the footer names the table.
        selections, final_selections: the teams' selected submissions and K, for the final
            board (the same rule as ``harness leaderboard --private``).
        strips: the board's ``strips/`` folder (beside results.csv): each row's sample strip
            and memorisation evidence, shown where the row's run folder is not on this machine.

    Raises:
        HarnessError: ``site_dir`` is a file or holds files this function did not write.
    """
    site_dir = Path(site_dir)
    _check_target(site_dir)
    table = table.reset_index(drop=True)
    if not private:
        table = views.drop_private(table)
    board, column = views.select_board(
        table, private=private, selections=selections, final_selections=final_selections
    )
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.", dir=site_dir.parent))
    try:
        with atomic.disk_full_as_error(site_dir):  # a full disk: one line, the old site intact
            os.chmod(tmp, 0o777 & ~_umask())
            pages = _render_all(
                tmp,
                table,
                board,
                column,
                private=private,
                runs_root=Path(runs_root),
                submissions=Path(submissions),
                source=source_label,
                strips=Path(strips) if strips is not None else None,
            )
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
    root: Path,
    table: pd.DataFrame,
    board: pd.DataFrame,
    column: str,
    *,
    private: bool,
    runs_root: Path,
    submissions: Path,
    source: str,
    strips: Path | None = None,
) -> list[Path]:
    """Write every team's pictures and page, then the index; returns the team pages."""
    env = _environment()
    bars, scale = views.score_bars(board)
    common = {
        "board_kind": "Final board (private scores)" if private else "Public board",
        "private": private,
        "score_label": views.score_label(column),
        "protocol": views.protocol(board),
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "source": source,
        "classes": list(enumerate(CLASS_NAMES)),
        "per_class_index": views.PER_CLASS_INDEX,
    }
    teams, pages, used = [], [], set()
    records = board.to_dict("records") if len(board) else []
    for record, bar in zip(records, bars, strict=True):
        slug = _slug(record.get("team"), used)
        team_rows = table[table["team"] == record.get("team")]
        context = team_pages.team_context(
            record,
            slug=slug,
            bar=bar,
            team_rows=team_rows,
            column=column,
            root=root,
            runs_root=runs_root,
            submissions=submissions,
            strips=strips,
        )
        teams.append(context)
        page = root / "teams" / f"{slug}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        html = env.get_template("team.html").render(
            **common, t=context, css=f"../{STYLESHEET}", home="../index.html"
        )
        page.write_text(html, encoding="utf-8")
        pages.append(page)
    index = env.get_template("index.html").render(
        **common,
        teams=teams,
        scale_text="" if math.isnan(scale[0]) else f"{scale[0]:,.0f} to {scale[1]:,.0f}",
        css=STYLESHEET,
        home="index.html",
    )
    (root / "index.html").write_text(index, encoding="utf-8")
    shutil.copyfile(_template_dir() / STYLESHEET, root / STYLESHEET)
    return pages


def _template_dir() -> Path:
    return Path(__file__).parent / "templates"
