"""``harness data download``: fetch the original face-mask dataset from GitHub.

The dataset is ndb796/Face-Mask-Classification-20000-Dataset (224 x 224 PNG, 9,000 + 9,000
train and 1,000 + 1,000 test images, CC BY-SA 4.0), whose repository root already has the
``train|test/with_mask|without_mask`` layout. Offline the first connection fails within the
timeout and the error says how to import a copy fetched elsewhere.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from tqdm import tqdm

from harness.data.layout import CheckReport, import_dataset
from harness.errors import DataError

DATASET_URL = "https://github.com/ndb796/Face-Mask-Classification-20000-Dataset/archive/HEAD.zip"
TIMEOUT_S = 20.0


def _offline_message(url: str, reason: object) -> str:
    return (
        f"cannot download the dataset from {url} ({reason}); on a machine with internet, get "
        "https://github.com/ndb796/Face-Mask-Classification-20000-Dataset and copy it here, then "
        "run `harness data import PATH` (or point --data / HARNESS_DATA at it)"
    )


def find_layout_root(folder: Path) -> Path:
    """The first folder at or below ``folder`` that has both ``train`` and ``test`` inside."""
    for candidate in [folder, *sorted(p for p in folder.rglob("*") if p.is_dir())]:
        if (candidate / "train").is_dir() and (candidate / "test").is_dir():
            return candidate
    raise DataError(f"the downloaded archive has no train/ and test/ folders under {folder}")


def download_dataset(
    dest: Path, *, url: str = DATASET_URL, timeout_s: float = TIMEOUT_S, overwrite: bool = False
) -> CheckReport:
    """Download the archive, unpack it to a temporary folder and import it into ``dest``."""
    with tempfile.TemporaryDirectory(prefix="harness-download-") as tmp:
        archive = Path(tmp) / "dataset.zip"
        try:
            with (
                urllib.request.urlopen(url, timeout=timeout_s) as response,
                open(archive, "wb") as out,
            ):
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(
                    total=total, unit="B", unit_scale=True, desc="downloading", file=sys.stderr
                ) as bar:
                    for chunk in iter(lambda: response.read(1 << 20), b""):
                        out.write(chunk)
                        bar.update(len(chunk))
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DataError(_offline_message(url, reason)) from None
        try:
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(Path(tmp) / "unpacked")
        except zipfile.BadZipFile:
            raise DataError(
                f"the download from {url} is not a zip archive; try again later"
            ) from None
        root = find_layout_root(Path(tmp) / "unpacked")
        report = import_dataset(root, dest, overwrite=overwrite)
        shutil.rmtree(Path(tmp) / "unpacked", ignore_errors=True)
    return report
