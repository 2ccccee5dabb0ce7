"""The board site in a real browser: headless Chromium, driven by Playwright, from disk.

Needs Debian's ``chromium`` and the ``playwright`` Python package (never ``playwright
install``: its browser download is not reachable from these machines). Where either is
missing the test is skipped with the reason, except when ``HARNESS_REQUIRE_BROWSER=1`` (set by
``.ci/run``), where a missing browser fails it: CI must run it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.board import leaderboard
from harness.board.site import write_site
from tests.board.site_fixture import Competition, make_competition

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


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Competition, Path]:
    competition = make_competition(tmp_path_factory.mktemp("competition"))
    root = tmp_path_factory.mktemp("published") / "site"
    write_site(
        root,
        leaderboard.read(competition.results),
        runs_root=competition.runs,
        submissions=competition.submissions,
    )
    return competition, root


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


@pytest.mark.parametrize("layout", sorted(WIDTHS))
def test_the_site_reads_in_a_browser(
    browser: Any, site: tuple[Competition, Path], layout: str, tmp_path: Path
) -> None:
    competition, root = site
    watched = Watched(browser, WIDTHS[layout])
    watched.open(root / "index.html")
    page = watched.page
    rows = page.eval_on_selector_all(
        "tr.team-row", "rows => rows.map(r => [r.dataset.rank, r.dataset.team])"
    )
    ranked = [*competition.by_public, competition.failed]
    assert rows == [[str(i + 1), t] for i, t in enumerate(competition.by_public)] + [
        ["-", competition.failed]
    ]
    images = watched.images()
    assert len(images) >= len(competition.by_public)  # a thumbnail per ranked team
    assert [src for src, width in images if width <= 0] == []
    assert watched.overflow() <= 0, "the board must not scroll sideways"
    page.screenshot(path=str(tmp_path / f"index-{WIDTHS[layout]}.png"), full_page=True)
    for team in ranked:
        page.click(f'a.team-link:text-is("{team}")')
        page.wait_for_load_state("load")
        assert page.url.endswith(f"/teams/{team}.html")
        assert page.inner_text("h1") == team
        assert [src for src, width in watched.images() if width <= 0] == [], team
        assert watched.overflow() <= 0, f"{team}'s page scrolls sideways"
        if team == competition.by_public[0]:
            page.screenshot(path=str(tmp_path / f"team-{WIDTHS[layout]}.png"), full_page=True)
        page.click("p.crumbs a")
        page.wait_for_load_state("load")
        assert page.url.endswith("/index.html")
    assert watched.problems == []
    assert (tmp_path / f"index-{WIDTHS[layout]}.png").stat().st_size > 10_000
    page.close()
