"""Alembic's entry point: run the migrations on the connection ``rubrics.server.db`` gives
(``rubrics db upgrade``; there is no alembic.ini, so alembic's own command line is not a
way in)."""

from __future__ import annotations

from alembic import context

from rubrics.server.db import Base

context.configure(connection=context.config.attributes["connection"],
                  target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
