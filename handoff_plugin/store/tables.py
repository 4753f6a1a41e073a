"""The plugin's own tables (SQLAlchemy Core). Alembic migrations in `migrations/` create them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(timezone.utc)")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


visitors = sa.Table(
    "visitors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(320), index=True),
    sa.Column("first_name", sa.String(200)),
    sa.Column("last_name", sa.String(200)),
    sa.Column("phone", sa.String(64)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, unique=True),
    sa.Column("channel", sa.String(64)),
    # bot | escalated | live
    sa.Column("state", sa.String(16), nullable=False, server_default="bot"),
    sa.Column("visitor_id", sa.Integer, sa.ForeignKey("visitors.id"), index=True),
    sa.Column("last_message", sa.Text),
    sa.Column("last_message_at", UtcDateTime),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # Added by migration 0003 (live chat): the newest message's `seq` and when it was written.
    sa.Column("last_seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_activity_at", UtcDateTime),
    # The one agent handling the conversation (migration 0007): set by the first reply or a claim,
    # cleared by End Live Chat, a release, or the agent's removal (AgentQueries.remove; no
    # foreign key: SQLite cannot add one to an existing table without rebuilding it).
    sa.Column("assignee_id", sa.Integer),
    sa.Column("assigned_at", UtcDateTime),
    sa.Index("ix_conversations_last_activity_at", "last_activity_at"),
)

escalations = sa.Table(
    "escalations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("visitor_id", sa.Integer, sa.ForeignKey("visitors.id"), nullable=False),
    # intent | fallback | payload
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    # open | closed
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("closed_at", UtcDateTime),
    # The team desk (migration 0008): the first agent reply (the expected wait is the median of
    # recent ones), the queue position last told to the visitor and when, when the visitor was
    # told nobody answered in time, and why it closed (ended | idle | abandoned).
    sa.Column("first_reply_at", UtcDateTime),
    sa.Column("told_position", sa.Integer),
    sa.Column("told_position_at", UtcDateTime),
    sa.Column("unanswered_told_at", UtcDateTime),
    sa.Column("closed_reason", sa.String(16)),
    sa.Index("ix_escalations_created_at", "created_at"),
    sa.Index("ix_escalations_status_created_at", "status", "created_at"),
    # At most one open escalation per conversation, enforced by the database.
    sa.Index(
        "uq_escalations_open_per_conversation",
        "conversation_id",
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    ),
)

# Values saved from the inbox Settings page: one row, a JSON document of sections -> keys.
settings_overrides = sa.Table(
    "settings_overrides",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

# One row per notification to send about an escalation (the transactional outbox): written in the
# escalation's transaction, delivered by the dispatcher, at least once.
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("escalation_id", sa.Integer, sa.ForeignKey("escalations.id"), nullable=False),
    # email | slack | webhook
    sa.Column("kind", sa.String(16), nullable=False),
    # What to send, frozen when the escalation was recorded (see notifiers.base.Notification).
    sa.Column("payload", sa.JSON, nullable=False),
    # pending | sending | delivered | failed | disabled
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    # Who is sending it right now, and until when the claim holds.
    sa.Column("lease_owner", sa.String(128)),
    sa.Column("lease_until", UtcDateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("last_response_code", sa.Integer),
    # Stable across retries: the `webhook-id` header, the email's Message-ID.
    sa.Column("webhook_id", sa.String(64), nullable=False, unique=True),
    # Start of the retry window (enqueued, or re-queued by `handoff deliveries retry`).
    sa.Column("queued_at", UtcDateTime, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("delivered_at", UtcDateTime),
    sa.Index("ix_deliveries_escalation_id", "escalation_id"),
    sa.Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
)

# Every attempt to send a delivery, for `handoff deliveries show` and the inbox.
delivery_attempts = sa.Table(
    "delivery_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("delivery_id", sa.Integer, sa.ForeignKey("deliveries.id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime, nullable=False),
    # delivered | retry | failed | disabled | interrupted
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("response_code", sa.Integer),
    sa.Column("owner", sa.String(128)),
    sa.Index("ix_delivery_attempts_delivery_id", "delivery_id"),
)

# Round-robin position per rotation (e.g. "email"): the address that got the last escalation and
# the list it was picked from, so a changed list continues sensibly.
round_robin_cursors = sa.Table(
    "round_robin_cursors",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("last_recipient", sa.String(320)),
    sa.Column("recipients", sa.JSON, nullable=False),
    sa.Column("assigned", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

# --- Live chat (migration 0003) ---

# Every message of a conversation, numbered per conversation: reconnect replay ("after seq N")
# and the inbox transcript read it.
messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    # visitor | bot | agent | system
    sa.Column("author", sa.String(16), nullable=False),
    sa.Column("agent_id", sa.String(64)),
    sa.Column("agent_name", sa.String(200)),
    sa.Column("agent_avatar_url", sa.String(2048)),  # migration 0010: the agent's picture then
    sa.Column("text", sa.Text),
    # buttons, image, attachment, elements, custom: Rasa's response shape
    sa.Column("payload", sa.JSON),
    sa.Column("channel", sa.String(64)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_id_seq"),
)

# A visitor's live-chat session; `session_key` is the conversation's Rasa sender id. The visitor
# holds `<session_key>.<signature>`; the signature, not this table, proves who minted it.
livechat_sessions = sa.Table(
    "livechat_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("session_key", sa.String(64), nullable=False, unique=True),
    sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("delivered_seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
)

# Secrets the plugin generates for itself on first start (e.g. the live-chat session key), so
# every process of one deployment shares them.
generated_secrets = sa.Table(
    "generated_secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

# --- Agent inbox (migration 0004) ---

# The people who answer visitors from the inbox. `email` is stored lower-cased.
agents = sa.Table(
    "agents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    # Argon2id, in the PHC string format argon2-cffi writes (parameters and salt included)
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("last_login_at", UtcDateTime),
    # admin | agent (migration 0005; agents that existed before it became admins)
    sa.Column("role", sa.String(16), nullable=False, server_default="agent"),
    # Presence (migration 0008): the status the agent chose (online | away | offline), when an
    # open inbox page of theirs last checked in, and when they last used it.
    sa.Column("presence", sa.String(16), nullable=False, server_default="online"),
    sa.Column("last_seen_at", UtcDateTime),
    sa.Column("last_active_at", UtcDateTime),
    # Migration 0010: the picture visitors see next to the agent's messages (http(s) URL).
    sa.Column("avatar_url", sa.String(2048)),
    sa.UniqueConstraint("email", name="uq_agents_email"),
    sqlite_autoincrement=True,  # a removed agent's id is never handed to another
)

# Logged-in browsers. Only a hash of the cookie's token is kept: a copy of the database does not
# let anyone in. Any process can check any session.
agent_sessions = sa.Table(
    "agent_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "agent_id", sa.Integer, sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Index("ix_agent_sessions_agent_id", "agent_id"),
    sa.Index("ix_agent_sessions_expires_at", "expires_at"),
)

# Failed logins per account and per client address, shared by every process.
login_throttle = sa.Table(
    "login_throttle",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),  # account:<email> | ip:<address>
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("window_started_at", UtcDateTime, nullable=False),
    sa.Column("blocked_until", UtcDateTime),
)

# What each agent has seen of each conversation (unread markers): the newest `seq` shown to them.
conversation_reads = sa.Table(
    "conversation_reads",
    metadata,
    sa.Column(
        "agent_id",
        sa.Integer,
        sa.ForeignKey("agents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), primary_key=True),
    sa.Column("read_seq", sa.Integer, nullable=False),
    sa.Column("read_at", UtcDateTime, nullable=False),
)

# Facts the inbox must learn from other processes (escalations are recorded by the action
# server), and the live-chat markers of transcripts. Rows are numbered; each inbox process reads
# the rows after its cursor (see handoff_plugin/inbox/feed.py).
inbox_events = sa.Table(
    "inbox_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # escalation.created | live.started | live.ended | assignment.changed
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("seq", sa.Integer),  # live.*: the `seq` of the notice the visitor was shown
    sa.Column("agent_id", sa.String(64)),
    sa.Column("agent_name", sa.String(200)),
    sa.Column("origin", sa.String(32), nullable=False),  # the process that wrote it
    # assignment.changed (migration 0007): {"action", "assignee", "by", "previous", "note"}
    sa.Column("detail", sa.JSON),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_inbox_events_conversation_id", "conversation_id"),
    sa.Index("ix_inbox_events_created_at", "created_at"),
    sa.Index("uq_inbox_events_marker", "conversation_id", "kind", "seq", unique=True),
    sqlite_autoincrement=True,  # ids only grow, even after old rows are pruned
)

# --- Roles and the settings audit log (migration 0005) ---

# One row per changed setting (`section.key`, e.g. `webhook.url`), written in the transaction that
# saves the change. Who made it is copied (id and email), so the entry outlives the agent. Secrets
# are never stored here: `secret` is true and both values are NULL ("changed").
settings_audit = sa.Table(
    "settings_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("changed_at", UtcDateTime, nullable=False),
    sa.Column("agent_id", sa.Integer),  # NULL: changed by the server itself (e.g. a notifier off)
    sa.Column("agent_email", sa.String(320)),
    sa.Column("key", sa.String(400), nullable=False),
    sa.Column("old_value", sa.Text),  # JSON; NULL: not set before / secret
    sa.Column("new_value", sa.Text),  # JSON; NULL: removed / secret
    sa.Column("secret", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_settings_audit_changed_at", "changed_at"),
    sqlite_autoincrement=True,  # ids only grow: the cursor of `GET settings/audit`
)

# SQLite only: the trigram full-text index of `messages.text` (an FTS5 table that migration 0004
# creates with the triggers that keep it in step). Not part of `metadata`: Alembic must not manage
# it. A migration that rebuilds `messages` (batch_alter_table) must recreate those triggers.
messages_fts = sa.table("messages_fts", sa.column("rowid", sa.Integer), sa.column("text"))

# Indexes the inbox list needs (keyset pagination, newest activity first, per state).
sa.Index("ix_conversations_activity", conversations.c.last_activity_at, conversations.c.id)
sa.Index(
    "ix_conversations_state_activity",
    conversations.c.state,
    conversations.c.last_activity_at,
    conversations.c.id,
)
# The *Mine* count (assignee, has activity) from the index alone (migration 0009).
sa.Index(
    "ix_conversations_assignee_activity",
    conversations.c.assignee_id,
    conversations.c.last_activity_at,
)
sa.Index("ix_escalations_visitor_id", escalations.c.visitor_id)
sa.Index("ix_escalations_conversation_id", escalations.c.conversation_id)

# Satisfaction (CSAT, migration 0010): after End Live Chat the visitor is asked once how it went.
# `status`: asked (no answer: ignored, never asked again in this conversation) | rated | commented.
# The agent is copied (id and name as in the transcript), so the rating outlives the account.
csat_surveys = sa.Table(
    "csat_surveys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("escalation_id", sa.Integer),
    sa.Column("agent_id", sa.String(64)),
    sa.Column("agent_name", sa.String(200)),
    sa.Column("status", sa.String(16), nullable=False, server_default="asked"),
    sa.Column("rating", sa.Integer),  # 1-5
    sa.Column("comment", sa.Text),
    sa.Column("asked_at", UtcDateTime, nullable=False),
    sa.Column("rated_at", UtcDateTime),
    sa.Index("ix_csat_surveys_conversation_id", "conversation_id"),
    sa.Index("ix_csat_surveys_rated_at", "rated_at"),
    sa.Index("ix_csat_surveys_escalation_id", "escalation_id"),
)

# --- Agents' internal notes and the team's canned replies (migration 0011) ---

# A note an agent leaves on a conversation for the other agents: never part of the transcript the
# visitor, Rasa, Slack or a webhook sees (it is not a `messages` row). The author is copied (id and
# name) so the note outlives the agent.
conversation_notes = sa.Table(
    "conversation_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("agent_id", sa.Integer),
    sa.Column("agent_name", sa.String(200), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_conversation_notes_conversation_id", "conversation_id", "created_at"),
)

# Saved replies an agent inserts with `/shortcut`: one per (language, shortcut).
canned_replies = sa.Table(
    "canned_replies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("shortcut", sa.String(32), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("language", "shortcut"),
)

# Answering from Slack (migration 0012). One thread per escalation: the channel and `ts` of the
# notification Slack answered with, and what its first message shows (waiting | claimed | live |
# bot) and for whom.
slack_threads = sa.Table(
    "slack_threads",
    metadata,
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

# Every Slack request handled once, whichever replica it reached and however often Slack retried.
slack_events = sa.Table(
    "slack_events",
    metadata,
    sa.Column("event_id", sa.String(128), primary_key=True),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Index("ix_slack_events_received_at", "received_at"),
)

# Which agent a Slack user answers as: set by `handoff agent set-slack-user` (explicit), or
# learnt from the Slack profile's email (users.info) and cached here.
slack_users = sa.Table(
    "slack_users",
    metadata,
    sa.Column("slack_user_id", sa.String(32), primary_key=True),
    sa.Column(
        "agent_id", sa.Integer, sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("explicit", sa.Boolean, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Index("ix_slack_users_agent_id", "agent_id"),
)
