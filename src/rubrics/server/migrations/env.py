"""Alembic's entry point: run the migrations on the connection ``rubrics.server.db`` gives."""

from __future__ import annotations

from alembic import context

from rubrics.server.db import Base, connect

config = context.config
connection = config.attributes.get("connection")
if connection is not None:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:  # pragma: no cover (alembic's own command line)
    engine = connect(config.attributes["url"])
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
