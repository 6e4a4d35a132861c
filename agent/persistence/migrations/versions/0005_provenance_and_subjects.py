"""where an approval's arguments came from; keys and threads bound to a subject

``approvals.provenance_json``: the origin of each argument of the call (the user's words, a
trusted tool field, untrusted content, the model) and why the policy asked, for the reviewer.
``api_keys.subject`` and ``threads.subject``: the principal inside the tenant a key (and the
threads it starts) acts for — e.g. one customer — whose records alone its tools touch.

Numbered 0005 and revising 0003 so that it merges next to another branch's 0004 by changing
``down_revision`` alone.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = {
    "approvals": ("provenance_json", sa.Text()),
    "api_keys": ("subject", sa.String(length=128)),
    "threads": ("subject", sa.String(length=128)),
}


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table, (name, type_) in _COLUMNS.items():
        # A database made by `tiller db init` with this version's models already has the column.
        if name in {c["name"] for c in inspector.get_columns(table)}:
            continue
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    for table, (name, _) in _COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(name)
