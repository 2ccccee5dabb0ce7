"""The files that come back from the GPU machine: at most 8 per call, 16 MiB each.

An exported checkpoint holds the generator and its EMA copy. Five of the six teams' exports
are 27 to 33 MB and team1's (MLP) and team4's (fully connected) 106 and 141 MB: 477 MB in
all, 24 files of 16 MiB, four calls. Sampling uses the EMA copy whenever a run kept one (all
six teams do), so the file that comes back is the export with the raw generator's weights
left out (``generator`` empty, ``meta["transport"]`` says so): the weights that make every
sample are returned bit for bit, 185 MB in all. Files over 16 MiB are cut into parts, each
whole file's SHA-256 is recorded, and the parts go out in batches of one JSON file plus up to
seven parts: batch 1 with the first call's report, batch 2 with ``collect``. Teams are
ordered so that team4 and team6 (the comparison the board is for) come back in batch 1.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from gpuboard import RETURN_FILE_LIMIT, RETURN_FILES
from harness.errors import HarnessError

ORDER = ("team4", "team6", "team2", "team3", "team5", "team1")
PART_BYTES = RETURN_FILE_LIMIT - 2**16  # a margin under the limit
PARTS_PER_BATCH = RETURN_FILES - 1  # one file of each batch is its JSON
RESERVE_S = 45.0  # after training: slim, cut, copy, with a margin
TRANSPORT_NOTE = (
    "raw generator weights left out for the return trip; sampling uses the EMA copy, "
    "which is the export's bit for bit"
)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def slim(source: Path, target: Path) -> None:
    """The export at ``source`` without the raw generator when it has an EMA copy."""
    import torch

    state = torch.load(source, map_location="cpu", weights_only=True)
    if state.get("ema"):
        state["generator"] = {}
        state["meta"]["transport"] = TRANSPORT_NOTE
    torch.save(state, target)


def _order(team: str) -> tuple[int, str]:
    return (ORDER.index(team) if team in ORDER else len(ORDER), team)


def prepare_returns(
    exports: dict[str, Path], folder: Path, *, part_bytes: int | None = None
) -> dict[str, Any]:
    """Slim and cut every export into ``folder``; returns the manifest (also returns.json)."""
    size = part_bytes or PART_BYTES
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    files: dict[str, Any] = {}
    parts: list[str] = []
    for team in sorted(exports, key=_order):
        whole = folder / f"{team}.pt"
        slim(exports[team], whole)
        data = whole.read_bytes()
        count = max(1, -(-len(data) // size))
        names = [whole.name] if count == 1 else [f"{whole.name}.part{i + 1}of{count}"
                                                 for i in range(count)]  # fmt: skip
        if count > 1:
            for i, name in enumerate(names):
                (folder / name).write_bytes(data[i * size : (i + 1) * size])
            whole.unlink()
        files[whole.name] = {
            "team": team,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "parts": names,
        }
        parts += names
    batches = [parts[i : i + PARTS_PER_BATCH] for i in range(0, len(parts), PARTS_PER_BATCH)]
    manifest = {
        "files": files,
        "batches": max(1, len(batches)),
        "batch_parts": batches or [[]],
        "part_bytes": size,
        "note": TRANSPORT_NOTE,
    }
    (folder / "returns.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def write_batch(folder: Path, out: Path, batch: int, info: dict[str, Any]) -> None:
    """Copy batch ``batch``'s parts to ``out`` with one JSON file (``report.json`` for batch
    1, ``collect-N.json`` after), never more than 8 files of 16 MiB."""
    manifest = json.loads((folder / "returns.json").read_text())
    if not 1 <= batch <= len(manifest["batch_parts"]):
        names: list[str] = []
        info["batch_note"] = f"no batch {batch}: there are {manifest['batches']}"
    else:
        names = manifest["batch_parts"][batch - 1]
    for name in names:
        shutil.copyfile(folder / name, out / name)
    info["batch"] = {"number": batch, "of": manifest["batches"], "files": names}
    if batch == 1:
        info["returns"] = manifest
    name = "report.json" if batch == 1 else f"collect-{batch}.json"
    (out / name).write_text(json.dumps(info, indent=2))
    written = [p for p in out.iterdir() if p.is_file()]
    too_big = [p.name for p in written if p.stat().st_size > RETURN_FILE_LIMIT]
    if len(written) > RETURN_FILES or too_big:
        raise HarnessError(f"$OUT holds {len(written)} files ({too_big} over 16 MiB)")


def reassemble(returned: list[Path], target: Path) -> dict[str, Any]:
    """Join the parts found in the ``returned`` folders into ``target``; each whole file is
    checked against its recorded SHA-256. Returns the report, with ``complete`` and
    ``missing`` (team names whose parts did not all come back)."""
    reports = [d / "report.json" for d in returned if (d / "report.json").is_file()]
    if not reports:
        raise HarnessError(
            f"no report.json in {', '.join(map(str, returned))}; pass the folder that the "
            "remote call's files came back in"
        )
    report = json.loads(reports[0].read_text())
    report["collected"] = [
        json.loads(p.read_text()) for d in returned for p in sorted(d.glob("collect-*.json"))
    ]
    found = {p.name: p for d in returned for p in d.iterdir() if p.is_file()}
    target.mkdir(parents=True, exist_ok=True)
    complete, missing = {}, []
    for name, entry in report["returns"]["files"].items():
        if not all(part in found for part in entry["parts"]):
            missing.append(entry["team"])
            continue
        data = b"".join(found[part].read_bytes() for part in entry["parts"])
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise HarnessError(f"{name} does not match its recorded SHA-256; fetch it again")
        (target / name).write_bytes(data)
        complete[entry["team"]] = target / name
    report["complete"], report["missing"] = complete, missing
    return report
