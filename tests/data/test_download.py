"""``harness data download``: offline failure, and the full path against a loopback server."""

from __future__ import annotations

import http.server
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import data
from harness.data.download import download_dataset
from harness.errors import DataError


@pytest.fixture
def served_folder(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 serving ``tmp_path/www``; yields (base URL, folder)."""
    www = tmp_path / "www"
    www.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(www), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", www
    finally:
        server.shutdown()


def test_offline_download_fails_at_once_with_import_hint(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(DataError, match="harness data import PATH"):
        download_dataset(tmp_path / "dest", url="http://127.0.0.1:9/dataset.zip", timeout_s=5)
    assert time.monotonic() - started < 5
    assert not (tmp_path / "dest").exists()


def test_download_unpacks_and_imports(
    tiny_data: Path, served_folder: tuple[str, Path], tmp_path: Path
) -> None:
    base, www = served_folder
    staging = tmp_path / "zip-src" / "Face-Mask-Classification-20000-Dataset-main"
    shutil.copytree(tiny_data, staging)
    shutil.make_archive(str(www / "dataset"), "zip", root_dir=tmp_path / "zip-src")
    download_dataset(tmp_path / "dest", url=f"{base}/dataset.zip")
    assert data.split_fingerprint(tmp_path / "dest", "test") == data.split_fingerprint(
        tiny_data, "test"
    )


def test_download_of_a_non_zip_says_so(served_folder: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served_folder
    (www / "page.zip").write_text("<html>rate limited</html>")
    with pytest.raises(DataError, match="not a zip archive"):
        download_dataset(tmp_path / "dest", url=f"{base}/page.zip")
