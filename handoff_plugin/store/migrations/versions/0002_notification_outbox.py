"""Notification outbox: deliveries, their attempts, and the round-robin cursor.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from handoff_plugin.store.tables import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("escalation_id", sa.Integer, sa.ForeignKey("escalations.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UtcDateTime, nullable=False),
        sa.Column("lease_owner", sa.String(128)),
        sa.Column("lease_until", UtcDateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("last_response_code", sa.Integer),
        sa.Column("webhook_id", sa.String(64), nullable=False),
        sa.Column("queued_at", UtcDateTime, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("delivered_at", UtcDateTime),
        sa.UniqueConstraint("webhook_id", name="uq_deliveries_webhook_id"),
    )
    op.create_index("ix_deliveries_escalation_id", "deliveries", ["escalation_id"])
    op.create_index(
        "ix_deliveries_status_next_attempt_at", "deliveries", ["status", "next_attempt_at"]
    )
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("delivery_id", sa.Integer, sa.ForeignKey("deliveries.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("response_code", sa.Integer),
        sa.Column("owner", sa.String(128)),
    )
    op.create_index("ix_delivery_attempts_delivery_id", "delivery_attempts", ["delivery_id"])
    op.create_table(
        "round_robin_cursors",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("last_recipient", sa.String(320)),
        sa.Column("recipients", sa.JSON, nullable=False),
        sa.Column("assigned", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("round_robin_cursors")
    op.drop_table("delivery_attempts")
    op.drop_table("deliveries")
