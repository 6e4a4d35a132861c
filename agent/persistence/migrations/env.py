"""Alembic's environment: the engine comes from ``tiller db upgrade`` (``config.attributes``)."""

from __future__ import annotations

from alembic import context

from agent.persistence.migrations import runtime_table, target_metadata

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        include_name=lambda name, kind, _parent: kind != "table" or runtime_table(str(name)),
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
