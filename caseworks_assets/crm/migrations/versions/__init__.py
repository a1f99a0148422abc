"""Revisions of the crm serving schema, oldest first."""
