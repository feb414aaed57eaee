"""Everything an interviewer reaches with their personal link: their kit and scorecard
(``/i/{token}``), drafts and submissions (``/api/drafts``, ``/api/submissions`` with the
token as the bearer token) and, when the team allows it, the others' scorecards.

No peeking: :func:`granted` is the one rule every route here asks. A link grants its own
pack and stage only; another interviewer's ratings, notes, evidence or recommendation are
shown only on ``/i/{token}/others``, and only as the team's ``show_others`` setting allows
(``after_own``: once the interviewer has a counted scorecard for their stage).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from rubrics.aggregation.evidence import counts
from rubrics.errors import Conflict, IntegrityError, InvalidInput, NotFound, Problem
from rubrics.identity import email_key
from rubrics.log import LogEntry
from rubrics.model import lone_surrogate
from rubrics.packs import scorecard_context
from rubrics.server import links
from rubrics.server.links import LinkInfo
from rubrics.server.pages import templates as page_templates
from rubrics.server.security import client_ip
from rubrics.server.service import Team, interviewer_label, submit_scorecard
from rubrics.verify import PackRecord, load_record

MAX_BODY = 2_000_000
"""The largest submission or draft accepted, in bytes (a scorecard is a few kilobytes)."""

PAGE_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'"
"""The policy of a page without script or style of its own."""

router = APIRouter()


def install(app: FastAPI) -> None:
    """Add the interviewer routes. app.py's headers give every answer its policy, nosniff
    and no-referrer, but no-store only to pages: a link's JSON answers (a draft, one's own
    scorecards) must not be stored either."""
    app.include_router(router)

    @app.middleware("http")
    async def not_stored(request: Request,
                         call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        if request.url.path.startswith(("/i/", "/api/submissions", "/api/drafts",
                                        "/api/link")):
            response.headers["Cache-Control"] = "no-store"
        return response


# --------------------------------------------------------------------------- the rule


def _team(request: Request) -> Team:
    team: Team = request.app.state.team
    return team


def bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _own(record: PackRecord, link: LinkInfo) -> list[LogEntry]:
    """The link's interviewer's counted scorecards for their stage, blank ones too."""
    return [e for e in record.effective if e.stage == link.stage
            and email_key(e.interviewer_email) == email_key(link.email)]


def own_submissions(team: Team, link: LinkInfo, *, blank: bool = False) -> list[LogEntry]:
    """The link's interviewer's counted scorecards for their stage (amended ones replaced)
    that rate at least one criterion: a blank one counts as not returned, so it does not
    open the others' scorecards (``blank``: those too)."""
    with team.store.reading(link.pack_id) as pack:
        record = load_record(pack)
    stage = pack.loop.role.stage(link.stage)
    assesses = stage.assesses if stage is not None else []
    return [e for e in _own(record, link)
            if blank or counts(record.submissions[e.seq], assesses)]


def limit(request: Request, token: str) -> None:
    """At most ``link_limiter``'s hits a minute per link (by its token's hash), and per
    client address for tokens that are no link: 429 with Retry-After beyond."""
    team = _team(request)
    known = links.link_for_token(team, token) is not None
    key = f"link:{links.token_hash(token)}" if known else f"addr:{client_ip(request)}"
    request.app.state.link_limiter.check(key, "requests with this link")


def granted(team: Team, token: str, *, pack_id: str | None = None, stage: str | None = None,
            others: bool = False) -> LinkInfo:
    """The one rule of what a link may reach: its own pack and stage (403 otherwise), and
    other interviewers' scorecards (``others``) only as ``show_others`` allows; 401 for a
    missing, unknown, revoked or expired token."""
    link = links.link_for_token(team, token)
    if link is None:
        raise HTTPException(401, "this interviewer link is unknown, revoked or expired: ask "
                                 "your recruiter for a new one",
                            headers={"WWW-Authenticate": "Bearer"})
    if (pack_id is not None and pack_id != link.pack_id) or \
            (stage is not None and stage != link.stage):
        raise HTTPException(403, "this link is for another candidate's or stage's scorecard")
    if others:
        setting = links.get_setting(team.engine, links.SHOW_OTHERS)
        if setting == "never":
            raise HTTPException(403, "this team does not show interviewers each other's "
                                     "scorecards")
        if setting == "after_own" and not own_submissions(team, link):
            raise HTTPException(403, "submit your own scorecard for this stage first; then "
                                     "you can see the others'")
    return link


def may_see_others(team: Team, token: str) -> bool:
    try:
        granted(team, token, others=True)
    except HTTPException:
        return False
    return True


# --------------------------------------------------------------------------- API


def field_problems(problems: list[Problem]) -> list[dict[str, str | None]]:
    """Problems as the API answers them: the field (a dotted path, or None for the whole
    submission) and the message without it."""
    answer: list[dict[str, str | None]] = []
    for found in problems:
        field, message = None, found.message
        match = re.match(r"([a-z_][\w.\-]*): (.+)\Z", found.message, re.DOTALL)
        if found.path.startswith("--"):  # an option of rubrics submit: a query parameter
            field = found.path[2:]
        elif "/" not in found.path and "\\" not in found.path:  # a field, not the upload
            field = found.path
        elif match:
            field, message = match.group(1), match.group(2)
        answer.append({"field": field, "message": message})
    return answer


