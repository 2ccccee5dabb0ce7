"""Browser sessions: a team signs in with its token once and then holds a random session id.

The cookie carries ``secrets.token_urlsafe(32)``, never the token; the database keeps only its
SHA-256 (as for tokens, 256 random bits need no slow hash). A session points at the token row it
was opened with, and every lookup joins that row, so revoking or rotating a team's token ends
its sessions on the very next request. Each session has its own CSRF secret, which every form
that changes state carries in a hidden field and which the server compares in constant time.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from harness.service import store, tokens

COOKIE = "harness_session"
LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class Session:
    """A signed-in browser: who it is and the secret its forms must carry."""

    who: tokens.Identity
    csrf: str


def open_session(engine: sa.Engine, token: str) -> tuple[str, Session]:
    """Check ``token`` and open a session for its team; returns (cookie value, session).

    Raises:
        tokens.AuthError: the token is missing, unknown or revoked (one line).
    """
    with engine.begin() as conn:
        who = tokens.identify(conn, token)
        token_id = conn.execute(
            sa.select(store.tokens.c.id).where(store.tokens.c.sha256 == tokens.token_hash(token))
        ).scalar_one()
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = store.utc_now()
        conn.execute(
            store.sessions.delete().where(store.sessions.c.expires_at < now)
        )  # expired ones
        conn.execute(
            store.sessions.insert().values(
                sha256=tokens.token_hash(sid),
                token_id=token_id,
                csrf=csrf,
                created_at=now,
                expires_at=now + LIFETIME,
            )
        )
        store.record_event(conn, "signed-in", team=who.team)
    return sid, Session(who=who, csrf=csrf)


def find(engine: sa.Engine, sid: str | None) -> Session | None:
    """The live session a cookie names, or None (unknown, expired, or its token revoked)."""
    if not sid:
        return None
    s, k, t = store.sessions, store.tokens, store.teams
    digest = tokens.token_hash(sid)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(s.c.sha256, s.c.csrf, s.c.expires_at, k.c.revoked_at, t.c.name, t.c.organiser)
            .join(k, k.c.id == s.c.token_id)
            .join(t, t.c.name == k.c.team)
            .where(s.c.sha256 == digest)
        ).first()
    if row is None or not hmac.compare_digest(row[0], digest):
        return None
    expires = store.aware(row[2])
    if row[3] is not None or expires is None or expires < store.utc_now():
        return None
    return Session(who=tokens.Identity(team=row[4], organiser=bool(row[5])), csrf=row[1])


def close(engine: sa.Engine, sid: str | None) -> None:
    """End the session a cookie names (signing out); nothing happens for an unknown one."""
    if not sid:
        return
    with engine.begin() as conn:
        conn.execute(
            store.sessions.delete().where(store.sessions.c.sha256 == tokens.token_hash(sid))
        )


def csrf_ok(session: Session, sent: str | None) -> bool:
    """Whether a form carried this session's CSRF secret."""
    return bool(sent) and hmac.compare_digest(session.csrf.encode(), str(sent).encode())
