"""The commerce domain's Alembic migrations (``tiller db upgrade`` runs them with the runtime's)."""
