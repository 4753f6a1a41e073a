"""Team desk: agent presence, and what the queue told a waiting visitor.

`agents.presence` is the status an agent chose (online | away | offline); `last_seen_at` is
refreshed by an open inbox page, `last_active_at` by the agent using it: together they give the
presence others see (handoff_plugin/routing/presence.py). On `escalations`, `first_reply_at`
feeds the expected wait, `told_position`/`told_position_at` throttle queue-position messages,
`unanswered_told_at` marks the "we'll follow up by email" notice, and `closed_reason` says why
an escalation closed (ended | idle | abandoned).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from handoff_plugin.store.tables import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "agents", sa.Column("presence", sa.String(16), nullable=False, server_default="online")
    )
    op.add_column("agents", sa.Column("last_seen_at", UtcDateTime))
    op.add_column("agents", sa.Column("last_active_at", UtcDateTime))
    op.add_column("escalations", sa.Column("first_reply_at", UtcDateTime))
    op.add_column("escalations", sa.Column("told_position", sa.Integer))
    op.add_column("escalations", sa.Column("told_position_at", UtcDateTime))
    op.add_column("escalations", sa.Column("unanswered_told_at", UtcDateTime))
    op.add_column("escalations", sa.Column("closed_reason", sa.String(16)))
    op.create_index("ix_escalations_status_created_at", "escalations", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_escalations_status_created_at", "escalations")
    with op.batch_alter_table("escalations") as batch:
        for name in (
            "closed_reason",
            "unanswered_told_at",
            "told_position_at",
            "told_position",
            "first_reply_at",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("agents") as batch:
        for name in ("last_active_at", "last_seen_at", "presence"):
            batch.drop_column(name)
