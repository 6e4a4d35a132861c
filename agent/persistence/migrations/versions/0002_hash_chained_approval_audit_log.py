"""hash-chained approval audit log

Adds ``seq``, ``args_hash``, ``prev_hash`` and ``entry_hash`` to ``approval_events``, chains the
rows already there (per tenant, in the order they were written) so that ``tiller audit verify``
passes on an upgraded database, and on PostgreSQL installs the trigger that refuses UPDATE,
DELETE and TRUNCATE on the table.

Old rows keep their details text untouched; their ``args_hash`` comes from the details
(requested, executed) or from the approval row (approved/edited: the approved hash; rejected,
expired: the requested hash).

A database created by ``tiller db init`` with this version's models already has the columns
(and the trigger); it is recognised as revision 0001 first, so this revision then only makes
sure the trigger exists.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 04:02:22.941691
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

import tools.db
from agent.persistence.audit import GENESIS, entry_hash

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_NEW_COLUMNS: dict[str, sa.types.TypeEngine[Any]] = {
    "seq": sa.Integer(),
    "args_hash": sa.String(length=64),
    "prev_hash": sa.String(length=64),
    "entry_hash": sa.String(length=64),
}

_events = sa.table(
    "approval_events",
    sa.column("id", sa.Integer()),
    sa.column("approval_id", sa.String()),
    sa.column("tenant_id", sa.String()),
    sa.column("event", sa.String()),
    sa.column("actor", sa.String()),
    sa.column("at", tools.db.UTCDateTime()),
    sa.column("details_json", sa.Text()),
    sa.column("seq", sa.Integer()),
    sa.column("args_hash", sa.String()),
    sa.column("prev_hash", sa.String()),
    sa.column("entry_hash", sa.String()),
)
_approvals = sa.table(
    "approvals",
    sa.column("id", sa.String()),
    sa.column("args_hash", sa.String()),
    sa.column("approved_hash", sa.String()),
)

# A snapshot of the trigger in agent/store.py at this revision.
_PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION approval_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'approval_events is append-only: rows cannot be updated or deleted'; END $$"
)
_PG_TRIGGERS = {
    "approval_events_append_only": "BEFORE UPDATE OR DELETE ON approval_events FOR EACH ROW",
    "approval_events_no_truncate": "BEFORE TRUNCATE ON approval_events FOR EACH STATEMENT",
}


def _args_hash_of(event: str, details_json: str, requested: str | None, approved: str | None) -> str:
    details = json.loads(details_json or "{}")
    if isinstance(details, dict) and isinstance(details.get("args_hash"), str):
        return details["args_hash"]
    if event in ("approved", "edited"):
        return approved or requested or ""
    return requested or ""


def _chain_existing_rows(bind: sa.Connection) -> None:
    rows = bind.execute(
        sa.select(_events, _approvals.c.args_hash.label("requested"), _approvals.c.approved_hash.label("approved"))
        .select_from(_events.outerjoin(_approvals, _approvals.c.id == _events.c.approval_id))
        .order_by(_events.c.tenant_id, _events.c.id)
    ).mappings()
    heads: dict[str, tuple[int, str]] = {}
    updates: list[dict[str, Any]] = []
    for row in rows:
        seq, prev_hash = heads.get(row["tenant_id"], (0, GENESIS))
        fields: dict[str, Any] = {
            "seq": seq + 1,
            "prev_hash": prev_hash,
            "approval_id": row["approval_id"],
            "tenant_id": row["tenant_id"],
            "event": row["event"],
            "actor": row["actor"],
            "at": row["at"],
            "args_hash": _args_hash_of(row["event"], row["details_json"], row["requested"], row["approved"]),
            "details_json": row["details_json"],
        }
        digest = entry_hash(**fields)
        heads[row["tenant_id"]] = (seq + 1, digest)
        updates.append(
            {
                "row_id": row["id"],
                "new_seq": fields["seq"],
                "new_args_hash": fields["args_hash"],
                "new_prev_hash": prev_hash,
                "new_entry_hash": digest,
            }
        )
    if updates:
        bind.execute(
            _events.update()
            .where(_events.c.id == sa.bindparam("row_id"))
            .values(
                seq=sa.bindparam("new_seq"),
                args_hash=sa.bindparam("new_args_hash"),
                prev_hash=sa.bindparam("new_prev_hash"),
                entry_hash=sa.bindparam("new_entry_hash"),
            ),
            updates,
        )


def upgrade() -> None:
    bind = op.get_bind()
    columns = {c["name"] for c in sa.inspect(bind).get_columns("approval_events")}
    if "entry_hash" not in columns:
        with op.batch_alter_table("approval_events", schema=None) as batch_op:
            for name, type_ in _NEW_COLUMNS.items():  # nullable until the rows are chained
                batch_op.add_column(sa.Column(name, type_, nullable=True))
        _chain_existing_rows(bind)
        with op.batch_alter_table("approval_events", schema=None) as batch_op:
            for name, type_ in _NEW_COLUMNS.items():
                batch_op.alter_column(name, existing_type=type_, nullable=False)
            batch_op.create_unique_constraint("uq_approval_events_chain", ["tenant_id", "seq"])
    if bind.dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for name, when in _PG_TRIGGERS.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON approval_events")
            op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION approval_events_refuse_change()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in _PG_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON approval_events")
        op.execute("DROP FUNCTION IF EXISTS approval_events_refuse_change()")
    with op.batch_alter_table("approval_events", schema=None) as batch_op:
        batch_op.drop_constraint("uq_approval_events_chain", type_="unique")
        batch_op.drop_column("entry_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("args_hash")
        batch_op.drop_column("seq")
