"""What a job reports is checked before it is read; what it prints is relayed up to a cap."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness.errors import TeamCodeError
from harness.sandbox.output import OutputRelay
from harness.sandbox.payloads import check_payload

GOOD_SAMPLE = {"path": "/runs/t/1/samples/s.npz", "image_size": 64, "used_ema": True, "seconds": 2}


def test_a_well_formed_payload_passes() -> None:
    assert check_payload("sample", dict(GOOD_SAMPLE), "team2") == GOOD_SAMPLE


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"forged": True}, "path is None"),
        ({**GOOD_SAMPLE, "image_size": "64"}, "image_size is '64'"),
        ({**GOOD_SAMPLE, "image_size": True}, "image_size is True"),
        ({**GOOD_SAMPLE, "image_size": 10**6}, "image_size is 1000000"),
        ([1, 2], "a list instead of a dict"),
    ],
)
def test_a_malformed_payload_is_one_error_naming_the_field(payload: object, problem: str) -> None:
    with pytest.raises(TeamCodeError) as info:
        check_payload("sample", payload, "team2")
    assert str(info.value) == (
        f"team2: the sample job reported a malformed result ({problem}); team code may have "
        "written it in place of the harness"
    )


def test_output_past_the_cap_is_dropped_with_one_line(capfd: pytest.CaptureFixture[str]) -> None:
    relay = OutputRelay(1000, "team2")
    proc = subprocess.Popen(
        ["python3", "-c", "import sys; sys.stdout.write('a' * 5000); sys.stderr.write('b' * 5000)"],
        stdout=relay.child_fd,
        stderr=relay.child_fd,
    )
    relay.started()
    proc.wait()
    relay.finish()
    relayed, note = capfd.readouterr().err.split("\n[harness] ")
    assert len(relayed) == 1000 and set(relayed) <= {"a", "b"}
    assert note == "team2: output cut after 0.000953674 MiB; the rest is dropped\n"
    assert relay.written == 1000 and relay.dropped == 9000


def test_output_under_the_cap_arrives_whole(capfd: pytest.CaptureFixture[str]) -> None:
    relay = OutputRelay(None, "team2")
    proc = subprocess.Popen(["echo", "hello from the child"], stdout=relay.child_fd)
    relay.started()
    proc.wait()
    relay.finish()
    assert capfd.readouterr().err == "hello from the child\n"


def test_a_result_file_that_is_a_link_a_fifo_or_huge_is_not_read(tmp_path: Path) -> None:
    from harness.sandbox import runner

    target = tmp_path / "elsewhere.json"
    target.write_text('{"status": "ok", "payload": {}}')
    (tmp_path / "link.json").symlink_to(target)
    os.mkfifo(tmp_path / "fifo.json")  # reading it would block the harness for ever
    (tmp_path / "huge.json").write_bytes(b" " * (runner.MAX_RESULT_BYTES + 1))
    assert runner._read_result(tmp_path / "link.json") is None
    assert runner._read_result(tmp_path / "fifo.json") is None
    assert runner._read_result(tmp_path / "huge.json")["status"] == "error"
    assert runner._read_result(target) == {"status": "ok", "payload": {}}
