"""Alembic's environment for the commerce tables (run by ``tiller db upgrade``)."""

from __future__ import annotations

from alembic import context

from tools.commerce.models import CommerceBase
from tools.migrations import run_domain_migrations

run_domain_migrations(context, CommerceBase.metadata)
