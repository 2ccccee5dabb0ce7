"""`harness teams`: a token printed once, stored as a hash; list, rotate, revoke; one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from harness.service import store, tokens


def _harness(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args, "--state", str(root / "state")],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=120,
    )


def test_teams_add_list_rotate_revoke(tmp_path: Path) -> None:
    added = _harness(tmp_path, "teams", "add", "team1")
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    assert len(token) >= 43 and "shown once" in added.stderr
    engine = store.connect(f"sqlite:///{tmp_path / 'state' / 'service.sqlite3'}")
    with engine.connect() as conn:
        assert token not in conn.execute(sa.select(store.tokens.c.sha256)).scalars().all()
        assert tokens.identify(conn, token).team == "team1"
    again = _harness(tmp_path, "teams", "add", "team1")
    assert again.returncode == 1
    assert again.stderr.strip() == (
        "error: team 'team1' exists; `harness teams rotate team1` gives it a new token"
    )
    assert _harness(tmp_path, "teams", "add", "../evil").returncode == 1
    organiser = _harness(tmp_path, "teams", "add", "boss", "--organiser")
    listed = _harness(tmp_path, "teams", "list")
    assert organiser.returncode == 0
    assert listed.stdout.splitlines() == ["boss (organiser): live token", "team1: live token"]
    rotated = _harness(tmp_path, "teams", "rotate", "team1").stdout.strip()
    assert rotated != token
    assert _harness(tmp_path, "teams", "revoke", "team1").stdout.strip() == (
        "revoked 1 token(s) of team1"
    )
    assert "team1: no live token" in _harness(tmp_path, "teams", "list").stdout
    with engine.connect() as conn:
        assert tokens.identify(conn, organiser.stdout.strip()).organiser
    missing = _harness(tmp_path, "teams", "revoke", "nobody")
    assert missing.returncode == 1 and "no team 'nobody'" in missing.stderr
