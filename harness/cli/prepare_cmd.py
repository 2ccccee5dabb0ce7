"""``harness prepare``: the one-time caches of scoring and tuning, made ahead, with progress."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from harness.cli._common import DataOpt, DeviceOpt, JsonOpt, emit, err


def prepare(
    data: DataOpt = None,
    size: Annotated[
        list[int] | None,
        typer.Option("--size", help="Image size the teams generate (repeatable; default 64)."),
    ] = None,
    dims: Annotated[int, typer.Option(help="Inception feature dims (what score uses).")] = 2048,
    memorisation: Annotated[
        bool, typer.Option(help="The train features of the memorisation check (MiFID).")
    ] = True,
    labels: Annotated[bool, typer.Option(help="The label classifier.")] = True,
    tune: Annotated[
        bool, typer.Option(help="The validation features that `harness tune` scores against.")
    ] = True,
    device: DeviceOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Compute every one-time cache of `score` and `tune` now (test and train features, the
    label classifier, tuning's validation features), each with images/s and the time left."""
    from harness.cli.score_cmds import checked_data
    from harness.scoring.prepare import prepare_caches

    root = checked_data(data)
    done = prepare_caches(
        root,
        sizes=size or [64],
        dims=dims,
        device=device,
        memorisation=memorisation,
        labels=labels,
        tuning=tune,
        say=err,
    )
    lines = [
        f"{p.name:<48} {p.size:>4}px  "
        + ("already cached" if p.was_cached else f"computed in {p.seconds:.0f} s")
        for p in done
    ]
    lines.append(
        f"every one-time cache for {root} is ready; `harness score` starts sampling at once"
    )
    emit([asdict(p) for p in done], as_json, "\n".join(lines))
