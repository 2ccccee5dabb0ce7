"""``harness score``, ``fid``, ``weights`` and ``leaderboard``: the numbers and the board."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from harness.cli._common import (
    BoardOpt,
    DataOpt,
    DeviceOpt,
    IsolationOpt,
    JsonOpt,
    MemoryOpt,
    RunsOpt,
    SubmissionsOpt,
    emit,
    err,
    others_code,
)
from harness.cli.competition_cmds import CompetitionOpt
from harness.cli.scale_opts import (
    CpusOpt,
    DevicesOpt,
    ExecutorOpt,
    ExtraOpt,
    GpusOpt,
    JobFolderOpt,
    JobsOpt,
    PartitionOpt,
    TimeLimitOpt,
)
from harness.errors import HarnessError

BootstrapOpt = Annotated[int, typer.Option(help="Bootstrap replicates for the interval (0: none).")]
LabelsOpt = Annotated[bool, typer.Option(help="Measure label fidelity with the mask classifier.")]
MemorisationOpt = Annotated[
    bool,
    typer.Option(
        help=(
            "Measure memorisation (MiFID) against the train images; its one-time pass over "
            "their features is the longest of a first score (`harness prepare` does it ahead). "
            "--no-memorisation skips it; the row then says it was not measured."
        )
    ),
]


def checked_rules(competition: Path | None, n: int | None) -> dict[str, object]:
    """The competition's scoring settings (``--n`` over its N), with N checked."""
    from harness.cli.competition_cmds import competition_score_settings
    from harness.scoring.rounds import check_sample_count

    rules = competition_score_settings(competition, n)
    check_sample_count(int(rules["n_per_class"]))  # type: ignore[call-overload]
    return rules


def checked_data(data: Path | None) -> Path:
    """The data folder, checked before anything is scored: a wrong folder, or a public/private
    split made for other test images, is one error rather than one failed row per team."""
    from harness.data.layout import list_split
    from harness.data.split import load_split
    from harness.paths import data_root

    root = data_root(data)
    list_split(root, "test")
    load_split(root)
    return root


def make_scorer(
    root: Path,
    runs: Path | None,
    settings: Any,
    *,
    labels: bool,
    device: str,
    board: Path | None = None,
) -> Any:
    """The :class:`~harness.scoring.score.Scorer` every scored row comes from; with ``board``,
    it keeps each row's sample strip beside that results file."""
    from harness.paths import runs_root
    from harness.scoring.score import Scorer
    from harness.scoring.strips import strips_dir

    judge = None
    if labels:
        from harness.scoring.label_fidelity import LabelJudge

        judge = LabelJudge(root, device=device, say=err)
    return Scorer(
        data_root=root,
        runs_root=runs_root(runs),
        settings=settings,
        say=err,
        label_judge=judge,
        strips=strips_dir(board) if board is not None else None,
    )


