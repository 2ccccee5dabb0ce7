"""The board site in a real browser: headless Chromium, driven by Playwright, from disk.

The public and the final board, each at 1280 and 390 px, every page of each: no page scrolls
sideways and no table is cut at the side, every image loads, every link leads to a file of the
site, nothing is fetched from the network, and no private number is on a public page. One
browser serves every case (launched once per module), so the whole file takes seconds.

Needs Debian's ``chromium`` and the ``playwright`` Python package (never ``playwright
install``: its browser download is not reachable from these machines). Where either is
missing the test is skipped with the reason, except when ``HARNESS_REQUIRE_BROWSER=1`` (set by
``.ci/run``), where a missing browser fails it: CI must run it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

from harness.board import leaderboard
from harness.board.site import write_site
from tests.board.site_fixture import PRIVATE_MARK, PRIVATE_SHOWN, Competition, make_competition

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTHS = {"desktop": 1280, "phone": 390}


def chromium_path() -> str | None:
    """``$HARNESS_CHROMIUM``, else Debian's ``chromium`` on the PATH."""
    found = os.environ.get("HARNESS_CHROMIUM") or shutil.which("chromium")
    return found if found and os.access(found, os.X_OK) else None


def browser_or_skip() -> str:
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install playwright)")
    path = chromium_path()
    if path is None:
        missing.append("Chromium (apt-get install -y chromium)")
    if missing:
        reason = "the browser test needs " + " and ".join(missing)
        if os.environ.get("HARNESS_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + "; HARNESS_REQUIRE_BROWSER=1 says this machine must have them")
        pytest.skip(reason)
    assert path is not None
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@dataclass(frozen=True)
class Sites:
    """The public and the final board of one competition, as ``write_site`` wrote them."""

    competition: Competition
    public: Path  # each site's index page, as the build returned it
    final: Path


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Sites:
    competition = make_competition(tmp_path_factory.mktemp("competition"))
    root = tmp_path_factory.mktemp("published")
    table = leaderboard.read(competition.results)
    built = {
        private: write_site(
            root / ("final" if private else "public") / "site",
            table,
            runs_root=competition.runs,
            submissions=competition.submissions,
            private=private,
        ).index
        for private in (False, True)
    }
    return Sites(competition, public=built[False], final=built[True])


class Watched:
    """A page whose console errors, page errors, failed and off-disk requests are collected."""

    def __init__(self, browser: Any, width: int) -> None:
        self.problems: list[str] = []
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.page.on(
            "console",
            lambda m: (
                self.problems.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        self.page.on(
            "request",
            lambda r: None if r.url.startswith("file://") else self.problems.append(r.url),
        )

    def open(self, path: Path) -> None:
        self.page.goto(path.resolve().as_uri(), wait_until="load")

    def images(self) -> list[tuple[str, int]]:
        return self.page.eval_on_selector_all(
            "img", "imgs => imgs.map(i => [i.getAttribute('src'), i.complete ? i.naturalWidth : 0])"
        )

    def overflow(self) -> int:
        """How far the page is wider than the window (0: no sideways scrolling)."""
        return self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )

    def links(self) -> list[str]:
        """Every link's target, resolved against the page."""
        return self.page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")

    def too_wide(self) -> list[str]:
        """Tables (and their wrappers) whose content is cut at the side, by class name."""
        return self.page.eval_on_selector_all(
            "table.history, table.detail",
            "ts => ts.filter(t => t.scrollWidth > t.parentElement.clientWidth + 1)"
            ".map(t => t.className)",
        )


def missing_targets(links: list[str]) -> list[str]:
    """The links that leave the disk, or lead to a file that is not there."""
    out = []
    for link in links:
        parsed = urlparse(link)
        if parsed.scheme != "file" or not Path(unquote(parsed.path)).is_file():
            out.append(link)
    return out


def check_page(watched: Watched, path: Path, *, public: bool) -> list[str]:
    """Open ``path`` and return what is wrong with it, and the pages it links to."""
    watched.open(path)
    name = f"{path.parent.name}/{path.name}"
    broken = [src for src, width in watched.images() if width <= 0]
    assert broken == [], f"{name}: images that did not load"
    links = watched.links()
    assert missing_targets(links) == [], f"{name}: links to nothing"
    assert watched.overflow() <= 0, f"{name} scrolls sideways"
    assert watched.too_wide() == [], f"{name}: a table is cut at the side"
    if public:
        text = watched.page.inner_text("body")
        assert PRIVATE_MARK.decode() not in text and PRIVATE_SHOWN not in text, name
    return links


@pytest.mark.parametrize("board", ["public", "final"])
@pytest.mark.parametrize("layout", sorted(WIDTHS))
def test_the_site_reads_in_a_browser(
    browser: Any, sites: Sites, board: str, layout: str, tmp_path: Path
) -> None:
    competition, public = sites.competition, board == "public"
    index = sites.public if public else sites.final
    watched = Watched(browser, WIDTHS[layout])
    links = check_page(watched, index, public=public)
    page = watched.page
    rows = page.eval_on_selector_all(
        "tr.team-row", "rows => rows.map(r => [r.dataset.rank, r.dataset.team])"
    )
    teams = [team for _, team in rows]
    assert sorted(teams) == sorted([*competition.by_public, competition.failed])
    if public:
        assert rows == [[str(i + 1), t] for i, t in enumerate(competition.by_public)] + [
            ["-", competition.failed]
        ]
        thumbs = [src for src, _ in watched.images() if "thumbs/" in (src or "")]
        assert len(thumbs) == len(competition.by_public)  # each shown run's samples are here
    page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
    assert (tmp_path / "index.png").stat().st_size > 10_000
    team_pages = sorted({unquote(urlparse(a).path) for a in links if "/teams/" in a})
    assert len(team_pages) == len(teams)
    for team_page in team_pages:
        back = check_page(watched, Path(team_page), public=public)
        assert page.inner_text("h1") == Path(team_page).stem
        assert index.resolve().as_uri() in back  # the way back to the board
    assert watched.problems == []
    page.close()
