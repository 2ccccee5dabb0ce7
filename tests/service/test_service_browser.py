"""The whole round in a real browser (headless Chromium through Playwright), against ``harness
serve`` on loopback with one real worker.

The organiser signs in and adds two teams on the organiser's page (reading each token from the
page, as a person would); team A signs in, uploads a samples.npz, sees it queued, then scored,
then on the board, marked as its own; team B uploads an archive that fails and reads the reason;
team A selects its submission; after the deadline (a restart with the deadline passed) the
organiser publishes the final board and both teams open it. Every page is checked at 1280 and
390 px for sideways scrolling. ``HARNESS_SCREENSHOTS=DIR`` also saves the team's and the
organiser's page at both widths there (how docs/service/ was made).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.service import store, tokens
from tests.board.test_site_browser import CHROMIUM_FLAGS, WIDTHS, browser_or_skip
from tests.service.conftest import World, make_world, write_samples
from tests.service.test_service_pages import _broken_archive


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def loop_world(tmp_path: Path, served_data: Path) -> Iterator[World]:
    (tmp_path / "state").mkdir()
    made = make_world(tmp_path, served_data, None, "daily_submissions = 5\nfinal_selections = 1\n")
    yield made
    made.stop_all()


def _page(browser: Any, width: int) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900})
    return context.new_page()


def _sign_in(page: Any, url: str, token: str) -> None:
    page.goto(url + "/signin")
    page.fill("#token", token)
    page.click("form[action='/signin'] button")


def _fits(page: Any, what: str) -> None:
    over = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert over <= 0, f"{what} scrolls sideways by {over} px"


def _reload_until(page: Any, text: str, timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        page.reload()
        body = str(page.content())
        if text in body:
            return body
        time.sleep(0.5)
    raise AssertionError(f"{text!r} never appeared on {page.url}")


def _shots(pages: dict[str, Any], name: str) -> None:
    folder = os.environ.get("HARNESS_SCREENSHOTS")
    if folder:
        for width, page in pages.items():
            page.screenshot(path=str(Path(folder) / f"{name}-{width}.png"), full_page=True)


def test_the_whole_round_in_a_browser(browser: Any, loop_world: World) -> None:
    world = loop_world
    boss_token = tokens.add_team(store.connect(world.db), "organiser", organiser=True)
    url = world.start_server(workers=0)
    world.start_worker()

    boss = _page(browser, WIDTHS["desktop"])
    _sign_in(boss, url, boss_token)
    assert boss.url.endswith("/organiser")
    team_tokens = {}
    for name in ("alpha", "beta"):
        boss.fill("#team", name)
        boss.click("form[action='/organiser/teams'] button")
        notice = boss.text_content(".notice") or ""
        found = re.search(r"shown this once: (\S+)", notice)
        assert found, notice
        team_tokens[name] = found.group(1)

    alpha = {w: _page(browser, px) for w, px in WIDTHS.items()}
    for page in alpha.values():
        _sign_in(page, url, team_tokens["alpha"])
        assert page.url.endswith("/me")
    a = alpha["desktop"]
    npz = write_samples(world.root / "subs" / "alpha", 3) / "samples.npz"
    a.set_input_files("#file", str(npz))
    a.click("form[action='/me/upload'] button")
    accepted = a.text_content(".notice") or ""
    sid = re.search(r"accepted (\S+) ", accepted)
    assert sid, accepted
    assert "queued" in accepted

    beta = _page(browser, WIDTHS["desktop"])
    _sign_in(beta, url, team_tokens["beta"])
    archive = world.root / "broken.tar.gz"
    archive.write_bytes(_broken_archive(world.root / "subs" / "beta"))
    beta.set_input_files("#file", str(archive))
    beta.click("form[action='/me/upload'] button")
    assert "accepted" in (beta.text_content(".notice") or "")

    _reload_until(a, "score_public")  # its public figures: scored
    _reload_until(beta, "not a readable image")
    a.goto(url + "/board/index.html")
    assert a.locator("tr.mine[data-team='alpha']").count() == 1
    a.goto(url + "/me")
    a.check(f"input[value='{sid.group(1)}']")
    a.click("form[action='/me/selections'] button")
    assert "selected 1" in (a.text_content(".notice") or "")

    boss.goto(url + "/organiser")
    assert "not a readable image" in boss.content()
    organiser_phone = _page(browser, WIDTHS["phone"])
    _sign_in(organiser_phone, url, boss_token)
    for width, page in {**alpha, "organiser-phone": organiser_phone}.items():
        page.goto(url + ("/organiser" if width.startswith("organiser") else "/me"))
        _fits(page, f"{page.url} at {width}")
    _shots(alpha, "team")
    _shots({"desktop": boss, "phone": organiser_phone}, "organiser")

    # The deadline passes (a restart with it set in the past); the organiser publishes.
    world.stop_all()
    world.competition.write_text(
        world.competition.read_text() + "deadline = 2000-01-01T00:00:00Z\n"
    )
    url = world.start_server(workers=0)
    _sign_in(boss, url, boss_token)
    boss.click("form[action='/organiser/publish'] button")
    assert "published" in (boss.text_content(".notice") or "")
    for name in ("alpha", "beta"):
        page = _page(browser, WIDTHS["phone"])
        _sign_in(page, url, team_tokens[name])
        page.click("text=see it")
        assert "Final board" in page.content() and "alpha" in page.content()
