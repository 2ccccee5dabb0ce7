"""What every command shares: the Typer app, option aliases and output helpers.

Shared options are declared once as ``Annotated`` aliases, so ``--data``, ``--runs``,
``--device`` and ``--json`` read the same in every command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from harness.errors import HarnessError

app = typer.Typer(
    name="harness",
    help=(
        "Competition harness for class-conditional face-mask GANs "
        "(classes: 0 = with_mask, 1 = without_mask)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Get, import and inspect the face-mask dataset.", no_args_is_help=True)
app.add_typer(data_app, name="data")

DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help=(
            "Dataset folder (default: $HARNESS_DATA, else `harness config set data DIR`'s, "
            "else data/facemask)."
        ),
    ),
]
RunsOpt = Annotated[
    Path | None, typer.Option("--runs", help="Runs folder (default: $HARNESS_RUNS, else runs).")
]
OverwriteOpt = Annotated[bool, typer.Option(help="Replace data already at the destination.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")]
PrecisionOpt = Annotated[
    str,
    typer.Option(
        "--precision", help="fp32 or bf16 training; auto: bf16 on a GPU that has it, else fp32."
    ),
]
TeamArg = Annotated[Path, typer.Argument(help="A team folder, e.g. submissions/team2.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
TuneDirOpt = Annotated[Path, typer.Option(help="Where `harness tune` keeps its studies.")]
SubmissionsOpt = Annotated[
    Path, typer.Option("--submissions", help="Folder of team folders, for --all.")
]
BoardOpt = Annotated[Path, typer.Option("--leaderboard", help="Results CSV to append to.")]
IsolationOpt = Annotated[
    str | None,
    typer.Option(
        "--isolation",
        help=(
            "strict (team code in a bubblewrap sandbox) or soft (a child with an audit hook). "
            "Default: $HARNESS_ISOLATION, else strict; without a working bwrap an error when "
            "the code is not yours (score, --all, a competition.toml here), else soft with a "
            "warning."
        ),
        show_default=False,
    ),
]
MemoryOpt = Annotated[
    float | None,
    typer.Option(
        "--memory-gib",
        help="Memory limit of each child job in GiB (default 16, at most 3/4 of RAM; 0: none).",
        show_default=False,
    ),
]


def others_code(command: str, *, all_teams: bool = False) -> str | None:
    """Why ``harness command`` runs code that is not the user's own, or None when it runs a
    team's own code on its own machine (see :func:`harness.sandbox.isolation.use_isolation`:
    then soft is a fallback, else only a choice made by name)."""
    from harness.settings.competition import DEFAULT_PATH

    if command == "score":
        return "`harness score` runs teams' code"
    if all_teams:
        return f"`harness {command} --all` runs every team's code"
    if DEFAULT_PATH.is_file():
        return f"`harness {command}` runs a team's code here ({DEFAULT_PATH} is here)"
    return None


def err(message: str) -> None:
    """A message for the person at the terminal (stderr, so stdout stays machine-readable)."""
    typer.echo(message, err=True)


def jsonable(value: Any) -> Any:
    """``value`` with NaN and infinities as ``null`` and numpy scalars as Python numbers,
    so that ``--json`` output is strict JSON that ``jq`` accepts."""
    import math

    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def emit(result: Any, as_json: bool, text: str) -> None:
    """Print a command's result: strict JSON on request, else the human-readable ``text``."""
    if as_json:
        typer.echo(json.dumps(jsonable(result), indent=2, default=str, allow_nan=False))
    else:
        typer.echo(text)


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``["lr_g=1e-4", "g_width=32"]`` to a dict, values parsed as JSON when they can be."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise HarnessError(f"--set expects key=value, got {item!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out
