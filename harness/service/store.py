"""The service's state: one database (the queue is its ``jobs`` table) and one state folder.

SQLite in the state folder by default, PostgreSQL through ``--db postgresql://...``: the same
SQLAlchemy Core tables and statements serve both, as Optuna's RDB storage does. The schema is
created on first start and carries a version in ``schema_version``, so that a later harness can
migrate it; a database of an unknown version is refused rather than guessed at.

On SQLite every transaction begins with ``BEGIN IMMEDIATE`` (the pysqlite recipe in
SQLAlchemy's documentation), so that a read-then-write (taking a job, counting a team's
submissions before accepting one) cannot interleave with another process's write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from harness.errors import HarnessError

SCHEMA_VERSION = 1
STATE_FOLDER = ".harness-service"  # under the competition's folder; git-ignored

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version", metadata, sa.Column("version", sa.Integer, nullable=False)
)
teams = sa.Table(
    "teams",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("organiser", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("team", sa.String(100), sa.ForeignKey("teams.name"), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)
submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("team", sa.String(100), sa.ForeignKey("teams.name"), nullable=False),
    sa.Column("archive_sha256", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
)
jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "submission_id", sa.String(16), sa.ForeignKey("submissions.id"), nullable=False, unique=True
    ),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("lease_owner", sa.String(100), nullable=True),
    sa.Column("lease_expires", sa.DateTime(timezone=True), nullable=True),
    sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("log_tail", sa.Text, nullable=True),
)
results = sa.Table(
    "results",
    metadata,
    sa.Column("submission_id", sa.String(16), sa.ForeignKey("submissions.id"), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("public_json", sa.Text, nullable=False),
    sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
)
sessions = sa.Table(
    "sessions",
    metadata,
    # The browser holds a random session id; only its SHA-256 is stored, as for tokens.
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("token_id", sa.Integer, sa.ForeignKey("tokens.id"), nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("team", sa.String(100), nullable=True),
    sa.Column("submission_id", sa.String(16), nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
)


def utc_now() -> datetime:
    """Now, aware, in UTC (every stamp the service stores)."""
    return datetime.now(timezone.utc)


def aware(value: datetime | None) -> datetime | None:
    """A stamp read back from the database as aware UTC (SQLite returns naive ones)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class State:
    """Where the service keeps its files: archives by content, unpacked submissions, temp."""

    root: Path

    @property
    def archives(self) -> Path:
        return self.root / "archives"

    @property
    def unpacked(self) -> Path:
        return self.root / "submissions"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    def create(self) -> State:
        """Make the folders (private to the user: they hold every team's submissions)."""
        for folder in (self.root, self.archives, self.unpacked, self.tmp, self.runs):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self

    def database_url(self) -> str:
        return f"sqlite:///{self.root / 'service.sqlite3'}"


def default_state(competition: Path | None) -> Path:
    """The state folder beside the competition's file (or here): outside what is committed."""
    base = Path(competition).parent if competition is not None else Path(".")
    return base / STATE_FOLDER


def _sqlite_immediate(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the begin event below issue BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def connect(url: str) -> sa.Engine:
    """An engine on ``url`` with the schema in place (created on first use, version checked).

    Raises:
        HarnessError: the URL is not SQLite or PostgreSQL, the database cannot be reached, or
            it holds a schema version this harness does not know.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if not (url.startswith("sqlite:///") or url.startswith("postgresql+psycopg://")):
        raise HarnessError(
            f"--db {url!r} is not known; give sqlite:///PATH or postgresql://USER@HOST/DB"
        )
    sqlite = url.startswith("sqlite")
    engine = sa.create_engine(
        url,
        connect_args={"timeout": 60} if sqlite else {},
        pool_pre_ping=not sqlite,
    )
    if sqlite:
        _sqlite_immediate(engine)
    try:
        _migrate(engine)
    except sa.exc.OperationalError as exc:
        raise HarnessError(f"cannot open the service database {_shown(url)}: {exc.orig}") from None
    return engine


def _shown(url: str) -> str:
    """The URL without a password, for messages."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def _migrate(engine: sa.Engine) -> None:
    """Create the schema on first start; refuse a version from a newer harness."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Two processes starting at once must not both create the tables.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(724124)")
        metadata.create_all(conn, checkfirst=True)
        found = conn.execute(sa.select(schema_version.c.version)).scalars().all()
        if not found:
            conn.execute(schema_version.insert().values(version=SCHEMA_VERSION))
        elif max(found) > SCHEMA_VERSION:
            raise HarnessError(
                f"the service database has schema version {max(found)}, newer than this "
                f"harness's {SCHEMA_VERSION}; upgrade the harness"
            )


def record_event(
    conn: sa.Connection,
    kind: str,
    *,
    team: str | None = None,
    submission_id: str | None = None,
    detail: str = "",
) -> None:
    """One line of the audit log (accepted, refused, taken, requeued, scored, failed ...)."""
    conn.execute(
        events.insert().values(
            at=utc_now(), kind=kind, team=team, submission_id=submission_id, detail=detail[:2000]
        )
    )
