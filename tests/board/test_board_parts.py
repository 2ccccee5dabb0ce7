"""Each board shows its own part's numbers only, on every page, in every format.

The rule is tested as a class, not by example: every figure of every row gets a whole-test,
a public and a private value drawn from three ranges that no formatting can confuse (FIDs
near 1,000 / 3,000 / 5,000, their sums near 2,000 / 6,000 / 10,000, shares near 0.1 / 0.4 /
0.7, a memoriser's MiFID near 3e15 / 5e15 / 7e15). Every public output (the site with and
without the final board beside it, its team pages, the terminal board, the Markdown board, the
JSON) is searched for each hidden value in each way a board prints numbers; and every row's
per-class FIDs must add up to the score shown beside them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.board import leaderboard
from harness.board.boards import private_board, public_board
from harness.board.site import write_site
from harness.board.terminal import render
from harness.classes import CLASS_NAMES
from harness.cli import main

PARTS = {"whole": (1000.0, 0.1, 3.1e15), "public": (3000.0, 0.4, 5.3e15),
         "private": (5000.0, 0.7, 7.7e15)}  # fmt: skip
SHARES = ("kid", "precision", "recall", "density", "coverage")
N_REAL = {"whole": (873, 937), "public": (436, 468), "private": (437, 469)}
SPLIT = "split-1"


def _name(prefix: str, part: str, cls: str | None = None) -> str:
    """``fid_with_mask`` (whole), ``fid_public_with_mask``, ``score_public`` ..."""
    middle = "" if part == "whole" else f"_{part}"
    return f"{prefix}{middle}_{cls}" if cls else f"{prefix}{middle}"


def make_row(rng: np.random.Generator, team: str, sid: str, day: int, **extra: object) -> dict:
    """A row whose every figure has three distinct values, one per part; the sums hold."""
    row: dict[str, object] = {
        "timestamp_utc": f"2026-11-{day:02d}T10:00:00+00:00",
        "submitted_at": f"2026-11-{day:02d}T10:00:00+00:00",
        "team": team,
        "submission_id": sid,
        "run_id": f"run-{sid}",
        "status": "ok",
        "error": "",
        "source": "samples",
        "split_digest": SPLIT,
        "memorised": False,
        "memorisation_measured": True,
        "bootstrap_replicates": 100,
        "fid_overall": 7777.777,
        "bootstrap_mean": 8888.888,
    }
    memoriser = bool(extra.pop("memoriser", False))
    for part, (fid_base, share_base, huge) in PARTS.items():
        fids = [fid_base + rng.uniform(1, 99) for _ in CLASS_NAMES]
        for c, cls in enumerate(CLASS_NAMES):
            row[_name("fid", part, cls)] = fids[c]
            mifid = huge * (1 + 0.01 * c) if memoriser else fids[c]
            row[_name("mifid", part, cls)] = mifid
            for key in SHARES:
                row[_name(key, part, cls)] = share_base + rng.uniform(0.001, 0.099)
            row[_name("n_real", part, cls)] = N_REAL[part][c]
        score = sum(fids)
        row[_name("score", part)] = score
        row[_name("mifid", part)] = sum(row[_name("mifid", part, cls)] for cls in CLASS_NAMES)  # type: ignore[misc]
        spread = rng.uniform(1.0, 3.0)
        low, high = ("score_ci_low", "score_ci_high") if part == "whole" else (
            f"score_{part}_ci_low", f"score_{part}_ci_high")  # fmt: skip
        row[low], row[high] = score - spread, score + spread
    for cls in CLASS_NAMES:
        row[f"label_fidelity_{cls}"] = 0.95
        row[f"memorisation_{cls}"] = 0.01 if memoriser else 0.333
        row[f"n_fake_{cls}"] = 40
    if memoriser:
        row["memorised"] = True
    for key in [k for k, v in extra.items() if v is None]:
        row.pop(key, None)
        extra.pop(key)
    return {**row, **extra}


def results(path: Path) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    old = {f"{k}_{p}_{c}": None for k in ("kid", "precision", "recall", "density", "coverage")
           for p in ("public", "private") for c in CLASS_NAMES}  # fmt: skip
    old |= {f"score_private_ci_{e}": None for e in ("low", "high")}
    rows = [
        make_row(rng, "ana", "ana1", 1),
        make_row(rng, "ana", "ana2", 2),
        # scored with the split by an older harness: no per-part KID or PRDC, no private interval
        make_row(rng, "bo", "bo1", 3, **old),
        make_row(rng, "cy", "cy1", 4, memoriser=True),
        make_row(rng, "real-train", "ref1", 5, reference=True, memoriser=True),
        {"timestamp_utc": "2026-11-06T10:00:00+00:00", "team": "eve", "status": "failed",
         "error": "eve: boom", "submission_id": "eve1"},
    ]  # fmt: skip
    # scored before the split: whole-test figures only; it must show none of them
    before = make_row(rng, "dee", "dee1", 1, split_digest="")
    rows.append({k: v for k, v in before.items() if "public" not in k and "private" not in k})
    leaderboard.append_rows(rows, path)
    return leaderboard.read(path)


def formats(value: float) -> set[str]:
    """Every way a board prints ``value``."""
    if abs(value) >= 1e6:
        return {f"{value:.3g}", f"{value:.1e}", f"{value:.2e}", f"{value:,.1f}", f"{value:.0f}"}
    if abs(value) < 1:
        return {f"{value:.3f}", f"{value:.4f}"}
    return {f"{value:.1f}", f"{value:,.1f}", f"{value:.2f}", f"{value:.3f}", f"{value:,.3f}"}


def values_of(table: pd.DataFrame, part: str, *, but: tuple[str, ...] = ()) -> set[str]:
    """Every formatted value of ``part``'s figures in the table (``but``: columns left out)."""
    from harness.board.parts import WHOLE_ONLY, part_columns

    columns = part_columns(part) + (list(WHOLE_ONLY) if part == "whole" else [])
    out: set[str] = set()
    for column in columns:
        if column in but or column not in table or column.startswith("n_real"):
            continue
        for value in pd.to_numeric(table[column], errors="coerce").dropna():
            out |= formats(float(value))
    out |= {str(v) for v in (*N_REAL[part], *(N_REAL["whole"]))} if part != "public" else set()
    return out


