"""Alembic environment of the crm serving schema: runs on the connection the caller hands over.

:func:`caseworks_assets.crm.store.migrate` passes an open SQLAlchemy connection
(DuckDB snapshot or PostgreSQL) in ``config.attributes["connection"]``; nothing
here reads a URL or configures logging.
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
