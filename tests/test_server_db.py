"""rubrics serve's database on SQLite: migrations, the refusal of an unmigrated database,
accounts and API tokens (issue 12, ADR 15)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from rubrics.cli import app
from rubrics.server import accounts, db

PASSWORD = "correct horse battery"


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A migrated SQLite database."""
    found = f"sqlite:///{tmp_path / 'team.sqlite3'}"
    db.upgrade(found)
    return found


def invoke(runner: CliRunner, *args: str, stdin: str | None = None) -> object:
    return runner.invoke(app, list(args), input=stdin, env={"RUBRICS_WORKSPACE": None,
                                                            "RUBRICS_DATABASE_URL": None})


def test_db_upgrade_makes_the_sqlite_file_in_the_workspace_once(runner: CliRunner,
                                                                 workspace: Path) -> None:
    """`db upgrade` makes rubrics.sqlite3 in the workspace; run again, it says so and changes nothing."""
    first = invoke(runner, "db", "upgrade", "--workspace", str(workspace))
    assert first.exit_code == 0, first.output
    target = (workspace / "rubrics.sqlite3").resolve()
    assert first.stdout == f"database sqlite:///{target} migrated from nothing to 0003\n"
    again = invoke(runner, "db", "upgrade", "--workspace", str(workspace))
    assert again.exit_code == 0
    assert again.stdout == f"database sqlite:///{target} is up to date (migration 0003)\n"


def test_db_upgrade_needs_a_workspace_or_a_url(runner: CliRunner) -> None:
    """Without a workspace or URL there is no place for the database: exit 2, no traceback."""
    result = invoke(runner, "db", "upgrade")
    assert result.exit_code == 2
    assert result.stderr == ("error: give --workspace (the database is a SQLite file in it) "
                             "or --database-url\n")


def test_db_upgrade_refuses_a_url_that_is_not_one(runner: CliRunner) -> None:
    """A --database-url that is no URL is refused in one line naming the option."""
    result = invoke(runner, "db", "upgrade", "--database-url", "not a url")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --database-url: 'not a url' is not a database URL")


