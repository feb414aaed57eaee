"""The pages recruiters and panel members use in a browser (sessions, CSRF on every form).

Templates are ``server/*.html.j2``, looked up as every rubrics template is: the
workspace's ``templates/`` first (so a team can override one by name), then the bundled
ones, then the package's ``templates/`` (these). They are autoescaped and run no script;
the strict policy (``security.PAGE_CSP``) is sent as a header with every page.
"""

from __future__ import annotations

import re
import tempfile
from datetime import datetime
from html import unescape
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from rubrics.errors import Conflict, InvalidInput, Problem, RubricsError, problem
from rubrics.packs import read_candidates_csv
from rubrics.render import Templates
from rubrics.server import links, service
from rubrics.server.accounts import PANEL, RECRUITER, User, audit, sign_in
from rubrics.server.app import field_name
from rubrics.server.security import (
    CSRF_FIELD,
    CSRF_REFUSED,
    browser_session,
    client_ip,
    csrf_ok,
    end_session,
    require_role,
    start_session,
    team_of,
)
from rubrics.server.service import (
    make_pack,
    new_candidate,
    pack_status,
    record,
    role_ids,
)

router = APIRouter(include_in_schema=False)

PACKAGE_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
MAX_CSV = 2_000_000
MAX_PACKS_A_CSV = 200


class SignInNeeded(Exception):
    """A page that needs a signed-in user was asked for without one."""


def templates(request: Request) -> Templates:
    found: Templates | None = getattr(request.app.state, "templates", None)
    if found is None:
        found = Templates([*team_of(request).templates.folders, PACKAGE_TEMPLATES])
        request.app.state.templates = found
    return found


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page from ``server/<name>.html.j2``, with what every page shows."""
    session = browser_session(request)
    html = templates(request).render(f"server/{name}.html.j2", user=session.user,
                                     csrf=session.csrf, csrf_field=CSRF_FIELD, **context)
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return page(request, "error", status, title=f"Error {status}", message=message)


# --------------------------------------------------------------------------- who


def signed_in_user(request: Request) -> User:
    """The session's user; a page asked for without one sends the browser to sign in."""
    user = browser_session(request).user
    if user is None:
        raise SignInNeeded
    return user


def page_recruiter(user: Annotated[User, Depends(signed_in_user)]) -> User:
    return require_role(user, RECRUITER)


def page_panel(user: Annotated[User, Depends(signed_in_user)]) -> User:
    return require_role(user, PANEL)


