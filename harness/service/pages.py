"""The service's pages: sign in, "my submissions", the organiser's page (server-rendered, no JS).

They are rendered with Jinja2 over the board's own ``base.html`` and stylesheet (autoescaped:
a team name, file name, reason or log line is text, never markup). A page knows its visitor
by the session cookie of :mod:`.sessions`; every form that changes state carries the session's
CSRF secret and is refused without it. A team sees only its own submissions: every lookup is
filtered by the signed-in team, and another team's id answers as an unknown one does.
"""

from __future__ import annotations

import io
import math
import re
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from harness.errors import HarnessError
from harness.service import admin, forms, intake, queue, sessions, tokens
from harness.service.uploads import UploadRefused

if TYPE_CHECKING:
    from harness.service.config import ServiceSettings

CSRF_REFUSED = "the form's CSRF token is missing or wrong; reload the page and send it again"
SIGN_IN_FIRST = "sign in first: /signin"
# Columns of a stored public result that the row already shows, or that are not figures.
NOT_FIGURES = frozenset(
    {"submission_id", "submitted_at", "team", "status", "source", "error", "run_id", "isolation"}
)
STRIP_TYPES = {".webp": "image/webp", ".png": "image/png"}


def _environment() -> Any:
    from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=ChoiceLoader(
            [
                PackageLoader("harness.service", "templates"),
                PackageLoader("harness.board.site", "templates"),
            ]
        ),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    exp = min(int(math.log(n, 1024)), 3)
    return f"{n / 1024**exp:.1f} {'BKMG'[exp]}iB".replace("BiB", "B")


def as_archive(name: str, data: bytes) -> bytes:
    """What the API takes, from what a browser uploads: an archive as it is, a samples.npz or
    a lone model.py packed into one (any other file is refused in one line)."""
    lower = name.lower()
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*"):
            return data
    except (tarfile.TarError, EOFError, OSError):
        pass
    member = (
        "samples.npz" if lower.endswith(".npz") else "model.py" if lower.endswith(".py") else ""
    )
    if not member:
        raise UploadRefused(
            "upload a .tar.gz of the team folder, a samples.npz or a model.py; "
            "this file is none of them"
        )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def highlight(page: str, team: str) -> str:
    """A board page with the signed-in team's rows marked (class ``mine``), for the live board."""
    from markupsafe import escape

    pattern = re.compile(
        r'class="team-row([^"]*)" data-team="' + re.escape(str(escape(team))) + '"'
    )
    return pattern.sub(
        lambda m: f'class="team-row{m.group(1)} mine" data-team="{escape(team)}"', page
    )


def _notice(request: Request, rows: list[dict[str, Any]]) -> str:
    """The line shown after a redirect: built here from the team's own rows, never echoed."""
    accepted = request.query_params.get("accepted", "")
    for row in rows:
        if row["submission_id"] == accepted:
            return f"accepted {accepted} ({row['kind']}); it is {row['state']}"
    selected = request.query_params.get("selected", "")
    if selected.isdigit() and len(selected) < 3:
        return f"selected {int(selected)} submission(s) for the final board"
    return ""


