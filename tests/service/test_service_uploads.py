"""Uploads are unpacked only into their own new folder, and checked as `harness score` checks."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from harness.service.uploads import Caps, UploadRefused, check_folder, pack, unpack
from tests.service.conftest import SIZE, N, write_samples


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w") as tar:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, b""


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        (_file("../escape.py"), "without '..'"),
        (_file("/etc/evil.py"), "only relative paths"),
        (_file("a/../../b.py"), "without '..'"),
        (_link("model.py", "/etc/passwd"), "a link"),
        (_link("model.py", "samples.npz", tarfile.LNKTYPE), "a link"),
        (_link("dev", "", tarfile.CHRTYPE), "special file"),
        (_link("fifo", "", tarfile.FIFOTYPE), "special file"),
    ],
)
def test_a_hostile_member_is_refused_and_nothing_lands_outside(
    tmp_path: Path, member: tuple[tarfile.TarInfo, bytes], reason: str
) -> None:
    archive = _tar(tmp_path / "a.tar", [_file("ok.py"), member])
    dest = tmp_path / "box" / "team"
    (tmp_path / "box").mkdir()
    with pytest.raises(UploadRefused, match=reason):
        unpack(archive, dest)
    outside = {p.name for p in tmp_path.rglob("*")} - {"a.tar", "box", "team", "ok.py"}
    assert outside == set()


def test_caps_on_file_count_and_unpacked_size(tmp_path: Path) -> None:
    many = _tar(tmp_path / "many.tar", [_file(f"f{i}.py") for i in range(11)])
    with pytest.raises(UploadRefused, match="more than 10 files"):
        unpack(many, tmp_path / "d1", Caps(files=10))
    big = _tar(tmp_path / "big.tar", [_file("big.bin", b"0" * 5000)])
    with pytest.raises(UploadRefused, match="unpacks to more than") as caught:
        unpack(big, tmp_path / "d2", Caps(unpacked_bytes=4096))
    assert caught.value.status == 413


def test_an_existing_folder_is_never_unpacked_into(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "a.tar", [_file("model.py")])
    (tmp_path / "there").mkdir()
    with pytest.raises(FileExistsError):
        unpack(archive, tmp_path / "there")


def test_a_duplicate_member_and_a_non_archive_are_refused(tmp_path: Path) -> None:
    twice = _tar(tmp_path / "t.tar", [_file("model.py"), _file("model.py")])
    with pytest.raises(UploadRefused, match="twice"):
        unpack(twice, tmp_path / "d")
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not an archive at all" * 100)
    with pytest.raises(UploadRefused, match="not a tar archive"):
        unpack(junk, tmp_path / "d2")


def test_pack_and_unpack_round_trip_and_the_layout_checks(tmp_path: Path) -> None:
    team = write_samples(tmp_path / "subs" / "team1", seed=1)
    (team / ".git").mkdir()
    (team / ".git" / "secret").write_text("x")
    archive = tmp_path / "up.tar"
    archive.write_bytes(pack(team))
    out = tmp_path / "box" / "team1"
    (tmp_path / "box").mkdir()
    assert unpack(archive, out) == ["samples.npz"]
    assert check_folder(out, n_per_class=N, image_size=SIZE) == "samples"
    with pytest.raises(UploadRefused, match="expected \\[N, 32, 32, 3\\]"):
        check_folder(out, n_per_class=N, image_size=32)
    with pytest.raises(UploadRefused, match="expected 5"):
        check_folder(out, n_per_class=5, image_size=SIZE)


def test_layout_faults_are_refused_in_one_line_without_paths(tmp_path: Path) -> None:
    ckpt = tmp_path / "box" / "team2"
    ckpt.mkdir(parents=True)
    (ckpt / "checkpoint.pt").write_bytes(b"x")
    with pytest.raises(UploadRefused, match=r"no model\.py") as caught:
        check_folder(ckpt, n_per_class=N, image_size=SIZE)
    assert str(tmp_path) not in str(caught.value)
    (ckpt / "model.py").write_text("def broken(:\n")
    with pytest.raises(UploadRefused, match=r"model\.py is not valid Python"):
        check_folder(ckpt, n_per_class=N, image_size=SIZE)
    empty = tmp_path / "box" / "team3"
    (empty / "notes").mkdir(parents=True)
    with pytest.raises(UploadRefused, match="nothing to score"):
        check_folder(empty, n_per_class=N, image_size=SIZE)
