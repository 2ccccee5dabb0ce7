"""``harness submit``, ``submissions`` and ``select --server``: the team's side, over httpx.

The server's refusal is one line (``detail``); it is raised as a :class:`HarnessError` so the
command line prints it as ``error: ...`` and exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from harness.errors import HarnessError
from harness.service.uploads import pack

TIMEOUT_S = 300.0


def _call(method: str, server: str, path: str, token: str, **kwargs: Any) -> Any:
    url = server.rstrip("/") + path
    try:
        response = httpx.request(
            method, url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT_S, **kwargs
        )
    except httpx.HTTPError as exc:
        raise HarnessError(
            f"cannot reach the service at {server} ({exc}); check --server"
        ) from None
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise HarnessError(f"the service refused: {detail}")
    return response.json()


def submit(folder: Path, *, server: str, token: str) -> dict[str, Any]:
    """Pack a team folder and upload it; returns the server's answer (``submission_id`` ...)."""
    body = pack(folder)
    return _call("POST", server, "/api/submissions", token, content=body)  # type: ignore[no-any-return]


def submissions(*, server: str, token: str) -> list[dict[str, Any]]:
    """The team's submissions with their state, queue position and public figures."""
    return _call("GET", server, "/api/submissions", token)  # type: ignore[no-any-return]


def select(ids: list[str], *, server: str, token: str) -> dict[str, Any]:
    """Record the team's final selection on the server (empty: back to the K best public)."""
    return _call("POST", server, "/api/selections", token, json={"submission_ids": ids})  # type: ignore[no-any-return]


def selection(*, server: str, token: str) -> dict[str, Any]:
    """The team's current selection on the server."""
    return _call("GET", server, "/api/selections", token)  # type: ignore[no-any-return]
