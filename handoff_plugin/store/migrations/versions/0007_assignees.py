"""Claiming: the agent handling a conversation, and the details of assignment events.

`conversations.assignee_id` is the one agent who answers the visitor (NULL: nobody has it);
`inbox_events.detail` carries an `assignment.changed` row's action, agents and note, so another
process's inbox can tell the agent who lost a conversation who took it.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from handoff_plugin.store.tables import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: no table rebuild on SQLite, which cannot add a foreign key to an
    # existing table; removing an agent clears its assignments instead (AgentQueries.remove).
    op.add_column("conversations", sa.Column("assignee_id", sa.Integer))
    op.add_column("conversations", sa.Column("assigned_at", UtcDateTime))
    op.create_index("ix_conversations_assignee_id", "conversations", ["assignee_id"])
    op.add_column("inbox_events", sa.Column("detail", sa.JSON))


def downgrade() -> None:
    op.drop_index("ix_conversations_assignee_id", "conversations")
    with op.batch_alter_table("inbox_events") as batch:
        batch.drop_column("detail")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("assigned_at")
        batch.drop_column("assignee_id")
