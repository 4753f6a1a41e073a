"""Agent roles (admin | agent) and the settings audit log.

Every agent that exists before this migration becomes an admin: until now any agent could change
settings, so nobody loses what they could do; new agents are `agent` unless made admins.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from handoff_plugin.store.tables import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no table rebuild on SQLite: the FTS triggers of 0004 stay untouched).
    op.add_column(
        "agents", sa.Column("role", sa.String(16), nullable=False, server_default="agent")
    )
    op.execute("UPDATE agents SET role = 'admin'")
    op.create_table(
        "settings_audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("changed_at", UtcDateTime, nullable=False),
        sa.Column("agent_id", sa.Integer),
        sa.Column("agent_email", sa.String(320)),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("old_value", sa.Text),
        sa.Column("new_value", sa.Text),
        sa.Column("secret", sa.Boolean, nullable=False, server_default=sa.false()),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_settings_audit_changed_at", "settings_audit", ["changed_at"])


def downgrade() -> None:
    op.drop_index("ix_settings_audit_changed_at", "settings_audit")
    op.drop_table("settings_audit")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("role")
