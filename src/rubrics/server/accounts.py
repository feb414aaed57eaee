"""Accounts of recruiters and panel members: passwords (argon2) and API tokens (hash only).

Interviewers have no account: they get a personal link (a later migration).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError as DuplicateRow
from sqlalchemy.orm import Session

from rubrics.errors import Conflict, InvalidInput, NotFound, Problem, problem, shorten
from rubrics.server.db import ApiTokenRow, AuditEventRow, PackRow, UserRow, reader, utcnow

ROLES = ("recruiter", "panel")
RECRUITER, PANEL = ROLES
MIN_PASSWORD = 12
TOKEN_PREFIX = "rbk_"  # noqa: S105 (names a token in logs and scanners; no secret)


@dataclass(frozen=True)
class User:
    email: str
    role: str


def normalise_email(email: str) -> str:
    """Emails compared as people type them: spacing and case folded."""
    return email.strip().lower()


def hash_password(password: str) -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


def password_matches(stored: str, given: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return PasswordHasher().verify(stored, given)
    except (VerificationError, InvalidHashError):
        return False


def _checked(email: str, role: str, password: str | None) -> list[Problem]:
    """What is wrong with a new account's fields, each naming the field."""
    wrong = []
    local, _, domain = email.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in email) or len(email) > 320:
        wrong.append(problem("EMAIL", f"'{shorten(email)}' is not an email address"))
    if role not in ROLES:
        wrong.append(problem("--role", f"must be {' or '.join(ROLES)} (got '{shorten(role)}')"))
    if password is not None and len(password) < MIN_PASSWORD:
        wrong.append(problem("password", f"at least {MIN_PASSWORD} characters"))
    return wrong


def add_user(engine: Engine, email: str, role: str, password: str | None) -> User:
    """Add a recruiter or panel member (``password`` None: sign-in by API token only)."""
    email = normalise_email(email)
    wrong = _checked(email, role, password)
    if wrong:
        raise InvalidInput(wrong)
    with Session(engine) as session, session.begin():
        session.add(UserRow(email=email, role=role,
                            password_hash=hash_password(password) if password else None))
        session.add(AuditEventRow(actor="cli", action="user.add",
                                  detail={"email": email, "role": role}))
        try:
            session.flush()
        except DuplicateRow:
            raise Conflict(f"a user {email} exists already") from None
    return User(email, role)


