"""Alembic's environment: the engine comes from ``tiller db upgrade`` (``config.attributes``)."""

from __future__ import annotations

from alembic import context

from agent.persistence.migrations import target_metadata

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
