"""A hostile team's probe: imported by its model.py, it tries every route it knows to the
held-out data, to other teams, to the leaderboard and to the network, and prints what it got.

The test copies this file into the team folder beside ``targets.json`` (the paths a hostile
team would guess or learn: the test images, the caches, the board, another team's files, a
port on 127.0.0.1). Each route returns True when it got what it wanted. The report is one line
on stdout, ``HOSTILE-REPORT {json}``, which the harness relays to its stderr; the test also
checks the files and the socket itself rather than trusting the report.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
T = json.loads((HERE / "targets.json").read_text())
JOB = sys.argv[1] if len(sys.argv) > 1 else "unknown"
O_RDONLY, O_WRONLY_APPEND = 0, 0o2001
WALK_BUDGET_S = 3.0
WALK_SKIPS = ("/proc", "/sys", "/dev", "/usr")  # kernel views, and the system's programs


def _request() -> dict:
    return json.loads(Path(sys.argv[2]).read_text())


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.fopen.restype = ctypes.c_void_p
    libc.fread.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    return libc


def python_open() -> bool:
    return len(Path(T["test_file"]).read_bytes()) > 0


def os_listdir() -> bool:
    return Path(T["test_file"]).name in os.listdir(T["test_dir"])


def subprocess_cat() -> bool:
    return len(subprocess.run(["cat", T["test_file"]], capture_output=True).stdout) > 0


def subprocess_ls() -> bool:
    out = subprocess.run(["ls", T["test_dir"]], capture_output=True, text=True).stdout
    return Path(T["test_file"]).name in out


def os_system() -> bool:
    leak = f"/tmp/leak-{os.getpid()}"
    return os.system(f"cat '{T['test_file']}' > {leak} 2>/dev/null") == 0 and (
        os.path.getsize(leak) > 0
    )


def ctypes_open() -> bool:
    libc = _libc()
    fd = libc.open(T["test_file"].encode(), O_RDONLY)
    if fd < 0:
        return False
    buffer = ctypes.create_string_buffer(64)
    count = libc.read(fd, buffer, 64)
    libc.close(fd)
    return count > 0


def ctypes_fopen() -> bool:
    libc = _libc()
    handle = libc.fopen(T["test_file"].encode(), b"rb")
    if not handle:
        return False
    buffer = ctypes.create_string_buffer(64)
    count = libc.fread(buffer, 1, 64, handle)
    libc.fclose(handle)
    return count > 0


def dir_fd_listdir() -> bool:
    fd = os.open(T["test_dir"], os.O_RDONLY)
    try:
        return Path(T["test_file"]).name in os.listdir(fd)
    finally:
        os.close(fd)


def dir_fd_open() -> bool:
    folder = os.open(T["test_dir"], os.O_RDONLY)
    try:
        fd = os.open(Path(T["test_file"]).name, os.O_RDONLY, dir_fd=folder)
        data = os.read(fd, 64)
        os.close(fd)
        return len(data) > 0
    finally:
        os.close(folder)


def os_link() -> bool:
    alias = f"/tmp/alias-{os.getpid()}.png"
    os.link(T["test_file"], alias)
    return len(Path(alias).read_bytes()) > 0


def cv2_imread() -> bool:
    import cv2

    return cv2.imread(T["test_file"]) is not None


def torchvision_decode() -> bool:
    import torchvision

    return torchvision.io.decode_image(T["test_file"]).numel() > 0


def torch_from_file() -> bool:
    import torch

    return int(torch.from_file(T["test_file"], size=16, dtype=torch.uint8).sum()) > 0


def numpy_fromfile() -> bool:
    import numpy as np

    return np.fromfile(T["test_file"], dtype=np.uint8).size > 0


def pil_open() -> bool:
    from PIL import Image

    with Image.open(T["test_file"]) as image:
        return image.size[0] > 0


def proc_parent_root() -> bool:
    return len(Path(f"/proc/{os.getppid()}/root{T['test_file']}").read_bytes()) > 0


def proc_1_root() -> bool:
    return len(Path(f"/proc/1/root{T['test_file']}").read_bytes()) > 0


def proc_parent_cmdline() -> bool:
    seen = b""
    for name in ("cmdline", "environ"):
        with contextlib.suppress(OSError):
            seen += Path(f"/proc/{os.getppid()}/{name}").read_bytes()
    return T["data_root"].encode() in seen


def proc_mountinfo() -> bool:
    return T["data_root"] in Path("/proc/self/mountinfo").read_text()


def walk_from_root() -> bool:
    deadline = time.monotonic() + WALK_BUDGET_S
    name = Path(T["test_file"]).name
    for folder, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in WALK_SKIPS]
        if name in files and os.path.join(folder, name) == T["test_file"]:
            return True
        if time.monotonic() > deadline:
            return False
    return False


def request_names_data() -> bool:
    return T["data_root"] in Path(sys.argv[2]).read_text()


def environment_names_data() -> bool:
    return any(T["data_root"] in value for value in os.environ.values())


def heldout_tensors() -> bool:
    return len(Path(T["heldout_images"]).read_bytes()) > 0


def heldout_tensors_ctypes() -> bool:
    libc = _libc()
    fd = libc.open(T["heldout_images"].encode(), O_RDONLY)
    if fd < 0:
        return False
    libc.close(fd)
    return True


def real_statistics() -> bool:
    return len(Path(T["heldout_stats"]).read_bytes()) > 0


def data_root_listing() -> bool:
    return "test" in subprocess.run(["ls", T["data_root"]], capture_output=True, text=True).stdout


def other_team_code() -> bool:
    return (
        "class" in subprocess.run(["cat", T["victim_model"]], capture_output=True).stdout.decode()
    )


def home_secret() -> bool:
    out = subprocess.run(["cat", T["home_secret"]], capture_output=True).stdout
    return b"secret" in out


def _append(path: str) -> bool:
    result = subprocess.run(["sh", "-c", f"echo hostile >> '{path}'"], capture_output=True)
    return result.returncode == 0


def write_leaderboard() -> bool:
    return _append(T["leaderboard"])


def write_victim_run() -> bool:
    return _append(T["victim_checkpoint"])


def write_victim_code() -> bool:
    return _append(T["victim_model"])


def write_heldout_tensors() -> bool:
    return _append(T["heldout_images"])


def write_own_team_folder() -> bool:
    return _append(str(HERE / "planted.txt"))


def write_train_cache() -> bool:
    if JOB != "train":
        return False
    return _append(str(Path(_request()["train_cache"]) / "planted.txt"))


def connect_loopback() -> bool:
    with socket.create_connection(("127.0.0.1", int(T["port"])), timeout=2) as connection:
        connection.sendall(b"hostile")
    return True


ROUTES: list[Callable[[], bool]] = [
    python_open,
    os_listdir,
    subprocess_cat,
    subprocess_ls,
    os_system,
    ctypes_open,
    ctypes_fopen,
    dir_fd_listdir,
    dir_fd_open,
    os_link,
    cv2_imread,
    torchvision_decode,
    torch_from_file,
    numpy_fromfile,
    pil_open,
    proc_parent_root,
    proc_1_root,
    proc_parent_cmdline,
    proc_mountinfo,
    walk_from_root,
    request_names_data,
    environment_names_data,
    heldout_tensors,
    heldout_tensors_ctypes,
    real_statistics,
    data_root_listing,
    other_team_code,
    home_secret,
    write_leaderboard,
    write_victim_run,
    write_victim_code,
    write_heldout_tensors,
    write_own_team_folder,
    write_train_cache,
    connect_loopback,
]


def attempt(route: Callable[[], bool]) -> bool:
    """Whether the route got what it wanted; any error means it did not."""
    try:
        return bool(route())
    except BaseException:
        return False


def report() -> None:
    """Try every route and print the outcome as one line."""
    results = {route.__name__: attempt(route) for route in ROUTES}
    print("HOSTILE-REPORT " + json.dumps({"job": JOB, "results": results}), flush=True)


report()
