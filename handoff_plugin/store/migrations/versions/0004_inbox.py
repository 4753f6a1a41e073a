"""Agent inbox: agents, their sessions, login throttling, read markers, the inbox event log, and
the indexes the conversation list needs.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from handoff_plugin.store.tables import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("last_login_at", UtcDateTime),
        sa.UniqueConstraint("email", name="uq_agents_email"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "agent_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "agent_id",
            sa.Integer,
            sa.ForeignKey("agents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("last_seen_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_agent_sessions_agent_id", "agent_sessions", ["agent_id"])
    op.create_index("ix_agent_sessions_expires_at", "agent_sessions", ["expires_at"])
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_started_at", UtcDateTime, nullable=False),
        sa.Column("blocked_until", UtcDateTime),
    )
    op.create_table(
        "conversation_reads",
        sa.Column(
            "agent_id",
            sa.Integer,
            sa.ForeignKey("agents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), primary_key=True
        ),
        sa.Column("read_seq", sa.Integer, nullable=False),
        sa.Column("read_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "inbox_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("seq", sa.Integer),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("agent_name", sa.String(200)),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_inbox_events_conversation_id", "inbox_events", ["conversation_id"])
    op.create_index("ix_inbox_events_created_at", "inbox_events", ["created_at"])
    op.create_index(
        "uq_inbox_events_marker", "inbox_events", ["conversation_id", "kind", "seq"], unique=True
    )
    op.create_index("ix_conversations_activity", "conversations", ["last_activity_at", "id"])
    op.create_index(
        "ix_conversations_state_activity", "conversations", ["state", "last_activity_at", "id"]
    )
    op.create_index("ix_escalations_visitor_id", "escalations", ["visitor_id"])
    op.create_index("ix_escalations_conversation_id", "escalations", ["conversation_id"])
    if op.get_bind().dialect.name == "sqlite":
        _create_message_search_index()
    # Conversations that were escalated or talked in before live chat recorded activity: list them.
    op.execute(
        "UPDATE conversations SET last_activity_at = COALESCE(last_message_at, updated_at) "
        "WHERE last_activity_at IS NULL AND (state <> 'bot' OR last_message IS NOT NULL)"
    )


def _create_message_search_index() -> None:
    """SQLite: a trigram full-text index of message texts, kept in step by triggers, so searching
    for any part of a message (3+ characters) does not scan every message. (On PostgreSQL the
    search scans; a pg_trgm index can be added by a DBA.) A future migration that rebuilds
    `messages` with batch_alter_table must create these triggers again."""
    op.execute(
        "CREATE VIRTUAL TABLE messages_fts USING fts5("
        "text, content='messages', content_rowid='id', tokenize='trigram')"
    )
    op.execute(
        "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
        "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END"
    )
    op.execute(
        "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
        "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); "
        "END"
    )
    op.execute(
        "CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN "
        "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); "
        "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END"
    )
    op.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS messages_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS messages_fts")
    op.drop_index("ix_escalations_conversation_id", "escalations")
    op.drop_index("ix_escalations_visitor_id", "escalations")
    op.drop_index("ix_conversations_state_activity", "conversations")
    op.drop_index("ix_conversations_activity", "conversations")
    op.drop_table("inbox_events")
    op.drop_table("conversation_reads")
    op.drop_table("login_throttle")
    op.drop_table("agent_sessions")
    op.drop_table("agents")
