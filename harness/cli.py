"""The ``harness`` command line: thin commands over the library.

Results go to stdout (``--json`` where it makes sense); progress and messages go to stderr.
A user's mistake ends in one line, ``error: ...``, and exit code 1; set ``HARNESS_DEBUG=1``
for the traceback. Heavy modules (torch) are imported inside commands, so ``--help`` is quick.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import click
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
    typer.Option("--data", help="Dataset folder [default: $HARNESS_DATA, else data/facemask]."),
]
RunsOpt = Annotated[
    Path | None, typer.Option("--runs", help="Runs folder [default: $HARNESS_RUNS, else runs].")
]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")]
TeamArg = Annotated[Path, typer.Argument(help="A team folder, e.g. submissions/team2.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
TuneDirOpt = Annotated[Path, typer.Option(help="Where `harness tune` keeps its studies.")]


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


# ---------------------------------------------------------------- data


@data_app.command("info")
def data_info(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Counts per split and class, image sizes and content fingerprints."""
    from harness import data as data_mod
    from harness.demo import is_demo
    from harness.paths import data_root

    root = data_root(data)
    info = data_mod.dataset_info(root)
    info["demo"] = is_demo(root)
    lines = [
        f"dataset {root}" + ("  [DEMO: synthetic, scores mean nothing]" if info["demo"] else "")
    ]
    for split, counts in info["counts"].items():  # type: ignore[union-attr]
        parts = ", ".join(f"{n} {name}" for name, n in counts.items())
        lines.append(
            f"  {split:5s}: {parts}  (fingerprint {str(info['fingerprint_' + split])[:16]})"
        )
    sizes = ", ".join(f"{k} x{v}" for k, v in info["sizes_sampled"].items())  # type: ignore[union-attr]
    lines.append(f"  sizes (sampled): {sizes}")
    lines.append(f"  fingerprint: {info['fingerprint']}")
    emit(info, as_json, "\n".join(lines))


@data_app.command("import")
def data_import(
    source: Annotated[Path, typer.Argument(help="Folder with train|test/with_mask|without_mask.")],
    data: DataOpt = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace data already at the destination.")
    ] = False,
) -> None:
    """Check a folder in the dataset layout and copy it to the data folder."""
    from harness.data import import_dataset
    from harness.paths import data_root

    dest = data_root(data)
    report = import_dataset(source, dest, overwrite=overwrite)
    for line in report.converted[:20]:
        err(f"converted {line}")
    if len(report.converted) > 20:
        err(f"... and {len(report.converted) - 20} more converted to RGB")
    total = sum(report.sizes.values())
    typer.echo(f"imported {total} images into {dest} ({len(report.converted)} converted to RGB)")


@data_app.command("download")
def data_download(
    data: DataOpt = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace data already at the destination.")
    ] = False,
) -> None:
    """Download the original dataset (ndb796/Face-Mask-Classification-20000-Dataset)."""
    from harness.download import download_dataset
    from harness.paths import data_root

    dest = data_root(data)
    report = download_dataset(dest, overwrite=overwrite)
    typer.echo(f"downloaded {sum(report.sizes.values())} images into {dest}")


@data_app.command("demo")
def data_demo(
    dest: Annotated[Path, typer.Argument(help="Where to write the demo dataset.")] = Path(
        "data/demo"
    ),
    train_per_class: int = 300,
    test_per_class: int = 100,
) -> None:
    """Draw a synthetic demo dataset (for trying the harness offline; scores mean nothing)."""
    from harness.demo import make_demo_dataset

    make_demo_dataset(dest, train_per_class=train_per_class, test_per_class=test_per_class)
    typer.echo(f"wrote a demo dataset to {dest} (synthetic faces; marked DEMO)")


# ---------------------------------------------------------------- teams