def score(
    teams: Annotated[
        list[Path] | None, typer.Argument(help="Team folders (or use --all).", show_default=False)
    ] = None,
    all_teams: Annotated[
        bool, typer.Option("--all", help="Score every team in --submissions.")
    ] = False,
    submissions: SubmissionsOpt = Path("submissions"),
    data: DataOpt = None,
    runs: RunsOpt = None,
    run: Annotated[str | None, typer.Option(help="Run id (default: each team's latest).")] = None,
    n: Annotated[
        int | None,
        typer.Option("--n", help="Samples per class (default: the competition's, else 1000)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Sample seed, the same for every team.")] = 0,
    bootstrap: BootstrapOpt = 100,
    labels: LabelsOpt = True,
    memorisation: MemorisationOpt = True,
    device: DeviceOpt = "auto",
    leaderboard: BoardOpt = Path("leaderboard/results.csv"),
    competition: CompetitionOpt = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            help="Time limit of each team's sampling job in seconds (default 1,800; 0: none).",
            show_default=False,
        ),
    ] = None,
    memory_gib: MemoryOpt = None,
    isolation: IsolationOpt = None,
    as_json: JsonOpt = False,
    jobs: JobsOpt = None,
    devices: DevicesOpt = None,
    executor: ExecutorOpt = "local",
    slurm_partition: PartitionOpt = None,
    gpus_per_job: GpusOpt = None,
    cpus_per_job: CpusOpt = None,
    time_limit: TimeLimitOpt = None,
    slurm_extra: ExtraOpt = None,
    slurm_folder: JobFolderOpt = None,
) -> None:
    """Score team folders, or every team with --all, and append the rows to the leaderboard."""
    from harness.board import leaderboard as board
    from harness.cli import scale_cmds
    from harness.cli.competition_cmds import admitted_teams
    from harness.paths import runs_root
    from harness.sandbox.isolation import use_isolation
    from harness.scoring.rounds import check_team_folders
    from harness.scoring.score import ScoreSettings, discover_teams

    if bool(teams) == all_teams:
        raise HarnessError("give team folders, or --all to score every team in --submissions")
    scale = scale_cmds.scale_settings(
        jobs=jobs,
        devices=devices,
        executor=executor,
        slurm_partition=slurm_partition,
        gpus_per_job=gpus_per_job,
        cpus_per_job=cpus_per_job,
        time_limit=time_limit,
        slurm_extra=slurm_extra,
        slurm_folder=slurm_folder,
        many=all_teams,
    )
    use_isolation(isolation, others_code=others_code("score"))
    rules = checked_rules(competition, n)
    if not all_teams:
        check_team_folders(teams or [])
    teams = discover_teams(submissions, say=err) if all_teams else teams
    settings = ScoreSettings(
        seed=seed,
        bootstrap=bootstrap,
        memorisation=memorisation,
        device=device,
        sample_timeout_s=timeout,
        memory_gib=memory_gib,
        **rules,  # type: ignore[arg-type]
    )
    root = checked_data(data)
    teams = admitted_teams(
        teams, competition, lambda: board.read(leaderboard), single=not all_teams
    )
    if scale.parallel:
        scale_cmds.score_all_cmd(
            teams,  # type: ignore[arg-type]
            data_root=root,
            runs_root=runs_root(runs),
            board_path=leaderboard,
            score_settings=settings,
            settings=scale,
            run_id=run,
            labels=labels,
            as_json=as_json,
        )
        return
    scorer = make_scorer(root, runs, settings, labels=labels, device=device, board=leaderboard)
    from harness.board.sidefile import append_or_set_aside

    kept_aside: list[str] = []

    def on_row(row: dict[str, Any]) -> None:
        where = append_or_set_aside(row, leaderboard, err)  # a failed append loses no row
        if where is not None:
            kept_aside.append(where)

    rows = scorer.score_teams(teams, run_id=run, on_row=on_row)  # type: ignore[arg-type]
    if not all_teams and not rows:
        reasons = list(scorer.not_trained.values())
        raise HarnessError(
            reasons[0]
            if len(reasons) == 1
            else f"none of the {len(reasons)} teams has a trained run (each is named above); "
            "train one with `harness train TEAM`"
        )
    import pandas as pd

    from harness.board.boards import current_split, public_board
    from harness.board.terminal import render

    made = pd.DataFrame(rows)
    # With a public/private split, the terminal shows the public view only.
    table = (
        public_board(made, all_runs=True)
        if current_split(made)
        else board.ranked(made, all_runs=True)
    )
    emit(rows, as_json, render(table) if rows else "no team scored")
    if kept_aside:
        raise HarnessError(
            f"{len(kept_aside)} row(s) are not on {leaderboard}; they are kept in "
            f"{', '.join(kept_aside)}"
        )
    if not all_teams and any(row["status"] != "ok" for row in rows):
        raise typer.Exit(1)