def token_hash(token: str) -> str:
    """What is stored of a token: its SHA-256 (a token is 32 random bytes, so no slow hash)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(engine: Engine, email: str) -> str:
    """Make a new API token for a user; it is returned once and only its hash is kept."""
    email = normalise_email(email)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with Session(engine) as session, session.begin():
        user = session.scalars(select(UserRow).where(UserRow.email == email)).first()
        if user is None:
            raise NotFound(f"no user {email} (add one with rubrics users add)")
        if user.disabled_at is not None:
            raise Conflict(f"the user {email} is disabled")
        session.add(ApiTokenRow(user=user.id, token_hash=token_hash(token)))
        session.add(AuditEventRow(actor="cli", action="token.create", detail={"email": email}))
    return token


def user_for_token(engine: Engine, token: str) -> User | None:
    """The user a bearer token belongs to, or None (unknown, revoked or disabled)."""
    with Session(engine) as session, session.begin():
        found = session.execute(
            select(UserRow, ApiTokenRow).join(ApiTokenRow, ApiTokenRow.user == UserRow.id)
            .where(ApiTokenRow.token_hash == token_hash(token))).first()
        if found is None:
            return None
        user, row = found
        if row.revoked_at is not None or user.disabled_at is not None:
            return None
        row.last_used_at = utcnow()
        return User(user.email, user.role)


_dummy: list[str] = []


def dummy_hash() -> str:
    """An argon2 hash of no one's password, made once: checked against when the email is
    unknown, so that a sign-in takes as long whether or not the account exists."""
    if not _dummy:
        _dummy.append(hash_password(secrets.token_urlsafe(16)))
    return _dummy[0]


def sign_in(engine: Engine, email: str, password: str) -> User | None:
    """The user whose email and password these are, or None. An unknown, disabled or
    token-only account still costs one argon2 verification (no timing signal)."""
    with Session(reader(engine)) as session:
        user = session.scalars(select(UserRow).where(
            UserRow.email == normalise_email(email))).first()
        if user is None or user.disabled_at is not None or not user.password_hash:
            password_matches(dummy_hash(), password)
            return None
        if not password_matches(user.password_hash, password):
            return None
        return User(user.email, user.role)


def user_by_email(engine: Engine, email: str, signed_in_at: float | None = None
                  ) -> User | None:
    """The enabled user with this email, or None (a session's user may since be disabled).
    With ``signed_in_at`` (a session's start, seconds since the epoch), None too if the
    user's sessions were ended after it (sign-out, disabled)."""
    with Session(reader(engine)) as session:
        row = session.scalars(select(UserRow).where(
            UserRow.email == normalise_email(email))).first()
        if row is None or row.disabled_at is not None:
            return None
        ended = row.sessions_valid_after
        if signed_in_at is not None and ended is not None and signed_in_at <= _epoch(ended):
            return None
        return User(row.email, row.role)


def _epoch(at: datetime) -> float:
    """Seconds since the epoch (SQLite gives back a naive datetime: it is UTC)."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def end_sessions(engine: Engine, email: str) -> None:
    """End every browser session of the user: one begun before now is refused."""
    with Session(engine) as session, session.begin():
        row = session.scalars(select(UserRow).where(
            UserRow.email == normalise_email(email))).first()
        if row is not None:
            row.sessions_valid_after = datetime.now(UTC)


def _user_row(session: Session, email: str) -> UserRow:
    row = session.scalars(select(UserRow).where(
        UserRow.email == normalise_email(email))).first()
    if row is None:
        raise NotFound(f"no user {normalise_email(email)} (rubrics users list shows them)")
    return row


def _revoke(session: Session, row: UserRow) -> int:
    tokens = list(session.scalars(select(ApiTokenRow).where(
        ApiTokenRow.user == row.id, ApiTokenRow.revoked_at.is_(None))))
    for token in tokens:
        token.revoked_at = utcnow()
    return len(tokens)


def revoke_tokens(engine: Engine, email: str, actor: str = "cli") -> int:
    """Revoke every API token of the user; return how many were usable."""
    with Session(engine) as session, session.begin():
        row = _user_row(session, email)
        count = _revoke(session, row)
        session.add(AuditEventRow(actor=actor, action="token.revoke",
                                  detail={"email": row.email, "tokens": count}))
    return count


def disable_user(engine: Engine, email: str, actor: str = "cli") -> int:
    """Disable the user: no sign-in, every API token revoked, every session ended; return
    how many tokens were revoked."""
    with Session(engine) as session, session.begin():
        row = _user_row(session, email)
        if row.disabled_at is not None:
            raise Conflict(f"the user {row.email} is disabled already")
        row.disabled_at = utcnow()
        row.sessions_valid_after = datetime.now(UTC)
        count = _revoke(session, row)
        session.add(AuditEventRow(actor=actor, action="user.disable",
                                  detail={"email": row.email, "tokens": count}))
    return count


@dataclass(frozen=True)
class Account:
    """A user as ``rubrics users list`` shows them."""

    email: str
    role: str
    disabled: bool
    tokens: int
    """Usable (not revoked) API tokens."""


def list_users(engine: Engine) -> list[Account]:
    """Every user, by email, with how many usable API tokens they have."""
    with Session(reader(engine)) as session:
        usable: dict[int, int] = {user: count for user, count in session.execute(
            select(ApiTokenRow.user, func.count()).where(ApiTokenRow.revoked_at.is_(None))
            .group_by(ApiTokenRow.user))}
        return [Account(row.email, row.role, row.disabled_at is not None, usable.get(row.id, 0))
                for row in session.scalars(select(UserRow).order_by(UserRow.email))]


def audit(engine: Engine, actor: str, action: str, pack_id: str | None = None,
          **detail: Any) -> None:
    """Keep one audit event: who (an email, ``cli`` or an interviewer link), did what, to
    which pack."""
    with Session(engine) as session, session.begin():
        pack = None
        if pack_id is not None:
            pack = session.scalars(select(PackRow.id).where(PackRow.pack_id == pack_id)).first()
            if pack is None:
                detail = {"pack_id": pack_id, **detail}
        session.add(AuditEventRow(actor=actor, action=action, pack=pack, detail=detail))
