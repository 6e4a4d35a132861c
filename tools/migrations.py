"""Alembic for a domain's own tables: what a domain's ``migrations/env.py`` calls.

    # <your package>/migrations/env.py
    from alembic import context
    from tools.migrations import run_domain_migrations
    from mypkg.models import Base
    run_domain_migrations(context, Base.metadata)

``tiller db upgrade`` runs the runtime's migrations, then the domain's, each with its own version
table (``alembic_version_<domain>`` for a domain), on the engine it passes in
``config.attributes``. A new revision of your tables: ``tiller db revision -m "what changed"``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData


def run_domain_migrations(context: Any, metadata: MetaData) -> None:
    """Run the migrations of ``metadata``'s tables on the engine ``tiller db upgrade`` gave."""
    attributes = context.config.attributes
    engine = attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table=attributes["version_table"],
            include_name=lambda name, kind, _parent: kind != "table" or name in metadata.tables,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
