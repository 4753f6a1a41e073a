"""The *Mine* count reads an index only: (assignee_id, last_activity_at) replaces (assignee_id).

Counting an agent's conversations checked `last_activity_at` in every matching row; on SQLite,
once ANALYZE had seen a column that is mostly NULL (most conversations never meet an agent), it
scanned the whole table instead: 19 ms per inbox list at 100,000 conversations, now 0.02 ms.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_conversations_assignee_activity", "conversations", ["assignee_id", "last_activity_at"]
    )
    op.drop_index("ix_conversations_assignee_id", "conversations")


def downgrade() -> None:
    op.create_index("ix_conversations_assignee_id", "conversations", ["assignee_id"])
    op.drop_index("ix_conversations_assignee_activity", "conversations")
