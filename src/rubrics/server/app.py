"""The ASGI application of ``rubrics serve``: one :class:`service.Team`, the JSON API
(``server.api``) and the pages (``server.pages``), and the translation of the domain's
errors into HTTP answers (never a stack trace)."""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import tempfile
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rubrics import __version__
from rubrics.errors import Conflict, IntegrityError, InvalidInput, NotFound, Problem, RubricsError
from rubrics.server.accounts import User
from rubrics.server.db import connect, head_revision, require_current
from rubrics.server.security import PAGE_CSP, RateLimiter, api_user, save_session
from rubrics.server.service import Team
from rubrics.workspace import Workspace

SECRET_ENV = "RUBRICS_SECRET_KEY"  # noqa: S105 (the variable's name, not a secret)
"""The key sessions are signed with; every server process of a team must share it (a
random one per process otherwise: sessions then end when the process does)."""


def create_app(url: str, workspace: Path | None = None, *, secret: str | None = None,
               mirrors: Path | None = None,
               page_formats: tuple[str, ...] = ("html", "pdf")) -> FastAPI:
    """The application on the database at ``url``, which must be migrated (NotMigrated),
    with frameworks, roles and templates from ``workspace`` (the bundled one if None);
    packs made from the pages get the kit in ``page_formats``. Packs are read through
    mirrors under ``mirrors``; if None, a temporary folder the app removes when it stops."""
    engine = connect(url)
    require_current(engine)
    owned = None if mirrors is not None else Path(tempfile.mkdtemp(prefix="rubrics-mirrors-"))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        """The mirrors folder the app made (pack copies: names, emails, scorecards) is
        removed when the server stops; it is only a cache of the database."""
        if owned is not None:
            owned.mkdir(parents=True, exist_ok=True)  # started again after a stop
        try:
            yield
        finally:
            if owned is not None:
                shutil.rmtree(owned, ignore_errors=True)

    app = FastAPI(title="rubrics", version=__version__, docs_url=None, redoc_url=None,
                  lifespan=lifespan,
                  description="The shared server of a hiring team: packs, interviewer "
                  "links, the panel's report and decision. Recruiters and panel members "
                  "call the API with an API token (`rubrics users token EMAIL`) as the "
                  "bearer token. (No /docs page: it would run scripts from a CDN, which "
                  "the pages' policy forbids; read /openapi.json.)")
    app.state.team = Team.open(engine, Workspace.open(workspace), mirrors or owned)
    if owned is not None:  # an app never started (or not stopped) still leaves nothing behind
        weakref.finalize(app, shutil.rmtree, owned, True)
    app.state.secret = secret or os.environ.get(SECRET_ENV) or secrets.token_urlsafe(32)
    app.state.sign_in_limiter = RateLimiter(limit=5, seconds=60)  # an email from an address
    app.state.sign_in_ip_limiter = RateLimiter(limit=30, seconds=60)  # any emails, one address
    app.state.link_limiter = RateLimiter(limit=60, seconds=60)  # for the interviewer link routes
    app.state.page_formats = page_formats
    from rubrics.server.mail import SmtpSettings

    app.state.smtp = SmtpSettings.from_env()  # None: links are copied, never sent
    _handle_errors(app)
    _add_headers(app)
    redact_access_log()
    from rubrics.server import interviewers

    interviewers.install(app)

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "migration": head_revision()}

    @app.get("/api/me")
    def me(user: Annotated[User, Depends(api_user)]) -> dict[str, Any]:
        return {"email": user.email, "role": user.role}

    from rubrics.server import api, pages

    app.include_router(api.router)
    app.include_router(pages.router)
    return app


_LINK_PATH = re.compile(r"/i/[^/?#\s\"]+")


class RedactLinks(logging.Filter):
    """Replace an interviewer link's token in a log line (uvicorn's access log says
    ``GET /i/<token> ...``) with ``/i/…``: whoever reads the log must not get the link."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_LINK_PATH.sub("/i/…", a) if isinstance(a, str) else a
                                for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _LINK_PATH.sub("/i/…", record.msg)
        return True


def redact_access_log() -> None:
    """Install :class:`RedactLinks` on uvicorn's access logger (once)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactLinks) for f in logger.filters):
        logger.addFilter(RedactLinks())


def problems_json(problems: list[Problem]) -> list[dict[str, Any]]:
    """A domain error's problems as the API answers them: the JSON field each is about."""
    shown = []
    for p in problems:
        item: dict[str, Any] = {"field": field_name(p.path), "message": p.message}
        if p.line is not None:
            item["line"] = p.line
        shown.append(item)
    return shown


def field_name(path: str) -> str:
    """The request field a problem's path names: ``--force-unresolved`` is
    ``force_unresolved``; a file's path stays as it is."""
    return path[2:].replace("-", "_") if path.startswith("--") else path


def printable(value: Any) -> Any:
    """``value`` with every lone surrogate (which UTF-8 cannot encode, but a JSON body may
    carry as ``\\ud800``) replaced by U+FFFD: an error answer may quote the input it
    refuses, and must never fail to be sent (a 500) because of it."""
    if isinstance(value, str):
        return value if value.isascii() else "".join(
            "\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in value)
    if isinstance(value, dict):
        return {printable(k): printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [printable(v) for v in value]
    return value


def wants_page(request: Request) -> bool:
    """Whether an error is answered as a page (a browser's route) rather than JSON."""
    return not request.url.path.startswith("/api/") and request.url.path != "/openapi.json"


def _handle_errors(app: FastAPI) -> None:
    from rubrics.server.pages import SignInNeeded, error_page

    def answer(status: int) -> Callable[[Request, Exception], Awaitable[Response]]:
        async def handler(request: Request, exc: Exception) -> Response:
            if wants_page(request):
                return error_page(request, status, printable(str(exc)))
            return JSONResponse({"detail": printable(str(exc))}, status_code=status)
        return handler

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if wants_page(request):
            shown = error_page(request, exc.status_code, printable(str(exc.detail)))
            shown.headers.update(exc.headers or {})
            return shown
        return JSONResponse({"detail": printable(exc.detail)}, status_code=exc.status_code,
                            headers=exc.headers)

    async def sign_in_needed(_request: Request, _exc: Exception) -> Response:
        return RedirectResponse("/sign-in", status_code=303)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, InvalidInput)
        if wants_page(request):
            return error_page(request, 422, printable("; ".join(
                f"{field_name(p.path)}: {p.message}" for p in exc.problems)))
        body: dict[str, Any] = {"problems": problems_json(exc.problems)}
        if exc.hint:
            body["hint"] = exc.hint
        return JSONResponse(printable(body), status_code=422)

    async def unreadable(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = [{"field": ".".join(str(part) for part in e["loc"][1:]) or str(e["loc"][0]),
                     "message": e["msg"]} for e in exc.errors()]
        return JSONResponse({"problems": printable(problems)}, status_code=422)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(SignInNeeded, sign_in_needed)
    app.add_exception_handler(InvalidInput, invalid)
    app.add_exception_handler(RequestValidationError, unreadable)
    app.add_exception_handler(NotFound, answer(404))
    app.add_exception_handler(Conflict, answer(409))
    app.add_exception_handler(IntegrityError, answer(409))
    app.add_exception_handler(RubricsError, answer(400))


def _add_headers(app: FastAPI) -> None:
    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]
                      ) -> Response:
        response = await call_next(request)
        save_session(request, response)
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if "text/html" in response.headers.get("content-type", ""):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
