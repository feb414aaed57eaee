"""The server's database: its tables (SQLAlchemy 2), where it is, and its migrations.

The tables are those of ADR 15: packs are stored as their files and log entries, byte
for byte, so that the domain code reads them as it reads a pack folder, and
``rubrics serve export`` gives back folders that ``rubrics verify`` accepts. The schema
is made and changed only by the Alembic migrations shipped in ``migrations/``
(``rubrics db upgrade``); the server refuses a database that is not at their head.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from rubrics.errors import Conflict, RubricsError, WrongUsage

DEFAULT_FILE = "rubrics.sqlite3"
"""The SQLite database's file name in the workspace, when no URL is given."""


class Base(DeclarativeBase):
    pass


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class PackRow(Base):
    """A candidate pack: its manifest, byte for byte, and its log's head record."""

    __tablename__ = "packs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pack_id: Mapped[str] = mapped_column(String(200), unique=True)
    folder: Mapped[str] = mapped_column(String(200), unique=True)
    role_id: Mapped[str] = mapped_column(String(200), index=True)
    candidate: Mapped[dict[str, Any]] = mapped_column(JSON)
    manifest: Mapped[bytes] = mapped_column(LargeBinary)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    head_entries: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PackFileRow(Base):
    """A file of a pack by its path in the pack folder: the source snapshot, the rendered
    kit, and each submission's original and normalised copy."""

    __tablename__ = "pack_files"
    __table_args__ = (UniqueConstraint("pack", "path"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pack: Mapped[int] = mapped_column(ForeignKey("packs.id", ondelete="RESTRICT"))
    path: Mapped[str] = mapped_column(String(500))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))


class LogEntryRow(Base):
    """One entry of a pack's hash-chained log, as the JSON text it was hashed from."""

    __tablename__ = "log_entries"
    __table_args__ = (UniqueConstraint("pack", "seq"), UniqueConstraint("pack", "hash"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pack: Mapped[int] = mapped_column(ForeignKey("packs.id", ondelete="RESTRICT"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    data: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(64))


class UserRow(Base):
    """Someone who signs in: a recruiter or a panel member (interviewers have links)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sessions_valid_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                                  nullable=True)
    """A browser session signed in before this is over (sign-out, disabling the user)."""


class ApiTokenRow(Base):
    """An API token for scripts: only the SHA-256 of the token is kept."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditEventRow(Base):
    """Who did what: sign-ins, links made and revoked, submissions, decisions, exports."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(50))
    pack: Mapped[int | None] = mapped_column(ForeignKey("packs.id"), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class InterviewerLinkRow(Base):
    """An interviewer's personal link: one pack and stage, expiring and revocable; only
    the SHA-256 of its token is kept."""

    __tablename__ = "interviewer_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pack: Mapped[int] = mapped_column(ForeignKey("packs.id", ondelete="RESTRICT"), index=True)
    stage: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class DraftRow(Base):
    """What an interviewer has typed so far through their link (one draft a link)."""

    __tablename__ = "drafts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    link: Mapped[int] = mapped_column(ForeignKey("interviewer_links.id", ondelete="CASCADE"),
                                      unique=True)
    data: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SettingRow(Base):
    """A team setting every server process reads from the database (e.g. ``show_others``)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# --------------------------------------------------------------------------- where


class NotMigrated(RubricsError):
    """The database has no tables yet, or older ones: ``rubrics db upgrade`` makes them."""


def database_url(given: str | None, workspace: Path | None) -> str:
    """The database to use: the URL given, else the SQLite file in the workspace."""
    if given:
        try:
            make_url(given)
        except ArgumentError:
            raise WrongUsage(f"--database-url: '{given}' is not a database URL (e.g. "
                             "sqlite:///rubrics.sqlite3 or postgresql+psycopg://host/db)") from None
        return given
    if workspace is None:
        raise WrongUsage("give --workspace (the database is a SQLite file in it) or "
                         "--database-url")
    return f"sqlite:///{(workspace / DEFAULT_FILE).resolve()}"


def shown(url: str) -> str:
    """The URL as it may be printed: without its password."""
    return make_url(url).render_as_string(hide_password=True)


def connect(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys enforced and a busy timeout."""
    try:
        engine = create_engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise WrongUsage(f"--database-url: cannot use '{shown(url)}': {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Foreign keys on, a wait for a busy database, WAL (readers do not wait for the
    writer), and transactions begun by us (SQLAlchemy's documented recipe), so that a
    writer can take the database's write lock first."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    if dbapi_connection.execute("PRAGMA database_list").fetchone()[2]:  # a file, not :memory:
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    """Every transaction takes SQLite's write lock at once (BEGIN IMMEDIATE), unless it is
    marked read-only (:func:`reader`): a transaction that reads and then writes (a token's
    last use, an audit event, a draft) then waits its turn on the busy timeout instead of
    failing with "database is locked" on upgrading its read lock. Read-only ones run
    beside the writer (WAL)."""
    read_only = conn.get_execution_options().get(READ_ONLY)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


READ_ONLY = "rubrics_read"
"""The execution option marking a transaction that only reads (a plain BEGIN on SQLite)."""


def reader(engine: Engine) -> Engine:
    """``engine`` for transactions that only read: on SQLite they take no write lock."""
    return engine.execution_options(**{READ_ONLY: True})


# --------------------------------------------------------------------------- migrations


def _alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return config


def head_revision() -> str:
    """The newest migration shipped with this version of rubrics."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for a database without our tables."""
    from alembic.runtime.migration import MigrationContext

    try:
        with reader(engine).connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise Conflict(f"cannot open the database {shown(str(engine.url))}: "
                       f"{exc.orig}") from None


def upgrade(url: str) -> tuple[str | None, str]:
    """Bring the database to the newest migration; return the revisions before and after.

    A SQLite file is made when missing (its folder must exist)."""
    from alembic import command

    engine = connect(url)
    try:
        before = current_revision(engine)
        config = _alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        return before, head_revision()
    finally:
        engine.dispose()


def require_current(engine: Engine) -> None:
    """Refuse a database not at the newest migration, saying the command that fixes it."""
    at, head = current_revision(engine), head_revision()
    if at == head:
        return
    url = shown(str(engine.url))
    state = "has no rubrics tables" if at is None else f"is at migration {at}, not {head}"
    raise NotMigrated(f"the database {url} {state}: run rubrics db upgrade "
                      f"--database-url '{url}'")
