"""The public board and the final (private) board, as on Kaggle.

- **Public board** (``harness leaderboard``): each team's best submission by ``score_public``
  (FID summed over classes against the public part of ``test``), earlier submission first on
  a tie. Only columns computed without the private part are shown: never ``score_private``,
  and never the whole-test ``score``, its FIDs, KID, interval or PRDC, which contain the
  private images too. Rows scored against another (or no) public/private split are not
  ranked with these. Without any split, there is no private part: the board ranks by the
  whole-test ``score`` as before competitions.
- **Final board** (``harness leaderboard --private``): each team ranked by the best
  ``score_private`` among the submissions it selected (``harness select``), or among its K
  best public ones when it selected none (Kaggle's rule). It shows private-part figures only,
  plus the public score, the team's public rank and how far it moved (``rank_change``), as
  Kaggle does once a competition ends; never a whole-test figure.

Each board's ``ahead_of_next`` compares the 95% intervals of its own part's score
(``score_public_ci_low`` ..., computed at scoring time; see :mod:`harness.board.parts`).

``--metric mifid`` ranks both by the memorisation-informed sum instead (``mifid_public``,
``mifid_private``; ``mifid`` without a split).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import pandas as pd

from harness.board.leaderboard import separation
from harness.board.parts import PRIVATE, PUBLIC, WHOLE
from harness.board.protocol import REASON, split_by_protocol
from harness.board.references import REFERENCE_RANK, interleave, split_references
from harness.errors import HarnessError

Metric = Literal["score", "mifid"]
METRICS: tuple[str, ...] = ("score", "mifid")
NOT_SPLIT = "not scored with the current public/private split"

WHOLE_TEST_COLUMNS: tuple[str, ...] = (
    "rank",
    "team",
    "submission_id",
    "source",
    "{metric}",
    "score_ci_low",
    "score_ci_high",
    "fid_with_mask",
    "fid_without_mask",
    "mifid",
    "memorised",
    "density_with_mask",
    "density_without_mask",
    "coverage_with_mask",
    "coverage_without_mask",
    "label_fidelity_with_mask",
    "label_fidelity_without_mask",
    "ahead_of_next",
    "epochs_trained",
    "n_fake_with_mask",
    "run_id",
    "submitted_at",
    "status",
    "isolation",
    "train_isolation",
    "test_leak",
)
PUBLIC_COLUMNS: tuple[str, ...] = (
    "rank",
    "team",
    "submission_id",
    "source",
    "{metric}_public",
    "score_public",
    "score_public_ci_low",
    "score_public_ci_high",
    "ahead_of_next",
    "fid_public_with_mask",
    "fid_public_without_mask",
    "mifid_public",
    "memorised",
    "memorisation_with_mask",
    "memorisation_without_mask",
    "density_public_with_mask",
    "density_public_without_mask",
    "coverage_public_with_mask",
    "coverage_public_without_mask",
    "label_fidelity_with_mask",
    "label_fidelity_without_mask",
    "epochs_trained",
    "n_fake_with_mask",
    "submitted_at",
    "status",
    "isolation",
    "train_isolation",
    "test_leak",
)
# The final board: private figures only, plus the public score and rank and the change (as
# Kaggle shows them once a competition ends); never a whole-test figure.
PRIVATE_COLUMNS: tuple[str, ...] = (
    "rank",
    "team",
    "submission_id",
    "chosen_by",
    "{metric}_private",
    "score_private",
    "score_private_ci_low",
    "score_private_ci_high",
    "ahead_of_next",
    "fid_private_with_mask",
    "fid_private_without_mask",
    "mifid_private",
    "{metric}_public",
    "score_public",
    "public_rank",
    "rank_change",
    "memorised",
    "memorisation_with_mask",
    "memorisation_without_mask",
    "density_private_with_mask",
    "density_private_without_mask",
    "coverage_private_with_mask",
    "coverage_private_without_mask",
    "label_fidelity_with_mask",
    "label_fidelity_without_mask",
    "source",
    "submitted_at",
    "status",
    "isolation",
    "train_isolation",
    "test_leak",
)


def _columns(template: Sequence[str], metric: str, present: pd.Index) -> list[str]:
    names = list(dict.fromkeys(c.format(metric=metric) for c in template))
    return [c for c in names if c in present]


def _normalise(table: pd.DataFrame) -> pd.DataFrame:
    """Rows from before competitions: ``submitted_at`` falls back to ``timestamp_utc``."""
    table = table.copy()
    for column in ("team", "status", "submission_id", "split_digest", "error", "timestamp_utc"):
        if column not in table:
            table[column] = pd.NA
    if "submitted_at" not in table:
        table["submitted_at"] = pd.NA
    submitted = table["submitted_at"].astype(object)
    table["submitted_at"] = submitted.where(submitted.notna(), table["timestamp_utc"])
    table["split_digest"] = table["split_digest"].fillna("").astype(str)
    return table


def current_split(table: pd.DataFrame) -> str:
    """The public/private split of the most recent row that had one ("" when none did)."""
    if table.empty or "split_digest" not in table:
        return ""
    table = _normalise(table)
    with_split = table[table["split_digest"] != ""]
    if with_split.empty:
        return ""
    return str(with_split.sort_values("submitted_at", kind="stable")["split_digest"].iloc[-1])


def board_part(table: pd.DataFrame, *, private: bool) -> str:
    """The part a board shows: ``private`` for the final board; ``public`` when the rows were
    scored with a split, else ``whole`` (:mod:`harness.board.parts` names each part's
    columns)."""
    if private:
        return PRIVATE
    return PUBLIC if current_split(table) else WHOLE


def _ranked(rows: pd.DataFrame, column: str, all_runs: bool) -> pd.DataFrame:
    """The ok rows measured with the main protocol, ranked by ``column``; the reasons why the
    other ok rows are not ranked (:mod:`.protocol`) ride along in ``attrs[REASON]``."""
    ok = rows[rows["status"] == "ok"].copy()
    if column not in ok:
        return ok.iloc[0:0]
    ok[column] = pd.to_numeric(ok[column], errors="coerce")
    ok = ok[ok[column].notna()]
    ok, apart = split_by_protocol(ok)  # only rows measured the same way are compared
    ok, references = split_references(ok)
    ok = ok.sort_values([column, "submitted_at"], kind="stable")
    if not all_runs:
        ok = ok.drop_duplicates(subset=["team"], keep="first")
    ok.insert(0, "rank", range(1, len(ok) + 1))
    ok = interleave(ok, references, column)
    ok.attrs[REASON] = dict(zip(apart["team"], apart[REASON], strict=True)) if len(apart) else {}
    return ok


def _lead(ranked: pd.DataFrame, score: str, metric: str) -> None:
    """Fill ``ahead_of_next`` from the interval of ``score`` (the board's own part); ``?``
    when another metric ranks the board (it has no interval). A reference is nobody's rival."""
    teams = ranked["rank"].astype(str) != REFERENCE_RANK
    ranked["ahead_of_next"] = ""
    if teams.any():
        lead = separation(ranked[teams], f"{score}_ci_low", f"{score}_ci_high")
        ranked.loc[teams, "ahead_of_next"] = lead if metric == "score" else "?"


def _public_ranks(table: pd.DataFrame, ranked: pd.DataFrame, metric: Metric) -> None:
    """Add each final-board team's public rank and how far it moved (``+2``: up two places,
    the shake-up Kaggle shows); a reference has neither."""
    public = public_board(table, metric=metric)
    ranks = {
        str(t): r
        for t, r in zip(public["team"], public["rank"], strict=True)
        if str(r) not in ("-", REFERENCE_RANK)
    }
    shown, moved = [], []
    for team, rank in zip(ranked["team"], ranked["rank"], strict=True):
        before = ranks.get(str(team))
        if before is None or str(rank) == REFERENCE_RANK:
            shown.append(REFERENCE_RANK if str(rank) == REFERENCE_RANK else "-")
            moved.append("")
            continue
        change = int(before) - int(rank)
        shown.append(str(before))
        moved.append(f"{change:+d}" if change else "0")
    ranked["public_rank"], ranked["rank_change"] = shown, moved


def _unranked(table: pd.DataFrame, ranked: pd.DataFrame, why: str) -> pd.DataFrame:
    """Teams with no ranked row: their latest row, with its error, what differs in how it was
    measured (``not_ranked_because``), or ``why``."""
    reasons = ranked.attrs.get(REASON, {})
    rest = table[~table["team"].isin(ranked["team"])]
    rest = rest.sort_values("submitted_at", kind="stable").drop_duplicates("team", keep="last")
    rest = rest.copy()
    rest.insert(0, "rank", "-")
    failed = rest["status"] == "failed"
    rest["error"] = rest["error"].where(failed & rest["error"].notna(), why)
    if reasons:
        rest[REASON] = [reasons.get(team, "") for team in rest["team"]]
        measured_apart = rest["team"].isin(list(reasons)) & ~failed
        rest.loc[measured_apart, "error"] = ""
    return rest


def _assemble(
    ranked: pd.DataFrame, unranked: pd.DataFrame, columns: list[str], extra: Sequence[str] = ()
) -> pd.DataFrame:
    frames = [f for f in (ranked, unranked) if not f.empty]
    columns = [*columns, *(c for c in extra if c not in columns)]
    board = pd.concat(frames, ignore_index=True) if frames else ranked
    if not unranked.empty and "error" not in columns:
        columns = [*columns, "error"]
    if REASON in unranked.columns and REASON not in columns:
        columns = [*columns, REASON]
    columns = [c for c in columns if c in board.columns]
    return (
        board[columns].reset_index(drop=True) if not board.empty else pd.DataFrame(columns=columns)
    )


def public_board(
    table: pd.DataFrame,
    *,
    metric: Metric = "score",
    all_runs: bool = False,
    extra: Sequence[str] = (),
) -> pd.DataFrame:
    """Each team's best public submission (every ok one with ``all_runs``), ranked, with
    only public columns when there is a split (and the ``extra`` columns of ``table``, which
    the web board uses to find each shown row again)."""
    if metric not in METRICS:
        raise HarnessError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    if table.empty:
        return pd.DataFrame(columns=["rank", "team", metric])
    table = _normalise(table)
    digest = current_split(table)
    if digest:
        rows = table[table["split_digest"] == digest]
        column, template, why = f"{metric}_public", PUBLIC_COLUMNS, NOT_SPLIT
    else:
        rows, column, template = table, metric, WHOLE_TEST_COLUMNS
        why = f"no {column} in its rows"
    ranked = _ranked(rows, column, all_runs)
    _lead(ranked, "score" if not digest else "score_public", metric)
    present = pd.Index([*table.columns, "rank", "ahead_of_next"])
    columns = _columns(template, metric, present)
    return _assemble(ranked, _unranked(table, ranked, why), columns, extra)


def private_board(
    table: pd.DataFrame,
    selections: Mapping[str, Sequence[str]],
    *,
    k: int,
    metric: Metric = "score",
    extra: Sequence[str] = (),
) -> pd.DataFrame:
    """The final board: per team, the best private score among its selected submissions,
    or among its ``k`` best public ones when it selected none (``extra``: as
    :func:`public_board`).

    Raises:
        HarnessError: no row was scored with a public/private split.
    """
    if metric not in METRICS:
        raise HarnessError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    table = _normalise(table)
    digest = current_split(table)
    if not digest:
        raise HarnessError(
            "no row was scored with a public/private split; run `harness data split`, "
            "then `harness score` again"
        )
    public, private = f"{metric}_public", f"{metric}_private"
    rows = table[(table["split_digest"] == digest) & (table["status"] == "ok")].copy()
    for column in (public, private):
        rows[column] = pd.to_numeric(rows.get(column), errors="coerce")
    rows = rows[rows[private].notna() & rows[public].notna()]
    rows, references = split_references(rows)
    finals = []
    for team, team_rows in rows.groupby("team", sort=True):
        chosen_ids = list(selections.get(str(team), []))
        chosen = team_rows[team_rows["submission_id"].isin(chosen_ids)]
        if not chosen.empty:
            how = f"selected ({len(chosen)})"
        else:
            chosen = team_rows.sort_values([public, "submitted_at"], kind="stable").head(k)
            how = f"best {len(chosen)} public" + (" (selection not scorable)" if chosen_ids else "")
        best = chosen.sort_values([private, "submitted_at"], kind="stable").iloc[[0]].copy()
        best["chosen_by"] = how
        finals.append(best)
    ranked = pd.concat(finals, ignore_index=True) if finals else rows.iloc[0:0].copy()
    ranked = ranked.sort_values([private, "submitted_at"], kind="stable")
    ranked.insert(0, "rank", range(1, len(ranked) + 1))
    ranked = interleave(ranked, references.assign(chosen_by="reference"), private)
    _lead(ranked, "score_private", metric)
    _public_ranks(table, ranked, metric)
    present = pd.Index([*table.columns, "rank", "chosen_by", "ahead_of_next"])
    present = present.append(pd.Index(["public_rank", "rank_change"]))
    columns = _columns(PRIVATE_COLUMNS, metric, present)
    return _assemble(ranked, _unranked(table, ranked, NOT_SPLIT), columns, extra)