def found(text: str, hidden: set[str]) -> list[str]:
    """The hidden values that appear in ``text`` as whole numbers (not inside a longer one)."""
    return sorted(
        v for v in hidden if re.search(rf"(?<![\d.,]){re.escape(v)}(?![\d])", text) is not None
    )


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return results(tmp_path_factory.mktemp("board") / "results.csv")


@pytest.fixture(scope="module")
def sites(table: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("sites")
    out = {}
    for name, options in {
        "public": {},
        "organiser": {"private": True},
        "mifid": {"private": True, "metric": "mifid"},
        "all-runs": {"all_runs": True},
    }.items():
        out[name] = base / name
        write_site(out[name], table, runs_root=base / "runs", submissions=base / "subs", **options)  # type: ignore[arg-type]
    return out


def public_pages(site: Path) -> dict[str, str]:
    return {
        str(p.relative_to(site)): p.read_text()
        for p in site.rglob("*.html")
        if "final" not in p.relative_to(site).parts
    }


def test_no_public_output_shows_a_private_or_whole_test_value(
    table: pd.DataFrame, sites: dict[str, Path]
) -> None:
    hidden = values_of(table, "whole") | values_of(table, "private")
    assert len(hidden) > 200
    outputs = {
        "terminal": render(public_board(table), width=250),
        "terminal mifid": render(public_board(table, metric="mifid"), width=250),
        "terminal all runs": render(public_board(table, all_runs=True), width=250),
        "markdown": leaderboard.to_markdown(public_board(table)),
        "json": json.dumps(public_board(table).astype(object).to_dict(orient="records")),
    }
    for name, site in sites.items():
        pages = public_pages(site)
        assert "index.html" in pages and len(pages) >= 6
        outputs |= {f"{name}/{page}": text for page, text in pages.items()}
    leaks = {name: found(text, hidden) for name, text in outputs.items()}
    assert {k: v for k, v in leaks.items() if v} == {}
    # the same search finds the public values, so it can fail
    shown = values_of(table, "public")
    assert found(outputs["public/index.html"], shown) and found(outputs["terminal"], shown)


def test_the_final_board_shows_private_figures_and_the_public_score_only(
    table: pd.DataFrame, sites: dict[str, Path]
) -> None:
    hidden = values_of(table, "whole") | values_of(
        table, "public", but=("score_public", "mifid_public")
    )
    hidden -= {str(v) for v in N_REAL["private"]}
    board = private_board(table, {}, k=2)
    outputs = {
        "terminal": render(board, width=250),
        "markdown": leaderboard.to_markdown(board),
    }
    for name in ("organiser", "mifid"):
        final = sites[name] / "final"
        outputs |= {f"{name}/{p.relative_to(final)}": p.read_text() for p in final.rglob("*.html")}
    leaks = {name: found(text, hidden) for name, text in outputs.items()}
    assert {k: v for k, v in leaks.items() if v} == {}
    shown = values_of(table, "private")
    index = (sites["organiser"] / "final" / "index.html").read_text()
    assert found(index, shown)
    assert 'data-label="Chosen by">chosen by: best 2 public<' in index
    score_public = {f"{v:,.1f}" for v in table["score_public"].dropna()}
    assert found(index, score_public)  # the public score beside the private one


def cells(index: str, label: str) -> list[list[float]]:
    """Each board row's per-class values of one metric on an index page."""
    rows = re.findall(rf'<td class="num pc" data-label="{label}[^"]*">(.*?)</td>', index, re.S)
    return [
        [float(v.replace(",", "")) for v in re.findall(r"</span>([-\d.,e+]+)</span>", row)]
        for row in rows
    ]


def scores(index: str) -> list[str]:
    return re.findall(r'<span class="score-num">(.*?)</span> <span class="ci">', index)


@pytest.mark.parametrize(("site", "page", "label"), [("public", "index.html", "FID"),
    ("organiser", "final/index.html", "FID"), ("mifid", "final/index.html", "MiFID")])  # fmt: skip
def test_each_rows_per_class_figures_add_up_to_the_score_beside_them(
    sites: dict[str, Path], site: str, page: str, label: str
) -> None:
    index = (sites[site] / page).read_text()
    checked = 0
    for pair, score in zip(cells(index, label), scores(index), strict=True):
        if len(pair) == 2 and "—" not in score:
            total = float(score.replace(",", ""))
            digits = 5e-3 if "e+" in score else 1e-9  # 3 figures in powers of ten, else 0.1
            assert sum(pair) == pytest.approx(total, rel=digits, abs=0.11), (pair, score)
            checked += 1
    assert checked >= 3


def test_rows_without_their_parts_figure_say_so(
    table: pd.DataFrame, sites: dict[str, Path]
) -> None:
    from harness.board.terminal import MISSING_NOTE

    for text in (
        render(public_board(table), width=250),
        leaderboard.to_markdown(public_board(table)),
        render(private_board(table, {}, k=2), width=250),
    ):
        bo = next(line for line in text.splitlines() if " bo " in line)
        assert "—" in bo and MISSING_NOTE in text
        ana = next(line for line in text.splitlines() if " ana " in line)
        assert "—" not in ana
    index = (sites["public"] / "index.html").read_text()
    bo = index[index.index('data-team="bo"') :].split("</tr>")[0]
    assert 'title="no public-part figure in this row' in bo  # its KID, PRDC, interval
    dee = index[index.index('data-team="dee"') :].split("</tr>")[0]
    assert "not scored with the current public/private split" in dee
    footer = index[index.index("Held-out reals per class") :][:200]
    assert "436" in footer and "468" in footer  # the public part's counts, not the test's


def test_intervals_leads_entries_and_tabs(sites: dict[str, Path]) -> None:
    index = (sites["organiser"] / "index.html").read_text()
    assert index.count('class="band"') == 5  # the legend, ana, bo, cy and the floor
    final = (sites["organiser"] / "final" / "index.html").read_text()
    assert final.count('class="band"') == 4  # bo has no private interval: no band, no lead
    assert re.search(r'class="lead lead-(yes|no)"', index)
    ana = index[index.index('data-team="ana"') :].split("</tr>")[0]
    assert '<span class="count">2</span> entries · last 2026-11-02 10:00' in ana
    assert 'href="final/index.html"' in index and 'aria-current="page"' in index
    assert 'href="../index.html"' in final and 'href="../style.css"' in final
    team = (sites["organiser"] / "final" / "teams" / "ana.html").read_text()
    assert 'href="../../index.html"' in team and "Public rank" in team
    assert 'href="final/index.html"' not in (sites["public"] / "index.html").read_text()


def test_the_real_data_floor_is_labelled_and_not_a_memoriser(sites: dict[str, Path]) -> None:
    index = (sites["public"] / "index.html").read_text()
    floor = index[index.index('data-team="real-train"') :].split("</tr>")[0]
    assert "real-data floor: what a generator that drew real photos would score" in floor
    assert "expected: real photos" in floor and "copies training images" not in floor
    assert 'data-rank="ref"' in floor
    page = (sites["public"] / "teams" / "real-train.html").read_text()
    assert "is not on the machine" not in page and "memorised: the samples" not in page
    cy = index[index.index('data-team="cy"') :].split("</tr>")[0]
    assert "copies training images" in cy
    mifid = (sites["mifid"] / "index.html").read_text()
    assert re.search(r"\d\.\d\de\+15", mifid) and not re.search(r"\d{3},\d{3},\d{3}", mifid)


def test_the_command_line_shapes_or_refuses_the_site(
    table: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "results.csv"
    leaderboard.append_rows(table.to_dict(orient="records"), path)
    base = ["leaderboard", "--leaderboard", str(path), "--runs", str(tmp_path / "runs")]
    with pytest.raises(SystemExit) as info:
        main([*base, "--html", str(tmp_path / "a"), "--all-runs", "--private"])
    assert info.value.code == 1 and not (tmp_path / "a").exists()
    assert capsys.readouterr().err.strip().startswith("error: --all-runs")
    for options, site in ((["--metric", "mifid"], "m"), ([], "s"), (["--all-runs"], "r")):
        with pytest.raises(SystemExit) as info:
            main([*base, "--html", str(tmp_path / site), *options])
        assert info.value.code == 0
    capsys.readouterr()
    by_mifid = (tmp_path / "m" / "index.html").read_text()
    by_score = (tmp_path / "s" / "index.html").read_text()
    every = (tmp_path / "r" / "index.html").read_text()
    assert "Public MiFID" in by_mifid and "Public MiFID" not in by_score
    assert every.count('data-team="ana"') == 2 and by_score.count('data-team="ana"') == 1