def add_pages(
    app: FastAPI,
    settings: ServiceSettings,
    submissions: Callable[..., list[dict[str, Any]]],
) -> None:
    """Register the pages on ``app`` (``submissions``: the API's own per-team listing)."""
    env = _environment()
    stylesheet = Path(__file__).parents[1] / "board" / "site" / "templates" / "style.css"

    def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        page = env.get_template(name).render(
            css="/pages/style.css",
            home="/board/index.html",
            private=False,
            tabs=[],
            session=context.pop("session", None),
            **context,
        )
        return HTMLResponse(
            page,
            status_code=status,
            headers={
                "Cache-Control": "no-store",
                "X-Frame-Options": "DENY",
                "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
                "Referrer-Policy": "same-origin",
            },
        )

    def refuse(
        status: int, message: str, session: sessions.Session | None, back: str
    ) -> HTMLResponse:
        return render(
            "message.html",
            status,
            board_kind="Refused",
            message=message,
            back=back,
            session=session,
        )

    def current(request: Request) -> sessions.Session | None:
        return sessions.find(settings.engine, request.cookies.get(sessions.COOKIE))

    async def read_form(request: Request) -> forms.Form:
        return await forms.read_form(
            request,
            limit=settings.caps.archive_bytes + forms.SLACK_BYTES,
            too_large=f"the upload is over the size limit of "
            f"{settings.caps.archive_bytes // 2**20} MiB",
        )

    async def checked(
        request: Request, organiser: bool = False
    ) -> tuple[sessions.Session, forms.Form] | HTMLResponse:
        """The session and form of a state-changing POST, or the page that refuses it."""
        session = await run_in_threadpool(current, request)
        if session is None:
            return refuse(401, SIGN_IN_FIRST, None, "/signin")
        if organiser and not session.who.organiser:
            return refuse(403, "this needs the organiser's token", session, "/me")
        try:
            form = await read_form(request)
        except UploadRefused as exc:
            return refuse(exc.status, str(exc), session, "/me")
        if not sessions.csrf_ok(session, form.one("csrf")):
            return refuse(403, CSRF_REFUSED, session, "/me")
        return session, form

    @app.get("/pages/style.css")
    def style() -> FileResponse:
        return FileResponse(stylesheet, media_type="text/css")

    @app.get("/signin")
    def signin_page(request: Request) -> HTMLResponse:
        return render("signin.html", board_kind="Sign in", message="", session=current(request))

    @app.post("/signin")
    async def signin(request: Request) -> Response:
        address = request.client.host if request.client else "unknown"
        wait_s = settings.guard.wait_s(address)
        if wait_s:
            page = render(
                "signin.html",
                429,
                board_kind="Sign in",
                message=settings.guard.refusal(address, wait_s),
            )
            page.headers["Retry-After"] = str(wait_s)
            return page
        try:
            token = (await read_form(request)).one("token").strip()
        except UploadRefused as exc:
            return render("signin.html", exc.status, board_kind="Sign in", message=str(exc))
        try:
            sid, session = await run_in_threadpool(sessions.open_session, settings.engine, token)
        except tokens.AuthError as exc:
            settings.guard.failed(address)
            return render("signin.html", 401, board_kind="Sign in", message=str(exc))
        response = RedirectResponse(
            "/organiser" if session.who.organiser else "/me", status_code=303
        )
        response.set_cookie(
            sessions.COOKIE,
            sid,
            max_age=int(sessions.LIFETIME.total_seconds()),
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @app.post("/signout")
    async def signout(request: Request) -> Response:
        got = await checked(request)
        if isinstance(got, HTMLResponse):
            return got
        await run_in_threadpool(
            sessions.close, settings.engine, request.cookies.get(sessions.COOKIE)
        )
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(sessions.COOKIE, path="/")
        return response

    def mine_context(session: sessions.Session) -> dict[str, Any]:
        from harness.board import leaderboard
        from harness.board.disqualified import read_disqualified
        from harness.board.rules import closed_message
        from harness.board.selections import read_selections
        from harness.scoring.strips import strip_names

        team = session.who.team
        table = leaderboard.read(settings.board)
        own = table[table["team"] == team] if "team" in table else table.iloc[0:0]
        board_rows = {str(r.get("submission_id")): r for r in own.to_dict(orient="records")}
        out_of = read_disqualified(settings.board)
        chosen = set(read_selections(settings.board).get(team, []))
        rows = []
        for item in submissions(settings.engine, team, log=True):
            sid = item["submission_id"]
            board_row = board_rows.get(sid)
            figures = [
                (k, f"{v:.4g}" if isinstance(v, float) else str(v))
                for k, v in (item["result"] or {}).items()
                if v not in (None, "") and "private" not in k and k not in NOT_FIGURES
            ]
            rows.append(
                {
                    **item,
                    "size": _size(int(item["size_bytes"])),
                    "submitted_at": item["submitted_at"][:19].replace("T", " ") + " UTC",
                    "figures": figures,
                    "strip": bool(board_row and strip_names(board_row)[0]),
                    "nearest": bool(board_row and strip_names(board_row)[1]),
                    "selectable": bool(
                        board_row and board_row.get("status") == "ok" and sid not in out_of
                    ),
                    "selected": sid in chosen,
                    "disqualified": out_of.get(sid),
                    "log_tail": item.get("log_tail") if item["state"] == queue.FAILED else "",
                }
            )
        return {
            "rows": rows,
            "closed": closed_message(settings.competition),
            "published": admin.published(settings.state),
            "k": settings.competition.final_selections,
        }

    def mine_page(
        session: sessions.Session, status: int = 200, notice: str = "", message: str = ""
    ) -> HTMLResponse:
        return render(
            "mine.html",
            status,
            board_kind="My submissions",
            session=session,
            notice=notice,
            message=message,
            **mine_context(session),
        )

    @app.get("/me", response_model=None)
    def mine(request: Request) -> Response:
        session = current(request)
        if session is None:
            return RedirectResponse("/signin", status_code=303)
        return mine_page(
            session, notice=_notice(request, submissions(settings.engine, session.who.team))
        )

    @app.post("/me/upload")
    async def upload(request: Request) -> Response:
        got = await checked(request)
        if isinstance(got, HTMLResponse):
            return got
        session, form = got
        team = session.who.team

        def early() -> str | None:
            with settings.engine.connect() as conn:
                return intake.rule_refusal(conn, team, settings.competition)

        try:
            why = await run_in_threadpool(early)
            if why:
                raise UploadRefused(why, intake.refusal_status(why))
            if not form.file_bytes:
                raise UploadRefused("the upload is empty; choose a file")
            cap = settings.caps.archive_bytes
            if len(form.file_bytes) > cap:  # as sent: a packed npz may compress far below it
                raise UploadRefused(f"the upload is over the size limit of {cap // 2**20} MiB", 413)
            data = as_archive(form.file_name, form.file_bytes)

            async def body() -> Any:
                yield data

            part, sha, size = await intake.receive(body(), settings.state, settings.caps)
            accepted = await run_in_threadpool(
                intake.accept,
                settings.engine,
                settings.state,
                team,
                part,
                sha,
                size,
                settings.competition,
                settings.caps,
            )
        except UploadRefused as exc:
            return await run_in_threadpool(mine_page, session, exc.status, "", str(exc))
        # Post/redirect/get: reloading the page that follows must not upload again.
        return RedirectResponse(f"/me?accepted={accepted.submission_id}", status_code=303)

    @app.post("/me/selections")
    async def choose(request: Request) -> Response:
        from harness.board import leaderboard
        from harness.board.disqualified import drop_disqualified
        from harness.board.rules import closed_message
        from harness.board.selections import record_selection

        got = await checked(request)
        if isinstance(got, HTMLResponse):
            return got
        session, form = got
        closed = closed_message(settings.competition)
        if closed:
            return await run_in_threadpool(
                mine_page, session, 403, "", f"selections are final: {closed}"
            )
        ids = form.fields.get("submission_ids", [])
        try:
            record_selection(
                settings.board,
                drop_disqualified(leaderboard.read(settings.board), settings.board),
                session.who.team,
                ids,
                limit=settings.competition.final_selections,
            )
        except HarnessError as exc:
            return await run_in_threadpool(mine_page, session, 422, "", str(exc))
        return RedirectResponse(f"/me?selected={len(ids)}", status_code=303)

    def own_strip(submission_id: str, request: Request, which: int) -> Response:
        """The signed-in team's own strip (0: samples, 1: nearest training images), else 404."""
        from harness.board import leaderboard
        from harness.scoring.strips import strip_names, strips_dir

        session = current(request)
        if session is None:
            return refuse(401, SIGN_IN_FIRST, None, "/signin")
        table = leaderboard.read(settings.board)
        if "submission_id" in table and "team" in table:
            rows = table[
                (table["submission_id"].astype(str) == submission_id)
                & (table["team"] == session.who.team)
            ]
            for row in rows.to_dict(orient="records"):
                name = strip_names(row)[which]
                path = strips_dir(settings.board) / name
                if name and path.is_file():
                    return FileResponse(path, media_type=STRIP_TYPES[path.suffix])
        return refuse(
            404, f"no such picture of {submission_id} for team {session.who.team}", session, "/me"
        )

    @app.get("/me/strips/{submission_id}", response_model=None)
    def strip(submission_id: str, request: Request) -> Response:
        return own_strip(submission_id, request, 0)

    @app.get("/me/nearest/{submission_id}", response_model=None)
    def nearest(submission_id: str, request: Request) -> Response:
        return own_strip(submission_id, request, 1)

    def organiser_page(
        session: sessions.Session, status: int = 200, notice: str = "", message: str = ""
    ) -> HTMLResponse:
        from harness.board.disqualified import read_disqualified
        from harness.board.rules import closed_message

        out_of = read_disqualified(settings.board)
        jobs = admin.all_jobs(settings.engine)
        for job in jobs:
            job["disqualified"] = out_of.get(job["submission_id"])
        deadline = settings.competition.deadline
        return render(
            "organiser.html",
            status,
            board_kind="Organiser",
            session=session,
            notice=notice,
            message=message,
            jobs=jobs,
            counts=queue.counts(settings.engine),
            closed=closed_message(settings.competition),
            deadline=deadline.isoformat() if deadline else "none set",
            published=admin.published(settings.state),
        )

    @app.get("/organiser", response_model=None)
    def organiser(request: Request) -> Response:
        session = current(request)
        if session is None:
            return RedirectResponse("/signin", status_code=303)
        if not session.who.organiser:
            return refuse(403, "this needs the organiser's token", session, "/me")
        return organiser_page(session)

    def organiser_action(
        action: Callable[[sessions.Session, forms.Form], str],
    ) -> Callable[..., Any]:
        async def route(request: Request) -> Response:
            got = await checked(request, organiser=True)
            if isinstance(got, HTMLResponse):
                return got
            session, form = got
            try:
                notice = await run_in_threadpool(action, session, form)
            except HarnessError as exc:
                return await run_in_threadpool(organiser_page, session, 422, "", str(exc))
            return await run_in_threadpool(organiser_page, session, 200, notice)

        return route

    def do_requeue(_session: sessions.Session, form: forms.Form) -> str:
        sid = form.one("submission_id")
        admin.requeue(settings.engine, sid)
        return f"re-queued {sid}"

    def do_disqualify(_session: sessions.Session, form: forms.Form) -> str:
        sid = form.one("submission_id")
        team = admin.disqualify(settings.engine, settings.board, sid, form.one("reason"))
        return f"disqualified {sid} of {team}"

    def do_publish(_session: sessions.Session, _form: forms.Form) -> str:
        from harness.board.rules import closed_message

        admin.publish(
            settings.state,
            settings.board,
            settings.competition.final_selections,
            closed_message(settings.competition),
        )
        return "the final board is published"

    def do_add_team(_session: sessions.Session, form: forms.Form) -> str:
        name = form.one("team").strip()
        token = tokens.add_team(settings.engine, name)
        return f"team {name} added; its token, shown this once: {token}"

    app.post("/organiser/teams")(organiser_action(do_add_team))
    app.post("/organiser/requeue")(organiser_action(do_requeue))
    app.post("/organiser/disqualify")(organiser_action(do_disqualify))
    app.post("/organiser/publish")(organiser_action(do_publish))
