"""the requester's role on each thread

``resume`` acts with the role of the user who asked (a role-based policy rule must apply to the
same role after an approval); older threads get none and fall back to their domain's default.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database made by `tiller db init` with this version's models already has the column.
    if "role" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("threads")}:
        return
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("threads", schema=None) as batch_op:
        batch_op.drop_column("role")
