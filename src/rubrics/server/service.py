"""What a hiring team does through ``rubrics serve``, as plain functions on one :class:`Team`.

Each is the CLI's own domain call run on the database store (ADR 15): a pack is made by
``build_pack`` and imported, a scorecard is checked and kept by ``submit``, a decision by
``decide``, a report is ``panel.report``. The web routes (``server.app``) only translate
HTTP to these calls and their results or errors back; nothing here knows about HTTP.
"""

from __future__ import annotations

import os
import re
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rubrics.aggregation.evidence import counts
from rubrics.debrief import PanelDecision, Recorded, Resolution, decide, gather_resolutions
from rubrics.errors import Conflict, InvalidInput, NotFound, problem, shorten
from rubrics.fsutil import sha256_bytes
from rubrics.identity import email_key
from rubrics.log import SUBMISSION, LogEntry
from rubrics.packs import Candidate, PackOptions, build_pack, candidate_problems, pack_templates
from rubrics.render import Templates
from rubrics.server import links
from rubrics.server.accounts import audit
from rubrics.server.db import AuditEventRow, PackRow, reader, utcnow
from rubrics.server.store import SqlStore, import_pack
from rubrics.submit import check_writable, submit
from rubrics.verify import load_record
from rubrics.workspace import Workspace, bundled_root

if TYPE_CHECKING:
    from rubrics.server.links import LinkInfo
    from rubrics.server.mail import SmtpSettings

SUBMISSION_NAME = "scorecard.json"
"""The name a scorecard posted to the server is logged under (as a file's name is)."""


@dataclass
class Team:
    """One team's server: its database (the record) and its workspace (frameworks, roles
    and templates, read from files as the CLI reads them)."""

    engine: Engine
    workspace: Workspace
    store: SqlStore

    @classmethod
    def open(cls, engine: Engine, workspace: Workspace, mirrors: Path | None = None) -> Team:
        return cls(engine, workspace, SqlStore(engine, mirrors))

    @cached_property
    def templates(self) -> Templates:
        """The templates as the CLI looks them up: the workspace's ``templates/`` first,
        then the bundled ones (built once)."""
        return Templates.for_workspace(self.workspace.templates_dir, None,
                                       bundled_root() / "templates")


@dataclass
class Submitted:
    """A scorecard the pack holds: newly ``accepted``, or ``again`` (the same bytes were
    accepted before, so a retried request is answered with the first acceptance)."""

    entry: LogEntry
    again: bool
    notes: list[str]


def pack_exists(team: Team, candidate: Candidate) -> str | None:
    """Why ``candidate`` cannot have a new pack (one for the same candidate id, or the same
    name without an id, is in the database), or None."""
    folder = candidate.folder_name
    with Session(reader(team.engine)) as session:
        found = session.scalars(select(PackRow.pack_id).where(PackRow.folder == folder)).first()
    return None if found is None else already_made(candidate, folder)


def already_made(candidate: Candidate, folder: str) -> str:
    if candidate.id is not None:
        return f"a pack for candidate id '{shorten(candidate.id)}' already exists"
    return (f"a pack for candidate '{shorten(candidate.name)}' already exists (folder "
            f"'{folder}'): give a candidate id to tell two candidates apart")


def role_ids(team: Team) -> list[str]:
    """The ids of the workspace's roles (their files' stems), sorted."""
    return sorted(p.stem for p in team.workspace.role_files())


def new_candidate(name: str, cid: str | None, email: str | None) -> Candidate:
    """The candidate, or every problem with the fields as the API and the pages name them."""
    cid = cid if cid else None
    email = email if email else None
    wrong = candidate_problems(name, cid, email)
    fields = {None: "candidate", "name": "candidate", "id": "candidate_id",
              "email": "candidate_email"}
    if wrong:
        raise InvalidInput([problem(fields.get(f, "candidate"), message) for f, message in wrong])
    return Candidate(name, cid, email)


def create_pack(team: Team, role_id: str, candidate: Candidate, *, anonymous: bool = False,
                formats: tuple[str, ...] = ("html", "pdf")) -> str:
    """Make a candidate's pack as ``rubrics pack`` does and keep it; return its pack id.
    The role is one of :func:`role_ids`, never a path on the server's disk (else the role
    field's problem). A pack for the same candidate is a Conflict (never naming the
    server's temporary folder)."""
    known = role_ids(team)
    if role_id not in known:
        raise InvalidInput([problem("role", f"no role '{shorten(role_id)}' (known: "
                                            f"{', '.join(known) or 'none'})")])
    taken = pack_exists(team, candidate) if candidate.id is not None or not anonymous else None
    if taken:
        raise Conflict(taken)
    loop, _, role_source = team.workspace.loop_with_source(role_id)
    with tempfile.TemporaryDirectory(prefix="rubrics-new-pack-") as out:
        options = PackOptions(out=Path(out), formats=formats, anonymous=anonymous)
        made = build_pack(loop, role_source, candidate, options,
                          pack_templates(team.workspace, None))
        try:
            return import_pack(team.engine, made.path)
        except Conflict:  # made meanwhile by another request
            raise Conflict(already_made(candidate, made.path.name)) from None


