"""``harness serve``, ``worker``, ``teams``, ``submit`` and ``submissions``: the service, thin.

Each command parses its options, calls :mod:`harness.service` once and prints; the organiser's
commands (``serve``, ``worker``, ``teams``) work on the state folder and database, a team's
(``submit``, ``submissions``) talk to the server over HTTP.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from harness.cli._common import BoardOpt, DataOpt, DeviceOpt, IsolationOpt, JsonOpt, emit, err
from harness.cli.competition_cmds import CompetitionOpt
from harness.cli.scale_opts import (
    CpusOpt,
    ExtraOpt,
    GpusOpt,
    JobFolderOpt,
    PartitionOpt,
    TimeLimitOpt,
)
from harness.cli.service_opts import (
    BootstrapOpt,
    DimsOpt,
    LabelsOpt,
    LeaseOpt,
    PollOpt,
    ServiceExecutorOpt,
    WorkerOptions,
)
from harness.errors import HarnessError

teams_app = typer.Typer(help="The service's teams and their tokens.", no_args_is_help=True)

StateOpt = Annotated[
    Path | None,
    typer.Option(
        "--state",
        help="The service's state folder (default: .harness-service beside the competition file).",
        show_default=False,
    ),
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default: $HARNESS_SERVICE_DB, else SQLite in --state); "
        "postgresql://USER@HOST/DB for workers on several machines.",
        show_default=False,
    ),
]
ServerOpt = Annotated[
    str, typer.Option("--server", help="The service's URL, e.g. https://gan.example.org.")
]
TokenOpt = Annotated[
    str | None,
    typer.Option("--token", help="The team's token (default: $HARNESS_TOKEN).", show_default=False),
]


def _state_and_engine(state: Path | None, db: str | None, competition: Path | None) -> Any:
    from harness.service import store

    folder = store.State(state or store.default_state(competition)).create()
    url = db or os.environ.get("HARNESS_SERVICE_DB") or folder.database_url()
    return folder, store.connect(url), url


def _token(token: str | None) -> str:
    value = token or os.environ.get("HARNESS_TOKEN")
    if not value:
        raise HarnessError("give the team's token with --token T (or set HARNESS_TOKEN)")
    return value


def teams_add(
    name: Annotated[str, typer.Argument(help="The team's name (its folder name).")],
    organiser: Annotated[
        bool, typer.Option("--organiser", help="A token that unlocks the organiser's endpoints.")
    ] = False,
    state: StateOpt = None,
    db: DbOpt = None,
    competition: CompetitionOpt = None,
) -> None:
    """Create a team and print its token: shown this once, stored only as a hash."""
    from harness.service import tokens

    _, engine, _ = _state_and_engine(state, db, competition)
    token = tokens.add_team(engine, name, organiser=organiser)
    err(f"team {name} added; its token follows (shown once: hand it to the team)")
    typer.echo(token)


def teams_list(
    state: StateOpt = None,
    db: DbOpt = None,
    competition: CompetitionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The teams, with whether each has a live token."""
    from harness.service import tokens

    _, engine, _ = _state_and_engine(state, db, competition)
    found = tokens.list_teams(engine)
    text = (
        "\n".join(
            f"{t['team']}{' (organiser)' if t['organiser'] else ''}: "
            f"{'live token' if t['live_tokens'] else 'no live token'}"
            for t in found
        )
        or "no teams yet: `harness teams add NAME`"
    )
    emit(found, as_json, text)


def teams_revoke(
    name: str, state: StateOpt = None, db: DbOpt = None, competition: CompetitionOpt = None
) -> None:
    """Revoke a team's token (its submissions stay; `rotate` gives it a new one)."""
    from harness.service import tokens

    _, engine, _ = _state_and_engine(state, db, competition)
    count = tokens.revoke(engine, name)
    typer.echo(f"revoked {count} token(s) of {name}")