def _refused(status: int, problems: list[dict[str, str | None]]) -> JSONResponse:
    return JSONResponse({"problems": problems}, status_code=status)


def same_name(a: str, b: str) -> bool:
    """Names compared as a link binds them: case and spacing folded."""
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


async def read_body(request: Request, what: str) -> bytes:
    """The request's body, refused (413) beyond :data:`MAX_BODY` by its Content-Length
    before reading, and while streaming when it has none or lies."""
    too_big = HTTPException(413, f"{what} is at most {MAX_BODY} bytes")
    declared = request.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > MAX_BODY:
        raise too_big
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise too_big
    return bytes(body)


def parse_json(raw: bytes) -> tuple[Any, dict[str, str | None] | None]:
    """The JSON in ``raw``, or the one problem that keeps it from being kept as UTF-8
    JSON: not JSON, nested too deeply, or a lone surrogate (the field it is in named)."""
    try:
        data = json.loads(raw)
    except RecursionError:
        return None, {"field": None, "message": "nested too deeply"}
    except ValueError as exc:
        return None, {"field": None, "message": f"not JSON: {exc}"}
    where = surrogate_at(data)
    if where is not None:
        return None, where
    return data, None


def surrogate_at(data: Any) -> dict[str, str | None] | None:
    """The first text in ``data`` with a lone surrogate (which UTF-8 cannot carry), as a
    problem naming its field; None when there is none. Walks without recursion."""
    stack: list[tuple[str | None, Any]] = [(None, data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if (said := lone_surrogate(value)) is not None:
                return {"field": path, "message": said}
        elif isinstance(value, dict):
            for key in value:
                if (said := lone_surrogate(key)) is not None:
                    return {"field": path, "message": f"a key {said}"}
            stack.extend((f"{path}.{k}" if path else k, v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), v)
                         for i, v in reversed(list(enumerate(value))))
    return None


AMEND_AFTER_OTHERS = ("this scorecard was seen alongside the other interviewers' "
                      "scorecards: an amendment would no longer be independent; ask the "
                      "recruiter")


@router.post("/api/submissions", status_code=201)
async def post_submission(request: Request, amend: bool = False,
                          reason: str | None = Query(default=None, max_length=2000)
                          ) -> JSONResponse:
    """Submit the link's scorecard: the JSON the scorecard form saves, the link's token as
    the bearer token. 201 with the log entry; 200 with the earlier entry for a retry of the
    same bytes; 422 with one problem per field."""
    team = _team(request)
    token = bearer(request)
    await run_in_threadpool(limit, request, token)
    link = await run_in_threadpool(granted, team, token)
    raw = await read_body(request, "a submission")
    data, wrong = parse_json(raw)
    if wrong is not None:
        return _refused(422, [wrong])
    if not isinstance(data, dict):
        return _refused(422, [{"field": None, "message": "must be a JSON object (the "
                                                         "scorecard form's submission)"}])
    named = {k: data[k] for k in ("pack_id", "stage") if isinstance(data.get(k), str)}
    await run_in_threadpool(lambda: granted(team, token, **named))  # missing: a 422 below
    email = data.get("interviewer_email")
    if not isinstance(email, str) or email.strip().casefold() != link.email.casefold():
        return _refused(422, [{"field": "interviewer_email",
                               "message": f"this link is for {link.email}: submit with that "
                                          "email"}])
    name = data.get("interviewer")
    if not isinstance(name, str) or not same_name(name, link.name):
        return _refused(422, [{"field": "interviewer",
                               "message": f"this link is for {link.name}: submit under that "
                                          "name"}])
    if amend and await run_in_threadpool(links.has_seen_others, team, link):
        raise HTTPException(409, AMEND_AFTER_OTHERS)
    try:
        done = await run_in_threadpool(lambda: submit_scorecard(
            team, link.pack_id, raw, amend=amend, reason=reason, link=link,
            actor=f"link:{link.id}"))
    except InvalidInput as exc:
        return _refused(422, field_problems(exc.problems))
    except (Conflict, IntegrityError) as exc:
        raise HTTPException(409, str(exc)) from None
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    entry = done.entry
    return JSONResponse({"submission": entry.ref, "seq": entry.seq, "stage": entry.stage,
                         "interviewer": entry.interviewer, "again": done.again,
                         "amends": entry.amends, "notes": done.notes},
                        status_code=200 if done.again else 201)


@router.get("/api/link")
def get_link(request: Request) -> dict[str, Any]:
    """What the link is for, and the interviewer's own counted scorecards."""
    team = _team(request)
    limit(request, bearer(request))
    link = granted(team, bearer(request))
    mine = own_submissions(team, link, blank=True)
    return {"pack_id": link.pack_id, "stage": link.stage, "name": link.name,
            "email": link.email, "expires_at": link.expires_at.isoformat(),
            "submitted": [e.ref for e in mine]}


@router.get("/api/drafts")
def get_draft(request: Request) -> dict[str, Any]:
    """The link's draft (``data`` None when there is none)."""
    team = _team(request)
    limit(request, bearer(request))
    link = granted(team, bearer(request))
    found = links.get_draft(team, link)
    if found is None:
        return {"data": None, "saved_at": None}
    data, wrong = parse_json(found[0].encode("utf-8", errors="replace"))
    if wrong is not None or not isinstance(data, dict):  # kept before drafts were checked
        return {"data": None, "saved_at": None}
    return {"data": data, "saved_at": found[1].isoformat()}


@router.put("/api/drafts")
async def put_draft(request: Request) -> JSONResponse:
    """Keep the link's draft (a JSON object) in place of the earlier one."""
    team = _team(request)
    await run_in_threadpool(limit, request, bearer(request))
    link = await run_in_threadpool(granted, team, bearer(request))
    raw = await read_body(request, "a draft")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _refused(422, [{"field": "draft", "message": "must be UTF-8 text"}])
    _, wrong = parse_json(raw)
    if wrong is not None:
        field = f"draft.{wrong['field']}" if wrong["field"] else "draft"
        return _refused(422, [{"field": field, "message": wrong["message"]}])
    try:
        saved = await run_in_threadpool(links.save_draft, team, link, text)
    except InvalidInput as exc:
        return _refused(422, field_problems(exc.problems))
    return JSONResponse({"saved_at": saved.isoformat()})


# --------------------------------------------------------------------------- pages


def _html(body: str, csp: str = PAGE_CSP) -> HTMLResponse:
    """A page with its strict CSP as a header, which (unlike the meta tag) also forbids
    framing."""
    return HTMLResponse(body, headers={"Content-Security-Policy":
                                       f"{csp}; frame-ancestors 'none'"})


@router.get("/i/{token}", response_class=HTMLResponse)
def kit(request: Request, token: str) -> HTMLResponse:
    """The interviewer's scorecard for their stage, posting to the server."""
    from rubrics import __version__

    team = _team(request)
    limit(request, token)
    link = granted(team, token)
    mine = own_submissions(team, link, blank=True)
    with team.store.reading(link.pack_id) as pack:
        loop = pack.loop
        stage = loop.role.stage(link.stage)
        manifest = pack.manifest
    assert stage is not None  # a link is made only for a stage of its pack
    candidate = manifest.get("candidate", {})
    anonymous = bool(candidate.get("anonymous"))
    context: dict[str, Any] = {
        "pack_id": link.pack_id, "role": loop.role, "framework": loop.framework,
        "candidate_name": candidate.get("name"),
        "candidate_label": interviewer_label(candidate),
        "candidate_id": candidate.get("id"), "anonymous": anonymous,
        "created": manifest.get("created_at"), "version": __version__,
        **scorecard_context(loop, stage),
        "served": {"name": link.name, "email": link.email,
                   "submitted": [e.ref for e in mine],
                   "others": f"/i/{token}/others" if may_see_others(team, token)
                   else None},
    }
    page, csp = team.templates.render_served_page(
        "scorecard.html.j2", css="scorecard.css", js="scorecard-served.js", connect=True,
        for_pdf=False, form_font=None, **context)
    return _html(page, csp)


@router.get("/i/{token}/others", response_class=HTMLResponse)
def others(request: Request, token: str) -> HTMLResponse:
    """The other interviewers' scorecards for the candidate, as ``show_others`` allows."""
    team = _team(request)
    limit(request, token)
    link = granted(team, token, others=True)
    with team.store.reading(link.pack_id) as pack:
        record = load_record(pack)
        loop = pack.loop
        candidate = pack.candidate
    mine = {e.seq for e in _own(record, link)}
    links.record_event(team, f"link:{link.id}", "others.view", link.pack_id,
                       {"link": link.id, "stage": link.stage,
                        "shown": [e.ref for e in record.effective if e.seq not in mine]})
    titles = {s.id: s.title for s in loop.role.stages}
    cards = []
    for entry in record.effective:
        if entry.seq in mine:
            continue
        sub = record.submissions[entry.seq]
        cards.append({
            "ref": entry.ref, "stage_title": titles.get(entry.stage, entry.stage),
            "interviewer": sub.interviewer, "recommendation": sub.recommendation.label,
            "interviewed_on": sub.interviewed_on.isoformat() if sub.interviewed_on else None,
            "rows": [{"text": loop.criteria[cid][1].text if cid in loop.criteria else cid,
                      "rating": "not assessed" if rating is None else int(rating),
                      "evidence": sub.evidence.get(cid, "")}
                     for cid, rating in sub.ratings.items()],
            "red_flags": sub.red_flags, "notes": sub.notes})
    anonymous = bool(candidate.get("anonymous"))
    page = page_templates(request).render("server/others.html.j2",
        cards=cards, role_title=loop.role.title, back=f"/i/{token}",
        candidate_label=(f"Candidate {candidate.get('id')}" if anonymous
                         else candidate.get("name")))
    return _html(page)