def make_pack(team: Team, actor: str, role: str, candidate: Candidate, *,
              anonymous: bool = False, formats: tuple[str, ...] = ("html", "pdf")) -> str:
    """:func:`create_pack` for ``actor``, audited as ``pack.create``."""
    pack_id = create_pack(team, role, candidate, anonymous=anonymous, formats=formats)
    audit(team.engine, actor, "pack.create", pack_id, role=role, candidate_id=candidate.id)
    return pack_id


def submit_scorecard(team: Team, pack_id: str, raw: bytes, *, amend: bool = False,
                     reason: str | None = None, link: LinkInfo | None = None,
                     actor: str | None = None) -> Submitted:
    """Check and keep one scorecard (the JSON the HTML form saves, or the YAML/PDF a
    reader fills): the same checks and record as ``rubrics submit``.

    ``link``: it comes through that interviewer link (``submit(by_link=True)``: only the
    link's own scorecards count as theirs; a retry is matched only among them). With
    ``actor``, the acceptance is in the audit log as ``submission``, in the same
    transaction as the submission itself."""
    with tempfile.TemporaryDirectory(prefix="rubrics-upload-") as upload:
        path = Path(upload) / _name_for(raw)
        path.write_bytes(raw)
        events: list[AuditEventRow] = []
        with team.store.writing(pack_id, audit=events) as (pack, hold):
            digest = sha256_bytes(raw)
            earlier = next((e for e in check_writable(pack).entries if e.kind == SUBMISSION
                            and e.data["original"]["sha256"] == digest
                            and (link is None or email_key(e.interviewer_email)
                                 == email_key(link.email))), None)
            if earlier is not None:
                return Submitted(earlier, again=True, notes=[])
            (accepted,) = submit(pack.path, [path], amend=amend, reason=reason, hold=hold,
                                 by_link=link is not None)
            if actor is not None:
                detail: dict[str, Any] = {"seq": accepted.seq, "stage": accepted.stage,
                                          "amend": amend}
                if link is not None:
                    detail = {"link": link.id, **detail}
                events.append(AuditEventRow(actor=actor, action="submission", detail=detail))
        return Submitted(accepted.entry, again=False, notes=accepted.notes)


def _name_for(raw: bytes) -> str:
    """A name whose suffix tells ``read_submission`` the format: PDF by its signature,
    JSON when it opens with a brace, YAML otherwise."""
    if raw.startswith(b"%PDF"):
        return "scorecard.pdf"
    return SUBMISSION_NAME if raw.lstrip().startswith(b"{") else "scorecard.yaml"


def record_decision(team: Team, pack_id: str, said: PanelDecision) -> Recorded:
    """Record the panel's decision as ``rubrics decide`` does."""
    with team.store.writing(pack_id) as (pack, hold):
        return decide(pack.path, said, hold=hold)


def record(team: Team, actor: str, pack_id: str, said: PanelDecision) -> dict[str, Any]:
    """:func:`record_decision` for ``actor``, audited as ``decision``; the record as JSON."""
    done = record_decision(team, pack_id, said)
    audit(team.engine, actor, "decision", pack_id, seq=done.seq, decision=done.decision,
          level=done.level, by=said.by)
    return {"seq": done.seq, "decision": done.decision, "level": done.level,
            "override": done.override, "left_open": done.left_open,
            "supersedes": done.supersedes}


def panel_decision(decision: str, reason: str, by: str, level: str | int | None,
                   resolve: list[str | tuple[str, str]], force: str | None) -> PanelDecision:
    """The panel's decision as ``rubrics decide`` reads its options: ``level`` a whole
    number (blank or None: the recommended one), each of ``resolve`` "FLAG_ID=TEXT" or
    (flag, text)."""
    if isinstance(level, str):
        try:
            level = int(level) if level.strip() else None
        except ValueError:
            raise InvalidInput([problem("--level", "a whole number, or empty")]) from None
    found = gather_resolutions([item for item in resolve if isinstance(item, str)], None)
    found += [Resolution(item[0].strip(), item[1], "resolve")
              for item in resolve if not isinstance(item, str)]
    return PanelDecision(decision=decision, reason=reason, by=by, level=level,
                         resolutions=tuple(found), force_unresolved=force)


def report(team: Team, pack_id: str, fmt: str = "json") -> bytes:
    """The pack's report in ``fmt``, byte for byte what ``rubrics aggregate`` gives."""
    from rubrics import panel

    with team.store.reading(pack_id) as pack:
        data, _ = panel.report([pack.path], fmt, lambda: team.templates)
    return data


