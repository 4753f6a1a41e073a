"""PostgreSQL: a trigram index of message texts, so the inbox search (`text ILIKE '%q%'`) reads
the index instead of scanning every message. SQLite has its FTS5 trigram table (0004) already.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # pg_trgm ships with PostgreSQL (contrib); creating it needs CREATE on the database, which
    # the owner of the plugin's database has.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_messages_text_trgm ON messages USING gin (text gin_trgm_ops)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_messages_text_trgm")
