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
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rubrics.aggregation.evidence import counts
from rubrics.debrief import PanelDecision, Recorded, decide
from rubrics.errors import Conflict, InvalidInput, NotFound, problem, shorten
from rubrics.fsutil import sha256_bytes
from rubrics.identity import email_key
from rubrics.log import SUBMISSION, LogEntry
from rubrics.packs import Candidate, PackOptions, build_pack, pack_templates
from rubrics.server.db import AuditEventRow, PackRow, reader
from rubrics.server.store import SqlStore, import_pack
from rubrics.submit import check_writable, submit
from rubrics.verify import load_record
from rubrics.workspace import Workspace

if TYPE_CHECKING:
    from rubrics.server.links import LinkInfo

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


def create_pack(team: Team, role_id: str, candidate: Candidate, *, anonymous: bool = False,
                formats: tuple[str, ...] = ("html", "pdf")) -> str:
    """Make a candidate's pack as ``rubrics pack`` does and keep it; return its pack id.
    A pack for the same candidate is a Conflict (never naming the server's temporary
    folder)."""
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


def report(team: Team, pack_id: str, fmt: str = "json") -> bytes:
    """The pack's report in ``fmt``, byte for byte what ``rubrics aggregate`` gives."""
    from rubrics import panel
    from rubrics.render import Templates
    from rubrics.workspace import bundled_root

    def templates() -> Templates:
        return Templates.for_workspace(team.workspace.templates_dir, None,
                                       bundled_root() / "templates")

    with team.store.reading(pack_id) as pack:
        data, _ = panel.report([pack.path], fmt, templates)
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
    return report_bytes(data, fmt, lambda: _templates(team))


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


def _templates(team: Team) -> Any:
    from rubrics.render import Templates
    from rubrics.workspace import bundled_root

    return Templates.for_workspace(team.workspace.templates_dir, None,
                                   bundled_root() / "templates")


__all__ = ["InvalidInput", "Submitted", "Team", "calibration", "create_pack", "pack_roles",
           "record_decision", "report", "status", "submit_scorecard"]
