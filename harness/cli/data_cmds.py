"""``harness data ...``: get, import, inspect and draw datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli._common import (
    DataOpt,
    JsonOpt,
    OverwriteOpt,
    data_app,
    emit,
    err,
)


@data_app.command("info")
def data_info(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Counts per split and class, image sizes and content fingerprints."""
    from harness import data as data_mod
    from harness.data.demo import is_demo
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
    overwrite: OverwriteOpt = False,
) -> None:
    """Check a folder in the dataset layout and copy it to the data folder."""
    from harness.data.layout import import_dataset
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
    overwrite: OverwriteOpt = False,
) -> None:
    """Download the original dataset (ndb796/Face-Mask-Classification-20000-Dataset)."""
    from harness.data.download import download_dataset
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
    from harness.data.demo import make_demo_dataset

    make_demo_dataset(dest, train_per_class=train_per_class, test_per_class=test_per_class)
    typer.echo(f"wrote a demo dataset to {dest} (synthetic faces; marked DEMO)")
