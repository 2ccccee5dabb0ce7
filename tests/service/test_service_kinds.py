"""Code and checkpoint submissions through the service, end to end: ``harness submit`` uploads
the folder, the server queues it, a worker trains (code) or loads (checkpoint) it in the strict
sandbox as ``harness score`` would, and the board gets one row; a submission that breaks only
when scored (a samples/ folder whose PNG does not decode: the upload checks count the files,
and no sandbox start is needed to fail it) ends as a ``failed`` row and job with the one-line
reason, which the team reads.

The checkpoint is exported from the run the service trained for the code submission, so the
test trains once."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from harness.service import queue, store
from tests.conftest import requires_bwrap, write_team
from tests.service.conftest import SIZE, N, World


def _broken_pngs(folder: Path) -> Path:
    """A samples/ folder with N PNGs per class, one of which is not a PNG at all."""
    import numpy as np
    from PIL import Image

    for label in ("with_mask", "without_mask"):
        (folder / "samples" / label).mkdir(parents=True)
        for i in range(N):
            Image.fromarray(np.full((SIZE, SIZE, 3), i * 9, np.uint8)).save(
                folder / "samples" / label / f"{i:03d}.png"
            )
    (folder / "samples" / "without_mask" / "005.png").write_bytes(b"not a png at all")
    return folder


FAST = {"epochs=2, batch_size=8": "epochs=1, batch_size=16"}


def _submit(folder: Path, url: str, token: str) -> str:
    """What ``harness submit`` does (pack the folder, upload it), in this process."""
    from harness.service import client

    return str(client.submit(folder, server=url, token=token)["submission_id"])


def _finished(world: World, url: str, token: str, sid: str, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = httpx.get(
            url + f"/api/submissions/{sid}", headers={"Authorization": f"Bearer {token}"}
        ).json()
        if got["state"] in (queue.SCORED, queue.FAILED):
            return got  # type: ignore[no-any-return]
        time.sleep(0.3)
    raise AssertionError(f"{sid} not done in {timeout_s} s")


@requires_bwrap
def test_code_and_checkpoint_submissions_are_scored_and_a_broken_one_fails_in_one_line(
    world: World,
) -> None:
    from harness.board import leaderboard
    from harness.training.export import export_run

    tokens = {name: world.add_team(name) for name in ("coder", "ckpt", "broken")}
    url = world.start_server(workers=1)
    coder = _submit(write_team(world.root / "subs" / "coder", FAST), url, tokens["coder"])
    broken = _submit(_broken_pngs(world.root / "subs" / "broken"), url, tokens["broken"])
    code_seen = _finished(world, url, tokens["coder"], coder)
    assert code_seen["kind"] == "code" and code_seen["state"] == queue.SCORED
    assert code_seen["result"]["status"] == "ok" and code_seen["result"]["score_public"] > 0

    # The checkpoint of the run the service trained, handed in with the same model.py.
    state = store.State(world.state)
    ckpt_dir = write_team(world.root / "subs" / "ckpt", FAST)
    export_run(
        state.unpacked / coder / "coder", runs_root=state.runs, out=ckpt_dir / "checkpoint.pt"
    )
    ckpt = _submit(ckpt_dir, url, tokens["ckpt"])
    ckpt_seen = _finished(world, url, tokens["ckpt"], ckpt)
    assert ckpt_seen["kind"] == "checkpoint" and ckpt_seen["state"] == queue.SCORED

    broken_seen = _finished(world, url, tokens["broken"], broken)
    assert broken_seen["kind"] == "samples" and broken_seen["state"] == queue.FAILED
    reason = broken_seen["error"]
    assert "005.png" in reason and "\n" not in reason
    assert str(world.root) not in reason and str(world.data) not in reason

    board = leaderboard.read(world.board).set_index("submission_id")
    assert sorted(board.index) == sorted([coder, ckpt, broken])  # one row each
    assert board.loc[coder, "source"] == "code" and board.loc[coder, "status"] == "ok"
    assert board.loc[ckpt, "source"] == "checkpoint" and board.loc[ckpt, "status"] == "ok"
    assert bool(board.loc[ckpt, "checkpoint_data_matches"])
    assert board.loc[broken, "status"] == "failed" and "005.png" in str(board.loc[broken, "error"])
    assert set(board.loc[[coder, ckpt], "isolation"]) == {"strict"}  # team code: in bubblewrap
    # Same generator weights, same seed: the checkpoint scores as its trained run did.
    assert board.loc[ckpt, "score_public"] == board.loc[coder, "score_public"]


def test_a_team_log_keeps_its_own_file_names_and_hides_absolute_paths(tmp_path: Path) -> None:
    from harness.service.workers import JobLog

    log = JobLog("team1", [tmp_path / "data"])
    log.say(f"team1: samples/with_mask/003.png is not a readable image ({tmp_path}/data/x.png)")
    log.say("team2: not this team's line")
    log.say("team1: see /srv/state/runs/team1/grid.png")
    assert log.tail() == (
        "team1: samples/with_mask/003.png is not a readable image (x.png)\nteam1: see <path>"
    )
