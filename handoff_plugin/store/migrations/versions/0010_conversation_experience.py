"""Conversation experience (issue 12, the visitor's side): who is talking, and how it went.

`agents.avatar_url` is the picture an agent chose for visitors (an http(s) URL, optional);
`messages.agent_avatar_url` keeps the picture an agent message was sent with, so a visitor's
replay after a reload shows the same face as the live message did. `csat_surveys` holds the
satisfaction question asked after End Live Chat: the rating (1-5), the optional comment, the
conversation, its escalation and the agent who ended it.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from handoff_plugin.store.tables import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("agents", sa.Column("avatar_url", sa.String(2048)))
    op.add_column("messages", sa.Column("agent_avatar_url", sa.String(2048)))
    op.create_table(
        "csat_surveys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), nullable=False
        ),
        sa.Column("escalation_id", sa.Integer),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("agent_name", sa.String(200)),
        sa.Column("status", sa.String(16), nullable=False, server_default="asked"),
        sa.Column("rating", sa.Integer),
        sa.Column("comment", sa.Text),
        sa.Column("asked_at", UtcDateTime, nullable=False),
        sa.Column("rated_at", UtcDateTime),
    )
    op.create_index("ix_csat_surveys_conversation_id", "csat_surveys", ["conversation_id"])
    op.create_index("ix_csat_surveys_rated_at", "csat_surveys", ["rated_at"])
    op.create_index("ix_csat_surveys_escalation_id", "csat_surveys", ["escalation_id"])


def downgrade() -> None:
    op.drop_table("csat_surveys")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("agent_avatar_url")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("avatar_url")