def status(team: Team, pack_id: str) -> dict[str, Any]:
    """Which stages have a counted scorecard and which are still missing. As in the
    aggregation, a scorecard that rates none of its stage's criteria is not returned: it
    is listed as the stage's ``blank`` one, and the stage stays missing."""
    with team.store.reading(pack_id) as pack:
        record = load_record(pack)
    assesses = {s.id: s.assesses for s in pack.loop.role.stages}
    returned: dict[str, list[dict[str, Any]]] = {}
    blank: dict[str, list[dict[str, Any]]] = {}
    for entry in record.effective:
        rates = counts(record.submissions[entry.seq], assesses.get(entry.stage, ()))
        (returned if rates else blank).setdefault(entry.stage, []).append(
            {"submission": entry.ref, "interviewer": entry.interviewer,
             "accepted_at": entry.data.get("accepted_at")})
    stages = [{"id": s.id, "title": s.title, "returned": returned.get(s.id, []),
               "blank": blank.get(s.id, [])} for s in pack.loop.role.stages]
    return {"pack_id": pack.pack_id, "candidate": pack.candidate,
            "role": pack.manifest["role"]["id"], "stages": stages,
            "missing": [s["id"] for s in stages if not s["returned"]],
            "decided": any(e.kind == "decision" for e in record.entries)}


def interviewer_label(candidate: dict[str, Any]) -> str:
    """The candidate as an interviewer's kit and email name them: "Candidate ID" when the
    pack is anonymous (or has no name), else the name."""
    if candidate.get("anonymous") or not candidate.get("name"):
        return f"Candidate {candidate.get('id')}"
    return str(candidate["name"])


def pack_status(team: Team, pack_id: str) -> dict[str, Any]:
    """:func:`status` and the pack's interviewers: who has returned nothing yet, and for
    how long (since their link was made)."""
    found = status(team, pack_id)
    missing = set(found["missing"])
    now = utcnow()
    found["interviewers"] = [interviewer_json(link, link.stage not in missing, now)
                             for link in links.links_of(team, pack_id)]
    return found


def interviewer_json(link: LinkInfo, returned: bool, now: datetime) -> dict[str, Any]:
    """An interviewer's link as JSON: usable, returned, and how long they are waited for."""
    waiting = link.usable and not returned
    return {**link.as_json(), "usable": link.usable, "returned": returned,
            "missing_seconds": int((now - link.created_at).total_seconds()) if waiting else None}


def assign_interviewer(team: Team, smtp: SmtpSettings | None, base_url: str, pack_id: str,
                       stage: str, name: str, email: str, by: str, *,
                       days: int = links.DEFAULT_DAYS, send: bool = False
                       ) -> tuple[str, LinkInfo, str, str | None]:
    """Make an interviewer's personal link for one stage of ``pack_id`` and, with ``send``,
    email it (refused before the link is made when the server has no SMTP settings).
    Returns the token, the link, its URL under ``base_url``, and why it was not sent (None
    once sent, or when not asked to)."""
    from rubrics.server import mail

    if send and smtp is None:
        raise mail.not_configured()
    token, link = links.create_link(team, pack_id, stage, name, email, by, days=days)
    url = base_url.rstrip("/") + links.link_path(token)
    why_not = mail.send_link(team, smtp, link, url, by) if send and smtp is not None else None
    return token, link, url, why_not


def calibration(team: Team, fmt: str = "json", *, role: str | None = None,
                since: str | None = None) -> bytes:
    """``rubrics calibrate --format fmt [--role ROLE] [--since SINCE]`` over every pack the
    server holds, each read through its mirror (held meanwhile, in pack id order, so that
    two calibrations never wait on each other); the mirrors' folder is left out of the
    paths the report names. No pack at all is NotFound; bad options are InvalidInput."""
    from rubrics.calibration import calibrate
    from rubrics.calibration.report import report_bytes

    day = _since(since)
    pack_ids = sorted(team.store.pack_ids())
    if not pack_ids:
        raise NotFound("the server holds no pack yet: calibration reads its packs")
    with ExitStack() as held:
        folders = [held.enter_context(team.store.reading(pid)).path for pid in pack_ids]
        data = calibrate(folders, since=day, role=role or None, jobs=1)  # no fork in a server
    root = f"{team.store.mirrors}{os.sep}"
    for skipped in data["packs"]["skipped"]:
        skipped["path"] = skipped["path"].replace(root, "")
    data["warnings"] = [w.replace(root, "") for w in data["warnings"]]
    return report_bytes(data, fmt, lambda: team.templates)


def pack_roles(team: Team) -> dict[str, int]:
    """The roles of the server's packs, each with how many packs it has."""
    with Session(reader(team.engine)) as session:
        rows = session.execute(select(PackRow.role_id, func.count()).group_by(PackRow.role_id)
                               .order_by(PackRow.role_id)).all()
    return {str(r): int(n) for r, n in rows}


def _since(since: str | None) -> date | None:
    """``--since`` as ``rubrics calibrate`` reads it: a YYYY-MM-DD date, or none."""
    if since is None or not since.strip():
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", since):
            raise ValueError(since)
        return date.fromisoformat(since)
    except ValueError:
        raise InvalidInput([problem("since", f"'{shorten(since)}' is not a date (YYYY-MM-DD)")]
                           ) from None


__all__ = ["Submitted", "Team", "assign_interviewer", "calibration", "create_pack",
           "interviewer_json", "interviewer_label", "make_pack", "new_candidate",
           "pack_roles", "pack_status", "panel_decision", "record", "record_decision",
           "report", "role_ids", "status", "submit_scorecard"]
