"""The static board site: what it ranks, what it shows, what it keeps private, and its size."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from harness.board import leaderboard
from harness.board.site import write_site
from harness.cli import main
from harness.errors import HarnessError
from tests.board.site_fixture import (
    PRIVATE_MARK,
    PRIVATE_SHOWN,
    Competition,
    make_competition,
    site_files,
)


@pytest.fixture(scope="module")
def competition(tmp_path_factory: pytest.TempPathFactory) -> Competition:
    return make_competition(tmp_path_factory.mktemp("competition"))


@pytest.fixture(scope="module")
def public(competition: Competition, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The public site of the competition (built once; tests only read it)."""
    return build(competition, tmp_path_factory.mktemp("public") / "site")


@pytest.fixture(scope="module")
def final(competition: Competition, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The final board's site, private numbers included."""
    return build(competition, tmp_path_factory.mktemp("final") / "site", private=True)


def build(competition: Competition, site: Path, *, private: bool = False) -> Path:
    write_site(
        site,
        leaderboard.read(competition.results),
        runs_root=competition.runs,
        submissions=competition.submissions,
        private=private,
    )
    return site


def ranked_teams(index: Path) -> list[str]:
    return re.findall(r'<tr class="team-row[^"]*" data-team="([^"]+)"', index.read_text())


def test_the_public_site_holds_no_private_number_in_any_file(public: Path, final: Path) -> None:
    files = site_files(public)
    assert len(files) > 20  # pages, thumbnails, grids, walks, plots
    leaks = [
        str(f.relative_to(public))
        for f in files
        if PRIVATE_MARK in f.read_bytes() or PRIVATE_SHOWN.encode() in f.read_bytes()
    ]
    assert leaks == []
    assert "private" not in (public / "index.html").read_text().lower()
    # The same rows on the final board (final/ of the organiser's site) do show them, so the
    # check above can fail; the organiser's public pages still do not.
    assert PRIVATE_SHOWN in (final / "final" / "index.html").read_text()
    assert PRIVATE_SHOWN in (final / "final" / "teams" / "alpha.html").read_text()
    outside = [f for f in site_files(final) if "final" not in f.relative_to(final).parts]
    assert outside and not [f for f in outside if PRIVATE_SHOWN.encode() in f.read_bytes()]


SPLIT_WORDS = ("public", "private", "split")


def test_boards_rank_by_public_score_by_private_score_or_by_score(
    competition: Competition, public: Path, final: Path, tmp_path: Path
) -> None:
    assert ranked_teams(public / "index.html") == [*competition.by_public, competition.failed]
    assert ranked_teams(final / "final" / "index.html") == [
        *competition.by_private,
        competition.failed,
    ]
    assert ranked_teams(final / "index.html") == ranked_teams(public / "index.html")
    # Today's rows have no public/private scores: the board is the `harness leaderboard` one.
    table = leaderboard.read(competition.results)
    today = table[[c for c in table.columns if not any(w in c for w in SPLIT_WORDS)]]
    plain = tmp_path / "plain"
    write_site(plain, today, runs_root=competition.runs, submissions=competition.submissions)
    expected = leaderboard.ranked(today)["team"].tolist()
    assert ranked_teams(plain / "index.html") == expected == [*competition.by_score, "foxtrot"]


def test_team_pages_show_what_exists_and_say_what_does_not(public: Path) -> None:
    site = public
    teams = site / "teams"
    alpha = (teams / "alpha.html").read_text()
    for picture in ("with_mask.webp", "without_mask.webp", "walk-with_mask.webp", "nearest.webp"):
        assert f'src="alpha/{picture}"' in alpha and (teams / "alpha" / picture).is_file()
    assert 'src="alpha/losses.webp"' in alpha and 'src="alpha/history.png"' in alpha
    assert "The first 32 of the 40 images per class" in alpha
    assert "<code>128</code>" in alpha  # hparams: batch_size
    delta = (teams / "delta.html").read_text()
    assert "Not here: no latent walk yet" in delta
    assert "harness sample submissions/delta --run 20260102-000000 --walk" in delta
    assert "scored without the memorisation check" in delta
    assert "failed: delta: the generator produced NaN" in delta  # its history keeps the failure
    echo = (teams / "echo.html").read_text()
    assert 'src="echo/with_mask.webp"' in echo  # from submissions/echo/samples.npz
    assert "a samples submission has no generator to walk" in echo
    assert "a samples submission has no hparams" in echo
    assert "memorised: the samples copy training images" in echo
    foxtrot = (teams / "foxtrot.html").read_text()
    assert "no scored submission: team foxtrot has no trained run" in foxtrot
    index = (site / "index.html").read_text()
    assert index.count("yes: copies training images") == 1
    assert 'href="teams/alpha.html"' in index and 'src="thumbs/alpha.webp"' in index


def test_team_text_is_escaped(public: Path) -> None:
    pages = [p.read_text() for p in public.rglob("*.html")]
    assert not any("<script" in page for page in pages)
    assert "&lt;script&gt;" in (public / "teams" / "alpha.html").read_text()


def test_a_site_for_five_teams_stays_under_5_mb(public: Path) -> None:
    sizes = {str(f.relative_to(public)): f.stat().st_size for f in site_files(public)}
    assert sum(sizes.values()) < 5_000_000, sizes
    assert max(sizes.values()) < 400_000, sizes  # no single picture dominates


def test_the_site_works_on_rows_without_runs_or_competition_columns(tmp_path: Path) -> None:
    rows = pd.DataFrame(
        [
            {"timestamp_utc": "2026-01-01T00:00:00", "team": "a", "status": "ok", "score": 40.0},
            {"timestamp_utc": "2026-01-01T00:00:00", "team": "b", "status": "ok", "score": 30.0},
        ]
    )
    site = tmp_path / "site"
    write_site(site, rows, runs_root=tmp_path / "runs", submissions=tmp_path / "subs")
    assert ranked_teams(site / "index.html") == ["b", "a"]
    page = (site / "teams" / "a.html").read_text()
    assert "Not here: the folder it was scored in is not on the machine that made this site" in page
    assert "nan" not in page.lower().replace("nano", "")


def test_a_folder_with_other_files_is_refused_and_kept(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    results = tmp_path / "results.csv"
    leaderboard.append_rows([{"team": "a", "status": "ok", "score": 1.0}], results)
    site = tmp_path / "site"
    site.mkdir()
    (site / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit) as info:
        main(["leaderboard", "--leaderboard", str(results), "--html", str(site)])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("error: --html ") and "did not write" in err and len(err.splitlines()) == 1
    )
    assert [p.name for p in site.iterdir()] == ["notes.txt"]
    with pytest.raises(HarnessError, match="is a file"):
        write_site(site / "notes.txt", pd.DataFrame(), runs_root=tmp_path, submissions=tmp_path)


def test_rewriting_a_site_replaces_it_whole(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    results = tmp_path / "results.csv"
    leaderboard.append_rows([{"team": "old", "status": "ok", "score": 1.0}], results)
    site = tmp_path / "site"
    args = ["leaderboard", "--leaderboard", str(results), "--html", str(site)]
    args += ["--runs", str(tmp_path / "runs")]
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 0 and (site / "teams" / "old.html").is_file()
    assert f"wrote {site / 'index.html'} and 1 team pages" in capsys.readouterr().err
    results.unlink()
    leaderboard.append_rows([{"team": "new", "status": "ok", "score": 2.0}], results)
    with pytest.raises(SystemExit):
        main(args)
    assert sorted(p.name for p in (site / "teams").glob("*.html")) == ["new.html"]
    assert not list(tmp_path.glob(".site.*")), "no temporary folder left behind"


def test_pictures_of_each_submission_kind_or_a_note_why_not(tmp_path: Path) -> None:
    from PIL import Image

    runs, subs = tmp_path / "runs", tmp_path / "submissions"
    for name in ("with_mask", "without_mask"):  # a samples submission as PNG folders
        (subs / "pngs" / "samples" / name).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (16, 16), (40 * i, 90, 200)).save(
                subs / "pngs" / "samples" / name / f"{i}.png"
            )
    broken = runs / "broken" / "r1" / "samples"
    broken.mkdir(parents=True)
    (broken / "samples-epoch-0001-n4-seed0.npz").write_bytes(b"not a zip")
    (runs / "exported" / "r2").mkdir(parents=True)
    (runs / "../escape").mkdir(parents=True, exist_ok=True)
    base = {"timestamp_utc": "2026-01-01T00:00:00", "status": "ok"}
    rows = pd.DataFrame(
        [
            {**base, "team": "pngs", "source": "samples", "score": 1.0},
            {**base, "team": "broken", "run_id": "r1", "source": "code", "score": 2.0},
            {**base, "team": "exported", "run_id": "r2", "source": "checkpoint", "score": 3.0},
            {**base, "team": "../escape", "run_id": "..", "source": "code", "score": 4.0},
        ]
    )
    site = tmp_path / "site"
    write_site(site, rows, runs_root=runs, submissions=subs)
    pngs = (site / "teams" / "pngs.html").read_text()
    assert "The first 3 of the 3 images per class that were scored" in pngs
    assert "no images" not in pngs
    broken_page = (site / "teams" / "broken.html").read_text()
    assert "Not here: samples-epoch-0001-n4-seed0.npz is unreadable" in broken_page
    exported = (site / "teams" / "exported.html").read_text()
    assert "trained on the team&#39;s own machine: no loss curves here" in exported
    assert ranked_teams(site / "index.html") == ["pngs", "broken", "exported", "../escape"]
    assert (site / "teams" / "escape.html").is_file()  # a cleaned file name, inside the site
    assert "run .. is not on the machine" in (site / "teams" / "escape.html").read_text()


def test_the_final_site_follows_the_selection_rule_of_the_final_board() -> None:
    """The site's final board is `harness leaderboard --private`'s: a team's best private score
    among its selections, or among its K best public ones; never its best private score."""
    from harness.board.boards import private_board
    from harness.board.site.views import select_board

    def entry(team: str, sid: str, public: float, private: float) -> dict[str, object]:
        return {"team": team, "submission_id": sid, "status": "ok", "split_digest": "s1",
                "timestamp_utc": f"2026-01-01T00:00:{len(sid)}", "score": public,
                "score_public": public, "score_private": private}  # fmt: skip

    table = pd.DataFrame(
        [entry("a", "a1", 10.0, 90.0), entry("a", "a2", 20.0, 30.0), entry("b", "b1", 15.0, 50.0)]
    )
    for selections, order, a_row in (({}, ["b", "a"], "a1"), ({"a": ["a2"]}, ["a", "b"], "a2")):
        board, column = select_board(table, private=True, selections=selections, final_selections=1)
        assert column == "score_private"
        assert board["team"].tolist() == order
        assert board.loc[board["team"] == "a", "submission_id"].item() == a_row
        cli = private_board(table, selections, k=1)
        assert cli["submission_id"].tolist() == board["submission_id"].tolist()
