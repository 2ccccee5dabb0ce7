"""The HTTP API and the board's pages (FastAPI), one small function per route.

Auth is a dependency: a route that needs a team asks for :func:`team`, which reads the bearer
token and answers 401 with one line when it is missing, unknown or revoked, and 429 with one
line to an address that failed too often of late (:mod:`.ratelimit`). A team sees only
its own submissions (another team's id answers 404, as an unknown one does), and of a scored
row only the public board's figures. The board is the existing board code's: the public board
as JSON, and the static site of ``harness leaderboard --html``, rebuilt when results.csv changes.
"""

import json
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from harness.errors import HarnessError
from harness.service import intake, queue, sessions, store, tokens
from harness.service.config import ServiceSettings
from harness.service.pages import add_pages, highlight
from harness.service.uploads import UploadRefused

SITE = "site"


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def create_app(settings: ServiceSettings) -> FastAPI:
    """The service's app over ``settings`` (the engine, state folder, board and rules)."""
    app = FastAPI(title="harness competition service", docs_url=None, redoc_url=None)

    def team(request: Request) -> tokens.Identity:
        token = _bearer(request)
        address = request.client.host if request.client else "unknown"
        wait_s = settings.guard.wait_s(address) if token else 0
        if wait_s:  # refused before the lookup: a blocked client learns nothing of its guess
            raise HTTPException(
                429, settings.guard.refusal(address, wait_s), {"Retry-After": str(wait_s)}
            )
        try:
            with settings.engine.connect() as conn:
                return tokens.identify(conn, token)
        except tokens.AuthError as exc:
            if token:
                settings.guard.failed(address)
            raise HTTPException(401, str(exc)) from None

    Team = Annotated[tokens.Identity, Depends(team)]

    def organiser(who: Team) -> tokens.Identity:
        if not who.organiser:
            raise HTTPException(403, "this needs the organiser's token")
        return who

    @app.exception_handler(UploadRefused)
    async def _refused(_request: Request, exc: UploadRefused) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "competition": settings.competition.name}

    @app.post("/api/submissions", status_code=201)
    async def submit(request: Request, who: Team) -> dict[str, Any]:
        def early() -> str | None:
            with settings.engine.connect() as conn:
                return intake.rule_refusal(conn, who.team, settings.competition)

        why = await run_in_threadpool(early)
        if why:  # before reading the body: a refused team need not upload 200 MB
            raise UploadRefused(why, intake.refusal_status(why))
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.caps.archive_bytes:
            raise UploadRefused(
                f"the upload is over the size limit of {settings.caps.archive_bytes // 2**20} MiB",
                413,
            )
        part, sha, size = await intake.receive(request.stream(), settings.state, settings.caps)
        accepted = await run_in_threadpool(
            intake.accept,
            settings.engine,
            settings.state,
            who.team,
            part,
            sha,
            size,
            settings.competition,
            settings.caps,
        )
        return {
            "submission_id": accepted.submission_id,
            "kind": accepted.kind,
            "state": queue.QUEUED,
            "archive_sha256": accepted.archive_sha256,
        }

    @app.get("/api/submissions")
    def own_submissions(who: Team) -> list[dict[str, Any]]:
        return _submissions(settings.engine, who.team)

    @app.get("/api/submissions/{submission_id}")
    def own_submission(submission_id: str, who: Team) -> dict[str, Any]:
        found = _submissions(settings.engine, who.team, submission_id, log=True)
        if not found:
            raise HTTPException(404, f"no submission {submission_id} of team {who.team}")
        return found[0]

    @app.get("/api/selections")
    def own_selection(who: Team) -> dict[str, Any]:
        from harness.board.selections import read_selections

        return {
            "team": who.team,
            "submission_ids": read_selections(settings.board).get(who.team, []),
        }

    @app.post("/api/selections")
    def select(body: dict[str, Any], who: Team) -> dict[str, Any]:
        from harness.board import leaderboard
        from harness.board.disqualified import drop_disqualified
        from harness.board.rules import closed_message
        from harness.board.selections import record_selection

        ids = body.get("submission_ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise HTTPException(422, 'send {"submission_ids": ["id", ...]}')
        closed = closed_message(settings.competition)
        if closed:
            raise HTTPException(403, f"selections are final: {closed}")
        try:
            return record_selection(
                settings.board,
                drop_disqualified(leaderboard.read(settings.board), settings.board),
                who.team,
                ids,
                limit=settings.competition.final_selections,
            )
        except HarnessError as exc:
            raise HTTPException(422, str(exc)) from None

    @app.get("/api/board")
    def board() -> list[dict[str, Any]]:
        from harness.board import leaderboard
        from harness.board.boards import public_board
        from harness.board.disqualified import drop_disqualified

        table = public_board(drop_disqualified(leaderboard.read(settings.board), settings.board))
        return json.loads(table.to_json(orient="records"))

    @app.get("/api/admin/jobs")
    def jobs(_who: Annotated[tokens.Identity, Depends(organiser)]) -> dict[str, Any]:
        j, s = store.jobs, store.submissions
        with settings.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    j.c.submission_id, s.c.team, j.c.state, j.c.attempts, j.c.lease_owner, j.c.error
                )
                .join(s, s.c.id == j.c.submission_id)
                .order_by(j.c.id)
            ).all()
        return {
            "counts": queue.counts(settings.engine),
            "jobs": [dict(r._mapping) for r in rows],
        }

    add_pages(app, settings, _submissions)

    @app.get("/")
    def index() -> RedirectResponse:
        return RedirectResponse("/board/index.html")

    @app.get("/board/{path:path}", response_model=None)
    def site(path: str, request: Request) -> Response:
        root = _fresh_site(settings).resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise HTTPException(404, "no such page")
        found = sessions.find(settings.engine, request.cookies.get(sessions.COOKIE))
        if found is not None and target.suffix == ".html":
            page = highlight(target.read_text(encoding="utf-8"), found.who.team)
            return HTMLResponse(page, headers={"Cache-Control": "no-store"})
        return FileResponse(target)

    return app


