"""Agents' internal notes on conversations, and the team's canned replies.

`conversation_notes` holds what agents write for each other (never a `messages` row, so never
shown to the visitor, sent to Rasa, Slack or a webhook); `canned_replies` the saved replies agents
insert with `/shortcut`, one per (language, shortcut).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from handoff_plugin.store.tables import UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("agent_id", sa.Integer),
        sa.Column("agent_name", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_index(
        "ix_conversation_notes_conversation_id",
        "conversation_notes",
        ["conversation_id", "created_at"],
    )
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("shortcut", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("language", "shortcut", name="uq_canned_replies_language_shortcut"),
    )


def downgrade() -> None:
    op.drop_table("canned_replies")
    op.drop_index("ix_conversation_notes_conversation_id", "conversation_notes")
    op.drop_table("conversation_notes")