def fid(
    path1: Annotated[Path, typer.Argument(help="Image folder, samples .npz or statistics .npz.")],
    path2: Annotated[Path, typer.Argument(help="Image folder, samples .npz or statistics .npz.")],
    dims: Annotated[int, typer.Option(help="Feature dims: 2048 (pool3), 768, 192 or 64.")] = 2048,
    size: Annotated[
        int | None, typer.Option(help="Resize images to SIZE first (harness resizer).")
    ] = None,
    class_: Annotated[
        str | None, typer.Option("--class", help="Only this class of .npz samples (name or index).")
    ] = None,
    batch_size: int = 50,
    device: DeviceOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """FID between two image sets, as `python -m pytorch_fid` computes it."""
    from harness import device as device_mod
    from harness.classes import class_index
    from harness.scoring.metrics.fid import frechet_distance
    from harness.scoring.metrics.inception import InceptionFeatures
    from harness.scoring.metrics.sources import statistics_of

    label = None
    if class_ is not None:
        try:
            label = class_index(class_)
        except ValueError as exc:
            raise HarnessError(str(exc)) from None
    dev = device_mod.resolve_device(device)
    device_mod.configure(dev)
    extractor = InceptionFeatures(dims=dims, device=dev, batch_size=batch_size)
    a = statistics_of(path1, extractor, size=size, label=label)
    b = statistics_of(path2, extractor, size=size, label=label)
    value = frechet_distance(a, b)
    result = {
        "fid": value,
        "n1": a.n,
        "n2": b.n,
        "dims": dims,
        "weights_sha256": extractor.weights.sha256,
    }
    emit(result, as_json, f"FID: {value}")


def weights(as_json: JsonOpt = False) -> None:
    """Where the FID Inception weights are, their sha256, and how they were obtained."""
    from harness.scoring.metrics.weights import ensure_weights

    info = ensure_weights()
    text = (
        f"path:         {info.path}\nsha256:       {info.sha256}\n"
        f"source:       {info.source}\nverification: {info.verification}"
    )
    emit(info.as_dict(), as_json, text)


def leaderboard_cmd(
    path: Annotated[
        Path, typer.Option("--leaderboard", "--path", help="Results CSV (as `score` writes it).")
    ] = Path("leaderboard/results.csv"),
    markdown: Annotated[
        Path | None, typer.Option(help="Also write the board as Markdown here.")
    ] = None,
    all_runs: Annotated[
        bool, typer.Option("--all-runs", help="Every ok run, not each team's best.")
    ] = False,
    private: Annotated[
        bool,
        typer.Option(
            "--private",
            help="The final board: private scores of selected submissions (terminal and --html).",
        ),
    ] = False,
    metric: Annotated[
        str, typer.Option(help="Rank by 'score' (FID sum) or 'mifid' (memorisation-informed).")
    ] = "score",
    competition: CompetitionOpt = None,
    as_json: JsonOpt = False,
    html: Annotated[
        Path | None,
        typer.Option(
            help="Also write the board as a static site (index.html, a page per team; "
            "with --private the final board too, in final/)."
        ),
    ] = None,
    runs: RunsOpt = None,
    submissions: Annotated[
        Path, typer.Option(help="Team folders (a samples submission's pictures, for --html).")
    ] = Path("submissions"),
) -> None:
    """The public board (each team's best run); --private for the final board. Lower wins."""
    from harness.board import leaderboard as board
    from harness.board.spool import merge_spool, spool_dir
    from harness.board.terminal import render
    from harness.cli.competition_cmds import board_table

    merged = merge_spool(spool_dir(path), path)  # rows of cluster jobs nobody waited for
    if merged:
        err(f"merged {len(merged)} row(s) that jobs left in {spool_dir(path)}")
    # The board first: a wrong --metric, or --all-runs with --private, is one line before
    # anything is written, and the site is shaped by the same options as the terminal board.
    # Disqualified submissions (the organiser's, through the service) stay in results.csv but
    # off every board.
    from harness.board.disqualified import drop_disqualified

    rows = drop_disqualified(board.read(path), path)
    table = board_table(rows, path, competition, private, metric, all_runs)
    if html is not None:
        from harness.board.selections import read_selections
        from harness.board.site import write_site
        from harness.paths import runs_root
        from harness.scoring.strips import strips_dir
        from harness.settings.competition import load_competition

        site = write_site(
            html,
            rows,
            runs_root=runs_root(runs),
            submissions=submissions,
            private=private,
            source_label=path.name,
            selections=read_selections(path) if private else None,
            final_selections=load_competition(competition).final_selections,
            metric=metric,
            all_runs=all_runs,
            strips=strips_dir(path),
        )
        final = f" and the final board in {html / 'final'}" if private else ""
        err(
            f"wrote {site.index}{final} and {len(site.team_pages)} team pages "
            f"({site.size_bytes:,} bytes)"
        )
    if markdown is not None:
        from harness import atomic

        atomic.write_text(markdown, board.to_markdown(table) + "\n")
        err(f"wrote {markdown}")
    emit(table.to_dict(orient="records"), as_json, render(table))