@app.command()
def validate(team: TeamArg, as_json: JsonOpt = False) -> None:
    """Import a team's model.py in a child process and check it against GeneratorSpec."""
    from harness.train import validate_team

    summary = validate_team(team)
    text = (
        f"{team}: ok: {summary['name']}, latent {summary['latent_dim']}, "
        f"{summary['image_size']}px, loss {summary['loss']}, "
        f"G {summary['generator_params'] / 1e6:.2f}M / D {summary['discriminator_params'] / 1e6:.2f}M "
        f"parameters, search space: {', '.join(summary['search_space']) or 'none'}"
    )
    emit(summary, as_json, text)


@app.command()
def train(
    team: TeamArg,
    data: DataOpt = None,
    runs: RunsOpt = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs [default: the team's].")] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Batch size [default: the team's].")
    ] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many D steps.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed [default: the team's].")] = None,
    device: DeviceOpt = "auto",
    resume: Annotated[
        str | None,
        typer.Option(help="Continue a run: its id, or 'latest'.", show_default=False),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a setting or hparam: --set lr_g=1e-4 (repeatable)."),
    ] = None,
    params: Annotated[
        str | None,
        typer.Option(
            "--params", help="'best' (a `harness tune` study's best trial) or a JSON file."
        ),
    ] = None,
    study: Annotated[
        str | None, typer.Option(help="The study --params best reads [default: latest].")
    ] = None,
    tune_dir: TuneDirOpt = Path("tune"),
    timeout: Annotated[
        float | None, typer.Option(help="Stop training after this many seconds.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Train a team's GAN on the train split, with checkpoints, grids and resume."""
    from harness.paths import data_root, runs_root
    from harness.train import train_team

    overrides: dict[str, Any] = {}
    source = None
    trial_params = None
    if params:
        from harness.params import load_params

        trial_params, source = load_params(team, params, tune_root=tune_dir, study=study)
        err(f"training with parameters from {source['file']}: {trial_params}")
    overrides.update(parse_sets(param or []))
    for key, value in (
        ("epochs", epochs),
        ("batch_size", batch_size),
        ("max_steps", max_steps),
        ("seed", seed),
    ):
        if value is not None:
            overrides[key] = value
    result = train_team(
        team,
        data_root=data_root(data),
        runs_root=runs_root(runs),
        overrides=overrides,
        device=device,
        resume=resume,
        timeout_s=timeout,
        params_source=source,
        trial_params=trial_params,
    )
    text = (
        f"{team}: run {result['run_id']} trained to epoch {result['epochs_done']} "
        f"(step {result['steps_done']}, {result['images_per_s']:.0f} images/s on {result['device']})\n"
        f"  checkpoint {result['checkpoint']}\n  grid       {result['grid']}"
    )
    emit(result, as_json, text)


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


SubmissionsOpt = Annotated[
    Path, typer.Option("--submissions", help="Folder of team folders, for --all.")
]
BoardOpt = Annotated[Path, typer.Option("--leaderboard", help="Results CSV to append to.")]


@app.command()
def sample(
    team: TeamArg,
    runs: RunsOpt = None,
    run: Annotated[str | None, typer.Option(help="Run id [default: latest trained].")] = None,
    checkpoint: Annotated[Path | None, typer.Option(help="A checkpoint file of that run.")] = None,
    n: Annotated[int, typer.Option("--n", help="Samples per class.")] = 1000,
    seed: Annotated[int, typer.Option(help="Sample seed.")] = 0,
    device: DeviceOpt = "auto",
) -> None:
    """Generate N samples per class from a trained run into samples.npz and a grid PNG."""
    from harness.paths import runs_root
    from harness.sample import sample_team

    result = sample_team(
        team,
        runs_root=runs_root(runs),
        run_id=run,
        checkpoint=checkpoint,
        n_per_class=n,
        seed=seed,
        device=device,
    )
    typer.echo(f"{result.path}\n{result.path.with_suffix('.png')}")


@app.command()
def score(
    team: Annotated[Path | None, typer.Argument(help="A team folder (or use --all).")] = None,
    all_teams: Annotated[
        bool, typer.Option("--all", help="Score every team in --submissions.")
    ] = False,
    submissions: SubmissionsOpt = Path("submissions"),
    data: DataOpt = None,
    runs: RunsOpt = None,
    run: Annotated[str | None, typer.Option(help="Run id [default: each team's latest].")] = None,
    n: Annotated[int, typer.Option("--n", help="Samples per class.")] = 1000,
    seed: Annotated[int, typer.Option(help="Sample seed, the same for every team.")] = 0,
    bootstrap: Annotated[
        int, typer.Option(help="Bootstrap replicates for the interval (0: none).")
    ] = 100,
    labels: Annotated[
        bool, typer.Option(help="Measure label fidelity with the mask classifier.")
    ] = True,
    device: DeviceOpt = "auto",
    leaderboard: BoardOpt = Path("leaderboard/results.csv"),
    as_json: JsonOpt = False,
) -> None:
    """Score one team, or every team with --all, and append the rows to the leaderboard."""
    from harness import leaderboard as board
    from harness.paths import data_root, runs_root
    from harness.score import Scorer, ScoreSettings, discover_teams

    if (team is None) == (not all_teams):
        raise HarnessError("give one team folder, or --all to score every team in --submissions")
    teams = discover_teams(submissions) if all_teams else [team]
    settings = ScoreSettings(n_per_class=n, seed=seed, bootstrap=bootstrap, device=device)
    root = data_root(data)
    from harness.data import list_split

    list_split(root, "test")  # a wrong data folder is one error, not one failed row per team
    judge = None
    if labels:
        from harness.label_fidelity import LabelJudge

        judge = LabelJudge(root, device=device, say=err)
    scorer = Scorer(
        data_root=root, runs_root=runs_root(runs), settings=settings, say=err, label_judge=judge
    )
    rows = scorer.score_teams(teams, run_id=run)  # type: ignore[arg-type]
    board.append_rows(rows, leaderboard)
    import pandas as pd

    table = board.ranked(pd.DataFrame(rows), all_runs=True)
    emit(rows, as_json, table.to_string(index=False))
    if not all_teams and rows[0]["status"] != "ok":
        raise typer.Exit(1)


@app.command()
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
    from harness.metrics.fid import frechet_distance
    from harness.metrics.inception import InceptionFeatures
    from harness.metrics.sources import statistics_of

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


@app.command()
def weights(as_json: JsonOpt = False) -> None:
    """Where the FID Inception weights are, their sha256, and how they were obtained."""
    from harness.metrics.weights import ensure_weights

    info = ensure_weights()
    text = (
        f"path:         {info.path}\nsha256:       {info.sha256}\n"
        f"source:       {info.source}\nverification: {info.verification}"
    )
    emit(info.as_dict(), as_json, text)


@app.command("leaderboard")
def leaderboard_cmd(
    path: Annotated[Path, typer.Option("--path", help="Results CSV.")] = Path(
        "leaderboard/results.csv"
    ),
    markdown: Annotated[
        Path | None, typer.Option(help="Also write the board as Markdown here.")
    ] = None,
    all_runs: Annotated[
        bool, typer.Option("--all-runs", help="Every ok run, not each team's best.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The ranked board (each team's best run); lower score wins."""
    from harness import leaderboard as board

    table = board.ranked(board.read(path), all_runs=all_runs)
    if markdown is not None:
        from harness import atomic

        atomic.write_text(markdown, board.to_markdown(table) + "\n")
        err(f"wrote {markdown}")
    emit(
        table.to_dict(orient="records"),
        as_json,
        table.to_string(index=False) if len(table) else "no rows yet",
    )


@app.command()
def tune(
    team: TeamArg,
    trials: Annotated[int, typer.Option(help="Finished trials the study should reach.")] = 20,
    timeout: Annotated[
        float | None, typer.Option(help="Stop starting trials after this many seconds.")
    ] = None,
    study: Annotated[
        str | None, typer.Option(help="Study name [default: the team's name].")
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(help="RDB URL (postgresql://...) or a .journal file [default: SQLite]."),
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes on this machine.")] = 1,
    pruner: Annotated[str, typer.Option(help="median, hyperband or none.")] = "median",
    epochs: Annotated[int, typer.Option(help="Training epochs per trial.")] = 2,
    report_every: Annotated[int, typer.Option(help="Epochs between validation scores.")] = 1,
    n_val: Annotated[int, typer.Option(help="Samples per class for the validation FID.")] = 200,
    dims: Annotated[
        int, typer.Option(help="Inception feature dims for the validation FID.")
    ] = 2048,
    seed: int = 0,
    data: DataOpt = None,
    device: DeviceOpt = "auto",
    tune_dir: TuneDirOpt = Path("tune"),
    report_only: Annotated[
        bool, typer.Option("--report", help="Only report: best trials and plots.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Search a team's hyperparameters with Optuna on a validation split of train (never test)."""
    from harness.paths import data_root
    from harness.tune import TuneSettings, report, tune_team

    settings = TuneSettings(
        trials=trials,
        study=study,
        storage=storage,
        workers=workers,
        timeout_s=timeout,
        pruner=pruner,
        epochs=epochs,
        report_every=report_every,
        n_val=n_val,
        dims=dims,
        seed=seed,
        device=device,
    )
    if report_only:
        result = report(team, tune_root=tune_dir, settings=settings, plots=True)
    else:
        result = tune_team(team, data_root=data_root(data), tune_root=tune_dir, settings=settings)
    counts = ", ".join(f"{v} {k}" for k, v in result["counts"].items() if v)
    lines = [f"study {result['study']} ({result['storage']}): {counts}"]
    for row in result["best"][:5]:
        shown = ", ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in row.items()
            if k not in ("trial", "value", "run_id")
        )
        lines.append(f"  trial {row['trial']:>3}: {row['value']:8.2f}  {shown}")
    if result.get("best_json"):
        lines.append(f"best parameters: {result['best_json']} (train with --params best)")
    lines += [f"plot: {p}" for p in result.get("plots", [])]
    emit(result, as_json, "\n".join(lines))


@app.command()
def quickstart(
    data: DataOpt = None,
    team: Annotated[Path, typer.Option(help="The team to train.")] = Path("submissions/team2"),
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 1,
    n: Annotated[int, typer.Option("--n", help="Samples per class for scoring.")] = 250,
    workdir: Annotated[Path, typer.Option(help="Where runs and results go.")] = Path("quickstart"),
    device: DeviceOpt = "auto",
    download: Annotated[
        bool, typer.Option(help="Try downloading the data when none is found.")
    ] = True,
) -> None:
    """Run the whole loop once: data, a short training, scoring, the ranked board."""
    from harness.quickstart import run_quickstart

    outcome = run_quickstart(
        data_flag=data,
        team_dir=team,
        workdir=workdir,
        epochs=epochs,
        n_per_class=n,
        device=device,
        say=err,
        allow_download=download,
    )
    trained = outcome["train"]
    typer.echo(
        f"\ntrained {team} for {trained['epochs_done']} epoch(s) at {trained['images_per_s']:.0f} images/s "
        f"on {trained['device']}\nsample grid: {trained['grid']}\n"
    )
    board = outcome["board"]
    typer.echo(board.to_string(index=False))
    typer.echo(
        f"\nresults: {outcome['board_path']} (score = FID(with_mask) + FID(without_mask), lower wins)"
    )
    if n < 1000:
        typer.echo(
            f"scored with {n} samples per class; the competition uses 1,000 (FID falls as N grows)"
        )
    if outcome["demo"]:
        typer.echo("DEMO data: these numbers say nothing about the real competition")


# ---------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, turning known errors into one line and exit 1."""
    debug = os.environ.get("HARNESS_DEBUG") == "1"
    try:
        result = app(args=argv, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        err("interrupted")
        sys.exit(130)
    except HarnessError as exc:
        if debug:
            raise
        err(f"error: {exc}")
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)
