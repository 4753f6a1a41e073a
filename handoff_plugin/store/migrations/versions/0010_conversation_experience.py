"""Conversation experience (issue 12, the visitor's side): who is talking.

`agents.avatar_url` is the picture an agent chose for visitors (an http(s) URL, optional);
`messages.agent_avatar_url` keeps the picture an agent message was sent with, so a visitor's
replay after a reload shows the same face as the live message did.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("agents", sa.Column("avatar_url", sa.String(2048)))
    op.add_column("messages", sa.Column("agent_avatar_url", sa.String(2048)))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("agent_avatar_url")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("avatar_url")
