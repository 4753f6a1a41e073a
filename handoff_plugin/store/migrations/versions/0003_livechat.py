"""Live chat: messages (per-conversation sequence), visitor sessions, generated secrets.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from handoff_plugin.store.tables import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("last_seq", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_activity_at", UtcDateTime))
    op.create_index("ix_conversations_last_activity_at", "conversations", ["last_activity_at"])
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("agent_name", sa.String(200)),
        sa.Column("text", sa.Text),
        sa.Column("payload", sa.JSON),
        sa.Column("channel", sa.String(64)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_id_seq"),
    )
    op.create_table(
        "livechat_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_key", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("delivered_seq", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("last_seen_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("session_key", name="uq_livechat_sessions_session_key"),
    )
    op.create_table(
        "generated_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("generated_secrets")
    op.drop_table("livechat_sessions")
    op.drop_table("messages")
    op.drop_index("ix_conversations_last_activity_at", "conversations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("last_activity_at")
        batch.drop_column("last_seq")