async def posted(request: Request, *, files: bool = False) -> FormData:
    """The form posted, refused (403) unless it carries the session's CSRF token. Files
    in it are closed at once unless the route takes ``files`` (and closes them)."""
    form = await request.form(max_files=1 if files else 0)
    ok = csrf_ok(request, form.get(CSRF_FIELD))
    if not (files and ok):
        await form.close()
    if not ok:
        raise HTTPException(403, CSRF_REFUSED)
    return form


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def see(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


# --------------------------------------------------------------------------- sign-in


@router.get("/sign-in")
def sign_in_page(request: Request) -> Response:
    return page(request, "sign-in", title="Sign in", email="", problems=[])


@router.post("/sign-in")
async def sign_in_post(request: Request) -> Response:
    form = await posted(request)
    email, password = text(form, "email").strip(), text(form, "password")
    team = team_of(request)
    request.app.state.sign_in_ip_limiter.check(client_ip(request), "sign-in attempts")
    request.app.state.sign_in_limiter.check(f"{email.lower()}|{client_ip(request)}",
                                            "sign-in attempts")
    user = sign_in(team.engine, email, password) if email and password else None
    if user is None:
        if email and password:  # a blank form is a slip, not an attempt
            audit(team.engine, email[:320], "sign-in.failed", ip=client_ip(request))
        return page(request, "sign-in", 401, title="Sign in", email=email,
                    problems=["the email or the password is wrong"])
    audit(team.engine, user.email, "sign-in", ip=client_ip(request))
    start_session(request, user)
    return see("/pipeline")


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    await posted(request)
    end_session(request)
    return see("/sign-in")


# --------------------------------------------------------------------------- pipeline


def waited(seconds: int | None) -> str:
    """How long someone has been waited for, as people say it."""
    if seconds is None:
        return ""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "under a minute"


def candidate_label(candidate: dict[str, Any]) -> str:
    name = candidate.get("name")
    return str(name) if name else str(candidate.get("id") or "(no name)")


def overview(status: dict[str, Any], created: datetime | None = None) -> dict[str, Any]:
    """A pack's line of the pipeline: stages returned, and who is missing for how long."""
    waiting: dict[str, list[str]] = {}
    for link in status["interviewers"]:
        if link["missing_seconds"] is not None:
            waiting.setdefault(link["stage"], []).append(
                f"{link['name']} ({waited(link['missing_seconds'])})")
    titles = {s["id"]: s["title"] for s in status["stages"]}
    return {"pack_id": status["pack_id"], "candidate": candidate_label(status["candidate"]),
            "role": status["role"], "decided": status["decided"],
            "returned": [titles[s["id"]] for s in status["stages"] if s["returned"]],
            "missing": [{"stage": titles[sid], "who": waiting.get(sid, [])}
                        for sid in status["missing"]]}


@router.get("/")
def home(_user: Annotated[User, Depends(signed_in_user)]) -> Response:
    return see("/pipeline")


@router.get("/pipeline")
def pipeline(request: Request, user: Annotated[User, Depends(signed_in_user)]) -> Response:
    team = team_of(request)
    rows = [overview(pack_status(team, pid)) for pid in team.store.pack_ids()]
    return page(request, "pipeline", title="Pipeline", rows=rows)


# --------------------------------------------------------------------------- new candidates


@router.get("/packs/new")
def new_pack_page(request: Request, _user: Annotated[User, Depends(page_recruiter)]
                  ) -> Response:
    return new_page(request)


def new_page(request: Request, status: int = 200, problems: list[Problem] | None = None,
             form: dict[str, str] | None = None, made: list[str] | None = None) -> Response:
    return page(request, "new-candidate", status, title="New candidate", roles=role_ids(team_of(request)),
                problems=[shown_problem(p) for p in problems or []], form=form or {},
                made=made or [])


def shown_problem(p: Problem) -> str:
    where = field_name(p.path) if p.path.startswith("--") or "/" not in p.path else "CSV"
    return f"{where}{f' line {p.line}' if p.line is not None else ''}: {p.message}"


@router.post("/packs/new")
async def new_pack_post(request: Request, user: Annotated[User, Depends(page_recruiter)]
                        ) -> Response:
    form = await posted(request)
    fields = {k: text(form, k) for k in ("role", "candidate", "candidate_id", "candidate_email")}
    team = team_of(request)
    try:
        candidate = new_candidate(fields["candidate"], fields["candidate_id"] or None,
                                  fields["candidate_email"] or None)
        pack_id = make_pack(team, user.email, fields["role"], candidate,
                            anonymous=form.get("anonymous") == "on",
                            formats=request.app.state.page_formats)
    except InvalidInput as exc:
        return new_page(request, 422, exc.problems, fields)
    return see(f"/packs/{pack_id}")


@router.post("/packs/upload")
async def upload_post(request: Request, user: Annotated[User, Depends(page_recruiter)]
                      ) -> Response:
    """Packs for every candidate of a CSV (the file `rubrics pack --candidates` takes);
    nothing is made unless every row is right."""
    form = await posted(request, files=True)
    upload, role = form.get("candidates"), text(form, "role")
    try:
        raw = await upload.read(MAX_CSV + 1) if isinstance(upload, UploadFile) else None
    finally:
        await form.close()
    if raw is None:
        return new_page(request, 422, [problem("candidates", "choose a CSV file")])
    if len(raw) > MAX_CSV:
        return new_page(request, 422, [problem("candidates", f"at most {MAX_CSV:,} bytes")])
    team = team_of(request)
    with tempfile.TemporaryDirectory(prefix="rubrics-csv-") as tmp:
        path = Path(tmp) / "candidates.csv"
        path.write_bytes(raw)
        try:
            rows = list(read_candidates_csv(path))
        except InvalidInput as exc:
            return new_page(request, 422, [_in_csv(p) for p in exc.problems])
    wrong = [_in_csv(r) for _, r in rows if isinstance(r, Problem) and r.is_error]
    candidates = [r for _, r in rows if not isinstance(r, Problem)]
    seen: dict[str, int] = {}
    for line, row in rows:  # every row is checked before any pack is made
        if isinstance(row, Problem):
            continue
        if row.folder_name in seen:
            wrong.append(problem("candidates", f"the same candidate as line "
                                 f"{seen[row.folder_name]} (give each a distinct id)", line))
            continue
        seen[row.folder_name] = line
        if taken := service.pack_exists(team, row):
            wrong.append(problem("candidates", taken, line))
    if not candidates and not wrong:
        wrong.append(problem("candidates", "the CSV has no candidate rows"))
    if len(candidates) > MAX_PACKS_A_CSV:
        wrong.append(problem("candidates", f"at most {MAX_PACKS_A_CSV} candidates a file"))
    if wrong:
        return new_page(request, 422, wrong)
    made = []
    try:
        for candidate in candidates:
            made.append(make_pack(team, user.email, role, candidate,
                                  formats=request.app.state.page_formats))
    except RubricsError as exc:  # e.g. the same candidate made meanwhile by another request
        problems = exc.problems if isinstance(exc, InvalidInput) else [problem("candidates", str(exc))]
        return new_page(request, 409 if isinstance(exc, Conflict) else 422, problems, made=made)
    return new_page(request, 201, made=made)


def _in_csv(p: Problem) -> Problem:
    """A CSV problem named by the upload, not the temporary file it was read from."""
    return problem("candidates", p.message, p.line, p.column, p.severity)


# --------------------------------------------------------------------------- a candidate


def candidate_page(request: Request, pack_id: str, status: int = 200, *,
                   new_link: dict[str, Any] | None = None,
                   problems: list[Problem] | None = None) -> Response:
    team = team_of(request)
    found = pack_status(team, pack_id)
    for link in found["interviewers"]:
        link["waited"] = waited(link["missing_seconds"])
    return page(request, "candidate", status, title=candidate_label(found["candidate"]),
                pack=found, line=overview(found), new_link=new_link,
                can_send=request.app.state.smtp is not None,
                problems=[shown_problem(p) for p in problems or []])


@router.get("/packs/{pack_id}")
def candidate_get(pack_id: str, request: Request,
                  _user: Annotated[User, Depends(signed_in_user)]) -> Response:
    return candidate_page(request, pack_id)


@router.post("/packs/{pack_id}/interviewers")
async def assign(pack_id: str, request: Request,
                 user: Annotated[User, Depends(page_recruiter)]) -> Response:
    """Assign an interviewer to a stage: the page shows their personal link, once."""
    form = await posted(request)
    team = team_of(request)
    send = form.get("send") == "on"
    try:
        _, link, url, why_not = await run_in_threadpool(
            service.assign_interviewer, team, request.app.state.smtp, str(request.base_url),
            pack_id, text(form, "stage"), text(form, "name"), text(form, "email"), user.email,
            send=send)
    except InvalidInput as exc:
        return candidate_page(request, pack_id, 422, problems=exc.problems)
    shown: dict[str, Any] = {"url": url, "name": link.name, "stage": link.stage,
                             "email": link.email}
    if send:
        shown |= {"sent": why_not is None, "send_problem": why_not}
    return candidate_page(request, pack_id, 201, new_link=shown)


@router.post("/packs/{pack_id}/links/{link_id}/revoke")
async def revoke(pack_id: str, link_id: int, request: Request,
                 user: Annotated[User, Depends(page_recruiter)]) -> Response:
    await posted(request)
    team = team_of(request)
    if link_id not in {link.id for link in links.links_of(team, pack_id)}:
        raise HTTPException(404, f"no interviewer link {link_id} for this pack")
    links.revoke_link(team, link_id, user.email)
    return see(f"/packs/{pack_id}")


@router.get("/packs/{pack_id}/packet")
def packet(pack_id: str, request: Request,
           user: Annotated[User, Depends(signed_in_user)]) -> Response:
    """The candidate packet the pack was made with (PDF, else HTML), as a download."""
    team = team_of(request)
    with team.store.reading(pack_id) as pack:
        made = {str(f["path"]) for f in pack.manifest["files"]}
        name = next((n for n in ("candidate-packet.pdf", "candidate-packet.html") if n in made),
                    None)
        if name is None:
            raise HTTPException(404, "this pack was made without a candidate packet")
        data = (pack.path / name).read_bytes()
        folder = pack.path.name
    audit(team.engine, user.email, "packet.download", pack_id, file=name)
    kind = "application/pdf" if name.endswith(".pdf") else "text/html; charset=utf-8"
    return Response(data, media_type=kind, headers={
        "Content-Disposition": f'attachment; filename="{folder}-{name}"'})


# --------------------------------------------------------------------------- the panel

_META_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">')


@router.get("/packs/{pack_id}/report")
def report_page(pack_id: str, request: Request,
                _user: Annotated[User, Depends(signed_in_user)]) -> Response:
    """The panel report: the HTML of `rubrics aggregate --format html`, its own policy
    (styles pinned by hash, no script, no form) sent as the header too."""
    return own_policy(service.report(team_of(request), pack_id, "html"))


def own_policy(html: bytes) -> Response:
    """A report page (aggregate, calibration) sent with the policy its ``<meta>`` gives
    (styles pinned by hash, no script, no form) as the header too."""
    policy = _META_CSP.search(html.decode("utf-8"))  # an attribute: its quotes may be escaped
    csp = (unescape(policy.group(1)) if policy else "default-src 'none'") \
        + "; frame-ancestors 'none'"
    return Response(html, media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": csp})


@router.get("/calibration")
def calibration_page(request: Request, _user: Annotated[User, Depends(signed_in_user)],
                     role: str = "", since: str = "") -> Response:
    """`rubrics calibrate --format html` over the server's packs (panel and recruiters);
    with packs of several roles and none chosen, or a bad option, a page to choose."""
    team = team_of(request)
    roles = service.pack_roles(team)
    shown = {"role": role, "since": since}
    if not roles or (not role and len(roles) > 1):
        return page(request, "calibration", title="Calibration", roles=roles, form=shown,
                    problems=[])
    try:
        return own_policy(service.calibration(team, "html", role=role, since=since))
    except InvalidInput as exc:
        return page(request, "calibration", 422, title="Calibration", roles=roles, form=shown,
                    problems=[shown_problem(p) for p in exc.problems])


@router.get("/packs/{pack_id}/decide")
def decide_page(pack_id: str, request: Request,
                _user: Annotated[User, Depends(page_panel)]) -> Response:
    return decide_form(request, pack_id)


def decide_form(request: Request, pack_id: str, status: int = 200, *,
                problems: list[Problem] | None = None, form: dict[str, str] | None = None,
                hint: str | None = None) -> Response:
    import json

    team = team_of(request)
    found = pack_status(team, pack_id)
    report = json.loads(service.report(team, pack_id, "json"))
    flags = [{"id": f.get("id"), "message": f.get("message") or f.get("kind") or ""}
             for f in report.get("flags", []) if isinstance(f, dict)]
    return page(request, "decide", status, title=f"Decide: {candidate_label(found['candidate'])}",
                pack=found, flags=flags, problems=[shown_problem(p) for p in problems or []],
                form=form or {}, hint=hint)


@router.post("/packs/{pack_id}/decide")
async def decide_post(pack_id: str, request: Request,
                      user: Annotated[User, Depends(page_panel)]) -> Response:
    form = await posted(request)
    fields = {k: text(form, k) for k in ("decision", "level", "reason", "by",
                                          "force_unresolved")}
    team = team_of(request)
    resolve: list[str | tuple[str, str]] = [
        (key[len("resolve-"):], text(form, key)) for key in form
        if key.startswith("resolve-") and text(form, key).strip()]  # blank: not resolved
    try:
        said = service.panel_decision(fields["decision"], fields["reason"], fields["by"],
                                      fields["level"], resolve,
                                      fields["force_unresolved"] or None)
        record(team, user.email, pack_id, said)
    except InvalidInput as exc:
        return decide_form(request, pack_id, 422, problems=exc.problems, form=fields,
                           hint=exc.hint)
    return see(f"/packs/{pack_id}")


# --------------------------------------------------------------------------- style


@router.get("/favicon.ico")
def favicon() -> Response:
    """No icon (204): browsers ask every site for one, and a 404 is an error in their console."""
    return Response(status_code=204, headers={"Cache-Control": "max-age=86400"})


@router.get("/static/server.css")
def stylesheet(request: Request) -> Response:
    css = templates(request).render("server/server.css")
    return Response(css, media_type="text/css; charset=utf-8",
                    headers={"Cache-Control": "max-age=3600"})
