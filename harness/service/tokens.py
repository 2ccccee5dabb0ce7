"""Teams and their bearer tokens: random, shown once, stored only as hashes.

A token is ``secrets.token_urlsafe(32)`` (256 random bits), so a plain SHA-256 of it is as good
as a slow password hash: there is nothing to guess. The server hashes what a request presents
and looks the hash up; the final comparison is :func:`hmac.compare_digest`, so its time does not
depend on how much of a guess was right. A team has at most one live token: ``rotate`` revokes
the old one as it makes the new one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from harness.errors import HarnessError
from harness.service import store

TOKEN_BYTES = 32
TEAM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class AuthError(HarnessError):
    """A request's token is missing, unknown or revoked."""


@dataclass(frozen=True)
class Identity:
    """Who a valid token belongs to."""

    team: str
    organiser: bool


def token_hash(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token(conn: sa.Connection, team: str) -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    conn.execute(
        store.tokens.insert().values(
            team=team, sha256=token_hash(token), created_at=store.utc_now()
        )
    )
    return token


def add_team(engine: sa.Engine, name: str, *, organiser: bool = False) -> str:
    """Create a team and return its token (the only time it is ever shown).

    Raises:
        HarnessError: the name is not usable as a folder name, or the team exists.
    """
    if not TEAM_NAME.match(name):
        raise HarnessError(
            f"team name {name!r} is not usable; use letters, digits, '_', '-' or '.' (64 at most)"
        )
    with engine.begin() as conn:
        if conn.execute(sa.select(store.teams.c.name).where(store.teams.c.name == name)).first():
            raise HarnessError(
                f"team {name!r} exists; `harness teams rotate {name}` gives it a new token"
            )
        conn.execute(
            store.teams.insert().values(name=name, organiser=organiser, created_at=store.utc_now())
        )
        store.record_event(conn, "team-added", team=name, detail="organiser" if organiser else "")
        return _new_token(conn, name)


def _revoke_all(conn: sa.Connection, name: str) -> int:
    return conn.execute(
        store.tokens.update()
        .where(store.tokens.c.team == name, store.tokens.c.revoked_at.is_(None))
        .values(revoked_at=store.utc_now())
    ).rowcount


def _require_team(conn: sa.Connection, name: str) -> None:
    if not conn.execute(sa.select(store.teams.c.name).where(store.teams.c.name == name)).first():
        raise HarnessError(f"no team {name!r}; `harness teams list` shows the teams")


def revoke(engine: sa.Engine, name: str) -> int:
    """Revoke every live token of a team; returns how many were live."""
    with engine.begin() as conn:
        _require_team(conn, name)
        count = _revoke_all(conn, name)
        store.record_event(conn, "token-revoked", team=name)
        return count


def rotate(engine: sa.Engine, name: str) -> str:
    """Revoke a team's tokens and return a new one."""
    with engine.begin() as conn:
        _require_team(conn, name)
        _revoke_all(conn, name)
        store.record_event(conn, "token-rotated", team=name)
        return _new_token(conn, name)


def list_teams(engine: sa.Engine) -> list[dict[str, object]]:
    """Every team with whether it is an organiser and how many live tokens it has."""
    t, k = store.teams, store.tokens
    live = (
        sa.select(k.c.team, sa.func.count().label("live"))
        .where(k.c.revoked_at.is_(None))
        .group_by(k.c.team)
        .subquery()
    )
    query = (
        sa.select(t.c.name, t.c.organiser, t.c.created_at, sa.func.coalesce(live.c.live, 0))
        .select_from(t.outerjoin(live, live.c.team == t.c.name))
        .order_by(t.c.name)
    )
    with engine.connect() as conn:
        return [
            {
                "team": name,
                "organiser": bool(organiser),
                "created_at": store.aware(created).isoformat(),  # type: ignore[union-attr]
                "live_tokens": int(count),
            }
            for name, organiser, created, count in conn.execute(query)
        ]


def has_organiser(engine: sa.Engine) -> bool:
    """Whether any organiser team exists (``serve`` makes one on first start otherwise)."""
    with engine.connect() as conn:
        return bool(
            conn.execute(sa.select(store.teams.c.name).where(store.teams.c.organiser)).first()
        )


def identify(conn: sa.Connection, token: str | None) -> Identity:
    """The team a bearer token belongs to.

    Raises:
        AuthError: no token, an unknown one, or a revoked one (one line each).
    """
    if not token:
        raise AuthError("no token: send the team's token as 'Authorization: Bearer TOKEN'")
    digest = token_hash(token)
    row = conn.execute(
        sa.select(
            store.tokens.c.sha256,
            store.tokens.c.revoked_at,
            store.teams.c.name,
            store.teams.c.organiser,
        )
        .join(store.teams, store.teams.c.name == store.tokens.c.team)
        .where(store.tokens.c.sha256 == digest)
    ).first()
    if row is None or not hmac.compare_digest(row[0], digest):
        raise AuthError("unknown token: check it, or ask the organiser for the team's token")
    if row[1] is not None:
        raise AuthError("this token was revoked: ask the organiser for the team's new token")
    return Identity(team=row[2], organiser=bool(row[3]))