def teams_rotate(
    name: str, state: StateOpt = None, db: DbOpt = None, competition: CompetitionOpt = None
) -> None:
    """Revoke a team's token and print a new one (shown once)."""
    from harness.service import tokens

    _, engine, _ = _state_and_engine(state, db, competition)
    token = tokens.rotate(engine, name)
    err(f"new token of {name} follows; the old one no longer works")
    typer.echo(token)


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", help="Local worker processes (0: none).")
    ] = 1,
    state: StateOpt = None,
    db: DbOpt = None,
    max_upload_mib: Annotated[int, typer.Option(help="Largest upload taken, in MiB.")] = 256,
    token_failures: Annotated[
        int,
        typer.Option(
            "--token-failures",
            help="Failed token attempts one client address may make per --token-window-s "
            "before it is refused (429); 0: no limit.",
        ),
    ] = 20,
    token_window_s: Annotated[
        float, typer.Option("--token-window-s", help="The window of --token-failures, in seconds.")
    ] = 60.0,
    data: DataOpt = None,
    leaderboard: BoardOpt = Path("leaderboard/results.csv"),
    competition: CompetitionOpt = None,
    isolation: IsolationOpt = None,
    device: DeviceOpt = "auto",
    dims: DimsOpt = 2048,
    bootstrap: BootstrapOpt = 100,
    labels: LabelsOpt = True,
    lease_s: LeaseOpt = 60.0,
    executor: ServiceExecutorOpt = "local",
    slurm_partition: PartitionOpt = None,
    gpus_per_job: GpusOpt = None,
    cpus_per_job: CpusOpt = None,
    time_limit: TimeLimitOpt = None,
    slurm_extra: ExtraOpt = None,
    slurm_folder: JobFolderOpt = None,
    slurm_poll_s: PollOpt = 10.0,
) -> None:
    """Run the competition service: the HTTP API, the board's pages, and local workers."""
    from harness.service import tokens
    from harness.service.app import ServiceSettings
    from harness.service.ratelimit import AuthGuard
    from harness.service.server import LocalWorkers
    from harness.service.server import serve as run_server
    from harness.service.uploads import Caps

    if token_failures < 0 or token_window_s <= 0:
        raise HarnessError(
            "--token-failures must be 0 or more and --token-window-s more than 0 "
            f"(got {token_failures} and {token_window_s:g})"
        )
    folder, engine, url = _state_and_engine(state, db, competition)
    options = WorkerOptions.pick(locals())
    rules = options.settings(folder.root).competition  # checked before anything starts
    if not tokens.has_organiser(engine):
        token = tokens.add_team(engine, "organiser", organiser=True)
        err(f"first start: the organiser's token is {token} (shown once; keep it)")
    argv = [sys.executable, "-m", "harness", "worker", "--db", url, "--state", str(folder.root)]
    caps = Caps(archive_bytes=max_upload_mib * 2**20, unpacked_bytes=2 * max_upload_mib * 2**20)
    settings = ServiceSettings(
        engine=engine,
        state=folder,
        board=leaderboard,
        competition=rules,
        caps=caps,
        guard=AuthGuard(token_failures, token_window_s),
    )
    where = "" if executor == "local" else f", each job handed to {executor}"
    err(
        f"serving {rules.name} on http://{host}:{port}/ with {workers} local worker(s){where}; "
        f"state in {folder.root}"
    )
    run_server(settings, host=host, port=port, workers=LocalWorkers(argv + options.argv(), workers))


def worker(
    db: DbOpt = None,
    state: StateOpt = None,
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Stop when the queue is empty.")
    ] = False,
    data: DataOpt = None,
    leaderboard: BoardOpt = Path("leaderboard/results.csv"),
    competition: CompetitionOpt = None,
    isolation: IsolationOpt = None,
    device: DeviceOpt = "auto",
    dims: DimsOpt = 2048,
    bootstrap: BootstrapOpt = 100,
    labels: LabelsOpt = True,
    lease_s: LeaseOpt = 60.0,
    executor: ServiceExecutorOpt = "local",
    slurm_partition: PartitionOpt = None,
    gpus_per_job: GpusOpt = None,
    cpus_per_job: CpusOpt = None,
    time_limit: TimeLimitOpt = None,
    slurm_extra: ExtraOpt = None,
    slurm_folder: JobFolderOpt = None,
    slurm_poll_s: PollOpt = 10.0,
) -> None:
    """Take jobs from the service's queue and score them (run more of these on other machines,
    or hand each job to Slurm with --executor slurm)."""
    from harness.service.workers import Worker

    folder, engine, _ = _state_and_engine(state, db, competition)
    settings = WorkerOptions.pick(locals()).settings(folder.root)
    count = Worker(engine, settings).run(stop_when_idle=until_idle)
    err(f"worker ended after {count} job(s)")


def submit(
    team: Annotated[
        Path, typer.Argument(help="The team folder to hand in, e.g. submissions/team2.")
    ],
    server: ServerOpt,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Pack a team folder (model.py and its files, checkpoint.pt, or samples) and upload it."""
    from harness.service import client

    answer = client.submit(team, server=server, token=_token(token))
    emit(
        answer,
        as_json,
        f"accepted: submission {answer['submission_id']} ({answer['kind']}), queued; "
        f"`harness submissions --server {server}` shows its state",
    )


def submissions(server: ServerOpt, token: TokenOpt = None, as_json: JsonOpt = False) -> None:
    """The team's submissions on the service: state, queue position, public figures."""
    from harness.service import client

    found = client.submissions(server=server, token=_token(token))
    lines = []
    for item in found:
        result = item.get("result") or {}
        figure = result.get("score_public", result.get("score"))
        extra = f" score {figure:.2f}" if isinstance(figure, (int, float)) else ""
        if item["queue_position"] is not None:
            extra += f" ({item['queue_position']} ahead)"
        if item["error"]:
            extra += f": {item['error']}"
        lines.append(f"{item['submission_id']} {item['kind']} {item['state']}{extra}")
    emit(found, as_json, "\n".join(lines) or "no submissions yet")
