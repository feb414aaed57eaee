"""Interviewers' personal links: made, revoked and looked up; their drafts; team settings.

An interviewer has no account. A recruiter makes them a link bound to one pack and one
stage; the link's token (``secrets.token_urlsafe(32)``, 256 random bits) is shown once and
only its SHA-256 is kept, as for API tokens. A link expires (30 days by default) and can
be revoked; a revoked or expired link is as good as an unknown one.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rubrics.errors import InvalidInput, NotFound, Problem, problem, shorten
from rubrics.model import Submission, lone_surrogate
from rubrics.server.db import (
    AuditEventRow,
    DraftRow,
    InterviewerLinkRow,
    PackRow,
    SettingRow,
    utcnow,
)
from rubrics.server.store import pack_row
from rubrics.validation import _message

if TYPE_CHECKING:
    from rubrics.server.service import Team

DEFAULT_DAYS = 30
MAX_DAYS = 365
MAX_DRAFT = 1_000_000
"""The longest draft kept, in characters (a scorecard's text fields add up to far less)."""

SHOW_OTHERS = "show_others"
SHOW_OTHERS_VALUES = ("never", "after_own", "always")
DEFAULTS = {SHOW_OTHERS: "after_own"}
"""Each setting and its value when the team has not set it."""
ALLOWED = {SHOW_OTHERS: SHOW_OTHERS_VALUES}


@dataclass(frozen=True)
class LinkInfo:
    """What is known of a link (never its token)."""

    id: int
    pack_id: str
    stage: str
    name: str
    email: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None

    @property
    def usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > utcnow()

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "pack_id": self.pack_id, "stage": self.stage,
                "name": self.name, "email": self.email,
                "created_at": self.created_at.isoformat(), "created_by": self.created_by,
                "expires_at": self.expires_at.isoformat(),
                "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None}


def token_hash(token: str) -> str:
    """What is stored of a link's token: its SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def link_path(token: str) -> str:
    """The interviewer's page, relative to the server's root."""
    return f"/i/{token}"


def _aware(when: datetime) -> datetime:
    """A stored time as UTC (SQLite gives back naive datetimes)."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _info(row: InterviewerLinkRow, pack_id: str) -> LinkInfo:
    return LinkInfo(row.id, pack_id, row.stage, row.name, row.email, _aware(row.created_at),
                    row.created_by, _aware(row.expires_at),
                    _aware(row.revoked_at) if row.revoked_at else None)


def person_problems(name: str, email: str | None) -> list[Problem]:
    """What is wrong with an interviewer's name and email, by the rules a submission's
    ``interviewer`` and ``interviewer_email`` follow; here the email is required."""
    wrong: list[Problem] = []
    try:
        Submission.model_validate({"pack_id": "p", "stage": "s", "interviewer": name,
                                   "interviewer_email": email, "ratings": {},
                                   "recommendation": "yes"})
    except ValidationError as exc:
        for err in exc.errors():
            field = {"interviewer": "name", "interviewer_email": "email"}.get(str(err["loc"][0]))
            if field:
                said = _message(err)
                wrong.append(problem(field, "the interviewer's name is required"
                                     if said == "your name is required" else said))
    if not (email or "").strip() and not any(p.path == "email" for p in wrong):
        wrong.append(problem("email", "required field is missing"))
    return wrong


def create_link(team: Team, pack_id: str, stage: str, name: str, email: str, by: str, *,
                days: int = DEFAULT_DAYS) -> tuple[str, LinkInfo]:
    """Make a personal link for an interviewer of ``stage`` in the pack; return its token
    (shown once: only its hash is kept) and what is known of it."""
    with team.store.reading(pack_id) as pack:
        stages = [s.id for s in pack.loop.role.stages]
    wrong = []
    if stage not in stages:
        wrong.append(problem("stage", f"no stage '{shorten(stage)}' in this pack's loop "
                                      f"(its stages: {', '.join(stages)})"))
    wrong += person_problems(name, email)
    if not 1 <= days <= MAX_DAYS:
        wrong.append(problem("days", f"must be 1 to {MAX_DAYS} (got {days})"))
    if wrong:
        raise InvalidInput(wrong)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with Session(team.engine) as session, session.begin():
        of_pack = pack_row(session, pack_id)
        row = InterviewerLinkRow(pack=of_pack.id, stage=stage, name=name.strip(),
                                 email=email.strip(), token_hash=token_hash(token),
                                 created_at=now, created_by=by,
                                 expires_at=now + timedelta(days=days))
        session.add(row)
        session.flush()
        info = _info(row, pack_id)
        session.add(AuditEventRow(actor=by, action="link.create", pack=of_pack.id, detail={
            "link": row.id, "stage": stage, "name": info.name, "email": info.email,
            "expires_at": info.expires_at.isoformat()}))
    return token, info


def revoke_link(team: Team, link_id: int, by: str) -> LinkInfo:
    """Revoke a link: its token is refused from now on (revoking twice changes nothing)."""
    with Session(team.engine) as session, session.begin():
        found = session.execute(select(InterviewerLinkRow, PackRow.pack_id)
                                .join(PackRow, PackRow.id == InterviewerLinkRow.pack)
                                .where(InterviewerLinkRow.id == link_id)).first()
        if found is None:
            raise NotFound(f"no interviewer link {link_id}")
        row, pack_id = found
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            session.add(AuditEventRow(actor=by, action="link.revoke", pack=row.pack,
                                      detail={"link": row.id, "stage": row.stage,
                                              "email": row.email}))
        return _info(row, pack_id)


def link_for_token(team: Team, token: str) -> LinkInfo | None:
    """The usable link of a token, or None: unknown, revoked and expired alike."""
    if not token or len(token) > 200:
        return None
    with Session(team.engine) as session:
        found = session.execute(select(InterviewerLinkRow, PackRow.pack_id)
                                .join(PackRow, PackRow.id == InterviewerLinkRow.pack)
                                .where(InterviewerLinkRow.token_hash == token_hash(token))
                                ).first()
    if found is None:
        return None
    info = _info(*found)
    return info if info.usable else None


def links_of(team: Team, pack_id: str) -> list[LinkInfo]:
    """Every link made for the pack, revoked and expired ones too, oldest first."""
    with Session(team.engine) as session:
        of_pack = pack_row(session, pack_id)
        rows = session.scalars(select(InterviewerLinkRow).where(
            InterviewerLinkRow.pack == of_pack.id).order_by(InterviewerLinkRow.id)).all()
        return [_info(row, pack_id) for row in rows]


def record_event(team: Team, actor: str, action: str, pack_id: str | None,
                 detail: dict[str, Any]) -> None:
    """Add an event to the audit log (an event of its own: one that belongs to a pack's
    write goes in that write's transaction: ``SqlStore.writing(audit=...)``)."""
    with Session(team.engine) as session, session.begin():
        pack = pack_row(session, pack_id).id if pack_id else None
        session.add(AuditEventRow(actor=actor, action=action, pack=pack, detail=detail))


def has_seen_others(team: Team, link: LinkInfo) -> bool:
    """Whether the link has been used to view the other interviewers' scorecards (an
    ``others.view`` event in the audit log)."""
    with Session(team.engine) as session:
        return session.scalars(select(AuditEventRow.id).where(
            AuditEventRow.actor == f"link:{link.id}",
            AuditEventRow.action == "others.view").limit(1)).first() is not None


# --------------------------------------------------------------------------- drafts


def save_draft(team: Team, link: LinkInfo, data: str) -> datetime:
    """Keep what the interviewer has typed (a JSON object, as the form collects it) in
    place of their earlier draft; return when it was saved."""
    if len(data) > MAX_DRAFT:
        raise InvalidInput([problem("draft", f"at most {MAX_DRAFT} characters")])
    try:
        parsed = json.loads(data)
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")  # kept only if it reads back
    except RecursionError:
        raise InvalidInput([problem("draft", "nested too deeply")]) from None
    except UnicodeEncodeError as exc:
        said = lone_surrogate(exc.object[exc.start:exc.end])
        raise InvalidInput([problem("draft", said or "contains a lone surrogate; remove it")]
                           ) from None
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise InvalidInput([problem("draft", "must be a JSON object")])
    now = utcnow()
    with Session(team.engine) as session, session.begin():
        row = session.scalars(select(DraftRow).where(DraftRow.link == link.id)).first()
        if row is None:
            session.add(DraftRow(link=link.id, data=data, saved_at=now))
        else:
            row.data, row.saved_at = data, now
    return now


def get_draft(team: Team, link: LinkInfo) -> tuple[str, datetime] | None:
    """The link's draft and when it was saved, or None."""
    with Session(team.engine) as session:
        row = session.scalars(select(DraftRow).where(DraftRow.link == link.id)).first()
        return (row.data, _aware(row.saved_at)) if row else None


# --------------------------------------------------------------------------- settings


def get_setting(engine: Engine, key: str) -> str:
    """A team setting's value (its default when never set)."""
    if key not in DEFAULTS:
        raise NotFound(f"no setting '{shorten(key)}' (settings: {', '.join(DEFAULTS)})")
    with Session(engine) as session:
        row = session.get(SettingRow, key)
        return row.value if row else DEFAULTS[key]


def set_setting(engine: Engine, key: str, value: str, by: str) -> None:
    """Set a team setting for every server process on this database."""
    if key not in DEFAULTS:
        raise NotFound(f"no setting '{shorten(key)}' (settings: {', '.join(DEFAULTS)})")
    if value not in ALLOWED[key]:
        raise InvalidInput([problem(key, f"must be {', '.join(ALLOWED[key][:-1])} or "
                                         f"{ALLOWED[key][-1]} (got '{shorten(value)}')")])
    with Session(engine) as session, session.begin():
        row = session.get(SettingRow, key)
        if row is None:
            session.add(SettingRow(key=key, value=value))
        else:
            row.value = value
        session.add(AuditEventRow(actor=by, action="setting.set",
                                  detail={"key": key, "value": value}))
