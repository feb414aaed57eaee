"""What a hiring team does through ``rubrics serve``, as plain functions on one :class:`Team`.

Each is the CLI's own domain call run on the database store (ADR 15): a pack is made by
``build_pack`` and imported, a scorecard is checked and kept by ``submit``, a decision by
``decide``, a report is ``panel.report``. The web routes (``server.app``) only translate
HTTP to these calls and their results or errors back; nothing here knows about HTTP.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from rubrics.debrief import PanelDecision, Recorded, decide
from rubrics.errors import InvalidInput
from rubrics.fsutil import sha256_bytes
from rubrics.identity import email_key
from rubrics.log import SUBMISSION, LogEntry
from rubrics.packs import Candidate, PackOptions, build_pack, pack_templates
from rubrics.server.db import AuditEventRow
from rubrics.server.store import SqlStore, import_pack
from rubrics.submit import Accepted, check_writable, submit
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


def create_pack(team: Team, role_id: str, candidate: Candidate, *, anonymous: bool = False,
                formats: tuple[str, ...] = ("html", "pdf")) -> str:
    """Make a candidate's pack as ``rubrics pack`` does and keep it; return its pack id."""
    loop, _, role_source = team.workspace.loop_with_source(role_id)
    with tempfile.TemporaryDirectory(prefix="rubrics-new-pack-") as out:
        options = PackOptions(out=Path(out), formats=formats, anonymous=anonymous)
        made = build_pack(loop, role_source, candidate, options,
                          pack_templates(team.workspace, None))
        return import_pack(team.engine, made.path)


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
        return Submitted(_entry(team, pack_id, accepted), again=False, notes=accepted.notes)


def _name_for(raw: bytes) -> str:
    """A name whose suffix tells ``read_submission`` the format: PDF by its signature,
    JSON when it opens with a brace, YAML otherwise."""
    if raw.startswith(b"%PDF"):
        return "scorecard.pdf"
    return SUBMISSION_NAME if raw.lstrip().startswith(b"{") else "scorecard.yaml"


def _entry(team: Team, pack_id: str, accepted: Accepted) -> LogEntry:
    with team.store.reading(pack_id) as pack:
        record = load_record(pack)
    return next(e for e in record.entries if e.kind == SUBMISSION and e.seq == accepted.seq)


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
    """Which stages have a counted scorecard and which are still missing."""
    with team.store.reading(pack_id) as pack:
        record = load_record(pack)
    returned: dict[str, list[dict[str, Any]]] = {}
    for entry in record.effective:
        returned.setdefault(entry.stage, []).append(
            {"submission": entry.ref, "interviewer": entry.interviewer,
             "accepted_at": entry.data.get("accepted_at")})
    stages = [{"id": s.id, "title": s.title, "returned": returned.get(s.id, [])}
              for s in pack.loop.role.stages]
    return {"pack_id": pack.pack_id, "candidate": pack.candidate,
            "role": pack.manifest["role"]["id"], "stages": stages,
            "missing": [s["id"] for s in stages if not s["returned"]],
            "decided": any(e.kind == "decision" for e in record.entries)}


__all__ = ["InvalidInput", "Submitted", "Team", "create_pack", "record_decision", "report",
           "status", "submit_scorecard"]
