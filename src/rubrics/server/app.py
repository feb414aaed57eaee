"""The ASGI application of ``rubrics serve`` (so far: refusing an unmigrated database,
a health route and bearer-token sign-in; the pack routes follow, see docs/serve-progress.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from sqlalchemy.engine import Engine

from rubrics import __version__
from rubrics.server.accounts import User, user_for_token
from rubrics.server.db import connect, head_revision, require_current


def create_app(url: str, workspace: Path | None = None, mirrors: Path | None = None) -> FastAPI:
    """The application on the database at ``url``, which must be migrated (NotMigrated),
    with frameworks, roles and templates from ``workspace`` (default: the bundled one)."""
    from rubrics.server import interviewers
    from rubrics.server.service import Team
    from rubrics.workspace import Workspace

    engine = connect(url)
    require_current(engine)
    app = FastAPI(title="rubrics", version=__version__)
    app.state.engine = engine
    app.state.team = Team.open(engine, Workspace.open(workspace), mirrors)
    interviewers.install(app)

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "migration": head_revision()}

    @app.get("/api/me")
    def me(user: Annotated[User, Depends(signed_in)]) -> dict[str, Any]:
        return {"email": user.email, "role": user.role}

    return app


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def signed_in(request: Request) -> User:
    """The user of the request's bearer token; 401 without a valid one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    user = user_for_token(_engine(request), token.strip()) if scheme.lower() == "bearer" \
        and token.strip() else None
    if user is None:
        raise HTTPException(401, "sign in: a valid API token as the bearer token",
                            headers={"WWW-Authenticate": "Bearer"})
    return user
