"""The JSON API for recruiters' and panel members' scripts (bearer API tokens).

Each route checks who is asking (401, then 403 for the wrong role), then makes the
CLI's own domain call through ``service``; a domain error becomes 422 (one problem per
field), 404 (no such pack) or 409 in ``app``'s handlers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from rubrics.server import links, service
from rubrics.server.accounts import PANEL, RECRUITER, User
from rubrics.server.db import utcnow
from rubrics.server.security import api_user, require_role, team_of

router = APIRouter(prefix="/api", tags=["packs"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid API token as the bearer token"},
    403: {"description": "The token's user has the wrong role"},
    404: {"description": "No such pack"},
    422: {"description": "Invalid input: `{\"problems\": [{\"field\", \"message\"}]}`"},
}


def recruiter(user: Annotated[User, Depends(api_user)]) -> User:
    return require_role(user, RECRUITER)


def panel(user: Annotated[User, Depends(api_user)]) -> User:
    return require_role(user, PANEL)


def anyone(user: Annotated[User, Depends(api_user)]) -> User:
    return require_role(user, RECRUITER, PANEL)


# --------------------------------------------------------------------------- models


class NewPack(BaseModel):
    role: str = Field(description="The role's id in the workspace")
    candidate: str = Field(description="The candidate's name")
    candidate_id: str | None = Field(None, description="Your id for the candidate (ATS id)")
    candidate_email: str | None = None
    anonymous: bool = Field(False, description="Kits and reports show the id, not the name")
    formats: list[Literal["html", "pdf"]] = Field(
        ["html", "pdf"], description="The kit's formats (PDF takes seconds a pack)")


class PackMade(BaseModel):
    pack_id: str
    role: str
    candidate: str
    candidate_id: str | None
    status: str = Field(description="The pack's status route")


class NewInterviewer(BaseModel):
    stage: str
    name: str
    email: str
    days: int = Field(links.DEFAULT_DAYS, description="Days until the link expires")
    send: bool = Field(False, description="Email the link to the interviewer (422 unless the "
                       "server has SMTP settings)")


class Interviewer(BaseModel):
    id: int
    pack_id: str
    stage: str
    name: str
    email: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None
    usable: bool
    returned: bool = Field(description="Their stage has a counted scorecard")
    missing_seconds: int | None = Field(
        description="Seconds since the link was made, while the stage has no scorecard "
        "and the link is usable")


class LinkMade(Interviewer):
    link: str = Field(description="The interviewer's personal page (shown once)")
    token: str = Field(description="The link's token, for POST /api/submissions (shown once)")
    sent: bool | None = Field(None, description="Whether the link was emailed (null: not asked)")
    send_problem: str | None = Field(None, description="Why the email was not sent (the link "
                                     "is made all the same)")


class Returned(BaseModel):
    submission: str
    interviewer: str
    accepted_at: str | None


class StageStatus(BaseModel):
    id: str
    title: str
    returned: list[Returned]
    blank: list[Returned] = Field(
        description="Scorecards that rate none of the stage's criteria: not returned (as "
        "in the aggregation), so the stage stays missing")


class PackStatus(BaseModel):
    pack_id: str
    candidate: dict[str, Any]
    role: str
    stages: list[StageStatus]
    missing: list[str]
    decided: bool
    interviewers: list[Interviewer]


class ResolutionIn(BaseModel):
    flag: str
    text: str


class DecisionIn(BaseModel):
    decision: str = Field(description="hire or no_hire")
    reason: str
    by: str
    level: int | None = Field(None, description="The level to hire at (default: recommended)")
    resolve: list[str | ResolutionIn] = Field(
        [], description="How the panel resolved each flag: \"FLAG_ID=TEXT\" or {flag, text}")
    force_unresolved: str | None = Field(None, description="Why flags are left open")


class DecisionMade(BaseModel):
    seq: int
    decision: str
    level: int | None
    override: str | None
    left_open: list[str]
    supersedes: int | None


# --------------------------------------------------------------------------- routes


@router.post("/packs", status_code=201, response_model=PackMade, responses=ERRORS)
def create_pack(body: NewPack, request: Request,
                user: Annotated[User, Depends(recruiter)]) -> dict[str, Any]:
    """Make a candidate's pack as `rubrics pack` does (recruiters)."""
    team = team_of(request)
    candidate = service.new_candidate(body.candidate, body.candidate_id, body.candidate_email)
    pack_id = service.make_pack(team, user.email, body.role, candidate, anonymous=body.anonymous,
                        formats=tuple(dict.fromkeys(body.formats)) or ("html",))
    return {"pack_id": pack_id, "role": body.role, "candidate": candidate.name,
            "candidate_id": candidate.id, "status": f"/api/packs/{pack_id}"}


