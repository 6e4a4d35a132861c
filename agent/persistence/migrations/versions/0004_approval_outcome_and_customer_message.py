"""what an approval led to, and what the customer may be told

``outcome`` holds why an approved call failed when it ran (status ``failed``), so history shows
the real outcome; ``customer_message`` is the reviewer's optional message for the customer, kept
apart from ``reason``, the internal note the customer never sees.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
_COLUMNS = ("customer_message", "outcome")


def upgrade() -> None:
    # A database made by `tiller db init` with this version's models already has the columns.
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("approvals")}
    missing = [name for name in _COLUMNS if name not in present]
    if not missing:
        return
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        for name in missing:
            batch_op.add_column(sa.Column(name, sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        for name in reversed(_COLUMNS):
            batch_op.drop_column(name)
