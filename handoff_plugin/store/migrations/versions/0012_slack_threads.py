"""Answering from Slack: one thread per escalation, handled Slack requests, Slack user mapping.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

from handoff_plugin.store.tables import UtcDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_threads",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("escalation_id", sa.Integer, sa.ForeignKey("escalations.id"), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("escalation_id", name="uq_slack_threads_escalation_id"),
        sa.UniqueConstraint("channel", "ts", name="uq_slack_threads_channel_ts"),
    )
    op.create_table(
        "slack_events",
        sa.Column("event_id", sa.String(128), primary_key=True),
        sa.Column("received_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_slack_events_received_at", "slack_events", ["received_at"])
    op.create_table(
        "slack_users",
        sa.Column("slack_user_id", sa.String(32), primary_key=True),
        sa.Column(
            "agent_id",
            sa.Integer,
            sa.ForeignKey("agents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("explicit", sa.Boolean, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_slack_users_agent_id", "slack_users", ["agent_id"])


def downgrade() -> None:
    op.drop_index("ix_slack_users_agent_id", "slack_users")
    op.drop_table("slack_users")
    op.drop_index("ix_slack_events_received_at", "slack_events")
    op.drop_table("slack_events")
    op.drop_table("slack_threads")
