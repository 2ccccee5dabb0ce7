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


def err(message: str) -> None:
    """A message for the person at the terminal (stderr, so stdout stays machine-readable)."""
    typer.echo(message, err=True)


def emit(result: Any, as_json: bool, text: str) -> None:
    """Print a command's result: JSON on request, else the human-readable ``text``."""
    typer.echo(json.dumps(result, indent=2, default=str) if as_json else text)


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


@app.command()
def quickstart(
    data: DataOpt = None,
    team: Annotated[Path, typer.Option(help="The team to train.")] = Path("submissions/team2"),
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 1,
    workdir: Annotated[Path, typer.Option(help="Where runs and results go.")] = Path("quickstart"),
    device: DeviceOpt = "auto",
    download: Annotated[
        bool, typer.Option(help="Try downloading the data when none is found.")
    ] = True,
) -> None:
    """Run the whole loop once: find or fetch data, train a team briefly, show the outcome."""
    from harness.quickstart import run_quickstart

    outcome = run_quickstart(
        data_flag=data,
        team_dir=team,
        workdir=workdir,
        epochs=epochs,
        device=device,
        say=err,
        allow_download=download,
    )
    trained = outcome["train"]
    typer.echo(
        f"trained {team} to epoch {trained['epochs_done']} at {trained['images_per_s']:.0f} images/s; "
        f"sample grid: {trained['grid']}"
    )
    if outcome["demo"]:
        typer.echo("(DEMO data: these numbers say nothing about the real competition)")


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