def test_the_models_and_the_migrations_agree(url: str) -> None:
    """After the migrations, autogenerate finds no difference from the SQLAlchemy models."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = db.connect(url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), db.Base.metadata) == []


def test_serve_refuses_an_unmigrated_database_naming_the_command(runner: CliRunner,
                                                                 tmp_path: Path) -> None:
    """The server does not start on a database without our tables, and says what to run."""
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    result = invoke(runner, "serve", "--database-url", url)
    assert result.exit_code == 1
    assert result.stderr == (f"error: the database {url} has no rubrics tables: run rubrics "
                             f"db upgrade --database-url '{url}'\n")


def test_serve_refuses_a_database_at_an_older_migration(url: str) -> None:
    """A database behind the newest migration is refused too, naming where it is."""
    engine = db.connect(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0000'")
    with pytest.raises(db.NotMigrated, match="is at migration 0000, not 0003: run rubrics db "
                                             "upgrade"):
        db.require_current(engine)


def test_users_add_keeps_an_argon2_hash_and_never_the_password(runner: CliRunner, url: str
                                                               ) -> None:
    """A user added with --password-stdin signs in with that password; only its hash is stored."""
    result = invoke(runner, "users", "add", "Ana@Example.com ", "--role", "recruiter",
                    "--password-stdin", "--database-url", url, stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "added recruiter ana@example.com\n"
    engine = db.connect(url)
    with Session(engine) as session:
        (row,) = session.scalars(select(db.UserRow)).all()
    assert row.password_hash is not None and row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in row.password_hash
    assert accounts.sign_in(engine, "ana@example.com", PASSWORD) == accounts.User(
        "ana@example.com", "recruiter")
    assert accounts.sign_in(engine, "ana@example.com", PASSWORD + "!") is None


def test_users_add_reports_every_problem_and_adds_nobody(runner: CliRunner, url: str) -> None:
    """A bad email, role and short password are each named on their own line; nothing is added."""
    result = invoke(runner, "users", "add", "not-an-email", "--role", "boss",
                    "--password-stdin", "--database-url", url, stdin="short\n")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "--role: must be recruiter or panel (got 'boss')",
        "EMAIL: 'not-an-email' is not an email address",
        "password: at least 12 characters",
        "3 problems found; no user was added",
    ]
    with Session(db.connect(url)) as session:
        assert session.scalars(select(db.UserRow)).all() == []


def test_users_add_refuses_the_same_email_twice(runner: CliRunner, url: str) -> None:
    """An email is one account: adding it again (any case) fails and keeps the first."""
    assert invoke(runner, "users", "add", "ana@example.com", "--role", "panel",
                  "--database-url", url).exit_code == 0
    again = invoke(runner, "users", "add", "ANA@example.com", "--role", "recruiter",
                   "--database-url", url)
    assert again.exit_code == 1
    assert again.stderr == "error: a user ana@example.com exists already\n"


def test_users_add_without_a_password_is_token_only(runner: CliRunner, url: str) -> None:
    """Without --password-stdin and no terminal, the account has no password and cannot sign in with one."""
    result = invoke(runner, "users", "add", "bo@example.com", "--role", "panel",
                    "--database-url", url)
    assert result.stdout == "added panel bo@example.com (no password: signs in with API tokens only)\n"
    assert accounts.sign_in(db.connect(url), "bo@example.com", "") is None


def test_users_add_on_an_unmigrated_database_names_the_command(runner: CliRunner,
                                                               tmp_path: Path) -> None:
    """Accounts are not added to a database the server would refuse."""
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    result = invoke(runner, "users", "add", "ana@example.com", "--role", "panel",
                    "--database-url", url)
    assert result.exit_code == 1
    assert "run rubrics db upgrade --database-url" in result.stderr


def test_users_token_prints_a_token_that_is_stored_only_as_its_hash(runner: CliRunner,
                                                                    url: str) -> None:
    """The token is the only line on stdout, works as a bearer token, and is not in the database."""
    invoke(runner, "users", "add", "ana@example.com", "--role", "panel", "--database-url", url)
    first = invoke(runner, "users", "token", "ana@example.com", "--database-url", url)
    second = invoke(runner, "users", "token", "ana@example.com", "--database-url", url)
    assert first.exit_code == 0 and second.exit_code == 0
    token = first.stdout.strip()
    assert first.stdout == token + "\n" and token.startswith("rbk_") and len(token) > 40
    assert second.stdout.strip() != token
    assert "not shown again" in first.stderr
    engine = db.connect(url)
    with Session(engine) as session:
        stored = [r.token_hash for r in session.scalars(select(db.ApiTokenRow))]
    assert token not in stored and accounts.token_hash(token) in stored
    assert accounts.user_for_token(engine, token) == accounts.User("ana@example.com", "panel")
    assert accounts.user_for_token(engine, token + "x") is None


def test_users_token_for_nobody(runner: CliRunner, url: str) -> None:
    """A token for an email with no account is refused in one line."""
    result = invoke(runner, "users", "token", "who@example.com", "--database-url", url)
    assert result.exit_code == 1
    assert result.stderr == "error: no user who@example.com (add one with rubrics users add)\n"
    assert result.stdout == ""


def test_the_api_answers_401_without_a_token_and_knows_the_token_user(url: str) -> None:
    """The application starts on a migrated database; /api/me needs a valid bearer token."""
    from fastapi.testclient import TestClient

    from rubrics.server.app import create_app

    engine = db.connect(url)
    accounts.add_user(engine, "ana@example.com", "recruiter", None)
    token = accounts.new_token(engine, "ana@example.com")
    with TestClient(create_app(url)) as client:
        assert client.get("/api/health").json() == {"status": "ok", "migration": "0003"}
        assert client.get("/api/me").status_code == 401
        assert client.get("/api/me", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json() == {
            "email": "ana@example.com", "role": "recruiter"}
