"""Alembic migrations of the crm serving schema (applied by the ``serving_store`` asset, never by hand)."""
