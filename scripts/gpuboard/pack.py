"""``pack`` (here): wheels the GPU machine lacks and the train split, into ``.gpu-pack/``.

The wheels are the versions installed here (the ones the tests ran with), downloaded for
CPython 3.12 on manylinux x86-64 without their dependencies: :data:`gpuboard.PACKED` is the
whole list. The split goes as lossless WebP (:mod:`harness.data.transport`). Then the size of
everything that travels (the tracked and untracked-but-not-ignored files, plus the carried
folder) is checked against the 64 MiB limit, and the ``run`` call to use is printed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import shutil
import subprocess
import sys
from pathlib import Path

from gpuboard import DATA_FILE, MIB, PACKED, REPO, TRANSFER_LIMIT, WHEELS
from harness.errors import HarnessError


def wheel_requirements() -> list[str]:
    """``name==version`` of each packed distribution, as installed here."""
    out = []
    for name in PACKED:
        try:
            out.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            raise HarnessError(
                f"{name} is not installed here; install the harness (pip install -e .) first"
            ) from None
    return out


def download_wheels(folder: Path) -> list[Path]:
    """``pip download`` the packed distributions for the GPU machine into ``folder``."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp",
        "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_17_x86_64",
        "--platform", "manylinux_2_28_x86_64", "-d", str(folder), *wheel_requirements(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise HarnessError(f"pip download failed ({tail}); check the package index")
    return sorted(folder.glob("*.whl"))


def archive_wheels(wheels: list[Path], archive: Path) -> int:
    """Write the wheels into one ``.tar.xz``, each re-zipped without compression first.

    A wheel is a deflated zip, which xz cannot shrink further (9.3 MB of wheels: 9.1 MB as
    a ``.tar.xz``); stored zips of the same members compress to 5.4 MB. The members, their
    order and bytes are unchanged, so each is still the wheel pip checks against its RECORD.
    Returns the archive's size in bytes.
    """
    import copy
    import io
    import lzma
    import tarfile
    import zipfile

    with lzma.open(archive, "wb", preset=9) as xz, tarfile.open(fileobj=xz, mode="w") as tar:
        for wheel in wheels:
            buffer = io.BytesIO()
            with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(buffer, "w") as stored:
                for info in source.infolist():
                    data = source.read(info)
                    member = copy.copy(info)
                    member.compress_type = zipfile.ZIP_STORED
                    stored.writestr(member, data)
            member = tarfile.TarInfo(wheel.name)
            member.size = buffer.tell()
            buffer.seek(0)
            tar.addfile(member, buffer)
    return archive.stat().st_size


def travelling_files() -> list[Path]:
    """The working tree as the ``run`` tool copies it: tracked and untracked files that git
    does not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    return [REPO / name.decode() for name in listed if name and (REPO / name.decode()).is_file()]


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def pack(args: argparse.Namespace) -> int:
    from harness.data import transport
    from harness.paths import data_root

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    wheels: list[dict[str, object]] = []
    archive = out / WHEELS
    archive.unlink(missing_ok=True)
    if args.no_wheels:
        print("wheels: skipped (--no-wheels); the GPU machine needs them", file=sys.stderr)
    else:
        print(f"wheels: downloading {len(PACKED)} for CPython 3.12 ...", file=sys.stderr)
        staging = out / ".wheels-download"
        downloaded = download_wheels(staging)
        wheels = [{"file": w.name, "bytes": w.stat().st_size} for w in downloaded]
        print(f"wheels: archiving into {archive.name} (xz, a minute) ...", file=sys.stderr)
        archive_wheels(downloaded, archive)
        shutil.rmtree(staging)
    root = data_root(args.data)
    print(f"data: packing {root}/train at {args.size} px as lossless WebP ...", file=sys.stderr)
    data = transport.pack_split(root, "train", args.size, out / DATA_FILE.format(size=args.size))
    tree = sum(p.stat().st_size for p in travelling_files())
    packed = folder_bytes(out)
    total = tree + packed
    report = {
        "wheels": wheels,
        "wheels_bytes": sum(int(w["bytes"]) for w in wheels),  # type: ignore[call-overload]
        "wheels_archive_bytes": archive.stat().st_size if archive.is_file() else 0,
        "data": {k: data[k] for k in ("path", "bytes", "count", "raw_bytes")},
        "tree_bytes": tree,
        "pack_bytes": packed,
        "total_bytes": total,
        "limit_bytes": TRANSFER_LIMIT,
        "fits": total <= TRANSFER_LIMIT,
        "carry": [str(out.resolve().relative_to(REPO)) if out.resolve().is_relative_to(REPO)
                  else str(out)],
    }  # fmt: skip
    print(json.dumps(report, indent=2))
    print(
        f"travels: tree {tree / MIB:.1f} MiB + {out.name} {packed / MIB:.1f} MiB "
        f"(wheels {report['wheels_archive_bytes'] / MIB:.1f}, data {data['bytes'] / MIB:.1f} for "
        f"{data['count']} images, {data['raw_bytes'] / MIB:.1f} MiB raw) = {total / MIB:.1f} "
        f"MiB of {TRANSFER_LIMIT / MIB:.0f} MiB",
        file=sys.stderr,
    )
    if total > TRANSFER_LIMIT:
        raise HarnessError(
            f"what travels is {total / MIB:.1f} MiB, over the {TRANSFER_LIMIT / MIB:.0f} MiB "
            "limit; nothing was shrunk: remove large untracked files or split the transfer"
        )
    print(
        f'run it with the device tool: command "bash scripts/gpu_board.sh remote", '
        f"carry {json.dumps(report['carry'])}, timeout_s 600",
        file=sys.stderr,
    )
    return 0
