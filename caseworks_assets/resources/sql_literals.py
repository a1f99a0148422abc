"""SQL literals written into DuckDB statements: a quoted string and a quoted identifier.

Statements that create views or copy files take no bound parameters, and
binding a Python value to a DuckDB statement makes DuckDB import pandas to
convert it (0.2 s, once per process). Paths, names and ids are therefore
written into the statement as literals, quoted here, in one place.
"""

from __future__ import annotations


def sql_string(value: str) -> str:
    """``value`` as a SQL string literal: ``it's`` -> ``'it''s'``."""
    return "'" + value.replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier, any character allowed: ``ticket id`` -> ``"ticket id"``."""
    return '"' + name.replace('"', '""') + '"'
