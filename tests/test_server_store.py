"""The database store of rubrics serve on SQLite and PostgreSQL: migrations, submissions
through the service, export and import, concurrent writers and killed ones (issue 12,
ADR 15)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from rubrics.server import db


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    found = db.connect(database_url)
    yield found
    found.dispose()


def test_the_models_and_the_migrations_agree_on_each_database(engine: Engine) -> None:
    """After the migrations, autogenerate finds no difference from the models on SQLite and PostgreSQL."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), db.Base.metadata) == []
    db.require_current(engine)