@router.post("/packs/{pack_id}/interviewers", status_code=201, response_model=LinkMade,
             responses=ERRORS)
def add_interviewer(pack_id: str, body: NewInterviewer, request: Request,
                    user: Annotated[User, Depends(recruiter)]) -> dict[str, Any]:
    """Make an interviewer's personal link for one stage (recruiters); the link and its
    token are shown only in this answer."""
    team = team_of(request)
    token, link, url, why_not = service.assign_interviewer(
        team, request.app.state.smtp, str(request.base_url), pack_id, body.stage, body.name,
        body.email, user.email, days=body.days, send=body.send)
    made = {**service.interviewer_json(link, False, utcnow()), "link": url, "token": token}
    if body.send:
        made |= {"sent": why_not is None, "send_problem": why_not}
    return made


@router.get("/packs/{pack_id}", response_model=PackStatus, responses=ERRORS)
def get_status(pack_id: str, request: Request,
               _user: Annotated[User, Depends(anyone)]) -> dict[str, Any]:
    """Which stages have a scorecard, which are missing, and each interviewer's wait."""
    return service.pack_status(team_of(request), pack_id)


@router.get("/packs/{pack_id}/aggregate", responses={
    **ERRORS, 200: {"description": "Exactly what `rubrics aggregate --format json` prints",
                    "content": {"application/json": {}}}})
def get_aggregate(pack_id: str, request: Request,
                  _user: Annotated[User, Depends(anyone)]) -> Response:
    """The pack's report: the JSON of `rubrics aggregate --format json`, byte for byte."""
    return Response(service.report(team_of(request), pack_id, "json"),
                    media_type="application/json")


@router.post("/packs/{pack_id}/decision", status_code=201, response_model=DecisionMade,
             responses={**ERRORS, 409: {"description": "The pack's record fails its checks"}})
def post_decision(pack_id: str, body: DecisionIn, request: Request,
                  user: Annotated[User, Depends(panel)]) -> dict[str, Any]:
    """Record the panel's decision as `rubrics decide` does (panel members)."""
    team = team_of(request)
    given = [item if isinstance(item, str) else (item.flag, item.text) for item in body.resolve]
    return service.record(team, user.email, pack_id, service.panel_decision(
        body.decision, body.reason, body.by, body.level, given, body.force_unresolved))


@router.get("/calibration", tags=["calibration"], responses={
    401: ERRORS[401], 403: ERRORS[403],
    404: {"description": "The server holds no pack yet"},
    422: {"description": "A bad `role` or `since`, or packs of several roles and no `role`"},
    200: {"description": "Exactly what `rubrics calibrate --format json` prints over the "
                         "server's packs", "content": {"application/json": {}}}})
def get_calibration(request: Request, _user: Annotated[User, Depends(anyone)],
                    role: str | None = None, since: str | None = None) -> Response:
    """Calibration across the server's packs: the JSON of `rubrics calibrate --format json
    [--role ROLE] [--since YYYY-MM-DD]` (too little data is said so in the figures)."""
    return Response(service.calibration(team_of(request), "json", role=role, since=since),
                    media_type="application/json")