def _submissions(
    engine: sa.Engine, team: str, submission_id: str | None = None, *, log: bool = False
) -> list[dict[str, Any]]:
    s, j, r = store.submissions, store.jobs, store.results
    query = (
        sa.select(
            s.c.id,
            s.c.kind,
            s.c.submitted_at,
            s.c.size_bytes,
            j.c.id,
            j.c.state,
            j.c.attempts,
            j.c.error,
            j.c.log_tail,
            r.c.public_json,
        )
        .join(j, j.c.submission_id == s.c.id)
        .outerjoin(r, r.c.submission_id == s.c.id)
        .where(s.c.team == team)
        .order_by(s.c.submitted_at, s.c.id)
    )
    if submission_id is not None:
        query = query.where(s.c.id == submission_id)
    out = []
    with engine.connect() as conn:
        for sid, kind, at, size, job_id, state, attempts, error, tail, public in conn.execute(
            query
        ):
            item: dict[str, Any] = {
                "submission_id": sid,
                "kind": kind,
                "submitted_at": store.aware(at).isoformat(),  # type: ignore[union-attr]
                "size_bytes": size,
                "state": state,
                "attempts": attempts,
                "queue_position": queue.position(conn, job_id) if state == queue.QUEUED else None,
                "result": json.loads(public) if public else None,
                "error": error or "",
            }
            if log:
                item["log_tail"] = tail or ""
            out.append(item)
    return out


def _fresh_site(settings: ServiceSettings) -> Path:
    """The board's static site, rebuilt by the board code when results.csv, the
    disqualifications or the final board's publication have changed. Disqualified rows are
    left out; the final board (private figures) is written only once it is published."""
    from harness.board import leaderboard
    from harness.board.disqualified import disqualified_path, drop_disqualified
    from harness.board.selections import read_selections
    from harness.board.site import write_site
    from harness.scoring.strips import strips_dir
    from harness.service.admin import published

    site_dir = settings.state.root / SITE
    stamp = settings.state.root / ".site-stamp"
    final = published(settings.state)
    mtime = " ".join(
        str(p.stat().st_mtime_ns) if p.is_file() else "none"
        for p in (settings.board, disqualified_path(settings.board))
    ) + (" final" if final else "")
    with settings.site_lock:
        if (
            not (site_dir / "index.html").is_file()
            or not stamp.is_file()
            or stamp.read_text() != mtime
        ):
            write_site(
                site_dir,
                drop_disqualified(leaderboard.read(settings.board), settings.board),
                runs_root=settings.runs_root or settings.state.runs,
                submissions=settings.state.unpacked,
                private=final,
                selections=read_selections(settings.board) if final else None,
                source_label=settings.board.name,
                final_selections=settings.competition.final_selections,
                strips=strips_dir(settings.board),
            )
            stamp.write_text(mtime)
    return site_dir
