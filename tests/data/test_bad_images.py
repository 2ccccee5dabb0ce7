"""Images no one should have to decode: each is one error line naming the file.

A header claiming 15000 x 15000 pixels (PIL's decompression-bomb guard), an empty ``.png`` and
a text file named ``.png``, met by ``data info``, ``data import`` and the train cache.
"""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import pytest

from harness.cli import main
from harness.data import cache as data_cache
from harness.errors import DataError


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` RGB pixels and holds none (a few bytes)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


BAD_FILES = {
    "bomb": (png_header_only(15000, 15000), "too large to decode safely"),
    "empty": (b"", "the file is empty"),
    "text": (b"these are not the pixels you are looking for\n", "cannot identify image file"),
}


def with_bad_image(tiny_data: Path, tmp_path: Path, kind: str, split: str = "train") -> Path:
    root = tmp_path / "facemask"
    shutil.copytree(tiny_data, root)
    bad = root / split / "with_mask" / f"{kind}.png"
    bad.write_bytes(BAD_FILES[kind][0])
    return bad


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    return int(info.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_data_info_names_the_bad_file(
    kind: str, tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = with_bad_image(tiny_data, tmp_path, kind)
    code, err = run_cli(["data", "info", "--data", str(bad.parents[2])], capsys)
    assert code == 1 and "Traceback" not in err
    assert err.startswith(f"error: cannot read image {bad}") and BAD_FILES[kind][1] in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_data_import_names_the_bad_file_and_copies_nothing(
    kind: str, tiny_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = with_bad_image(tiny_data, tmp_path, kind)
    dest = tmp_path / "imported"
    code, err = run_cli(["data", "import", str(bad.parents[2]), "--data", str(dest)], capsys)
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert str(bad) in err and BAD_FILES[kind][1] in err and not dest.exists()


def test_the_train_cache_names_a_decompression_bomb(tiny_data: Path, tmp_path: Path) -> None:
    bad = with_bad_image(tiny_data, tmp_path, "bomb")
    with pytest.raises(DataError, match=f"cannot read image {bad}: it is too large"):
        data_cache.cached_split(bad.parents[2], "train", 16, progress=False)
