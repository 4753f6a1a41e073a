"""Alembic environment: migrations run on the connection `Store.upgrade()` hands over."""

from alembic import context

from handoff_plugin.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("run migrations with `handoff db upgrade`, which connects to database.url")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
