"""The crm case: a messy spreadsheet export of customers, interactions and products, served as an HTTP API.

Inputs (CSV or .xlsx in the original system's layout): ``customer*`` (``Customer_Id,
Occupation, Type``), ``interaction*`` (``date_start, event, customers`` or ``Date Start,
Interaction, Customers``; dates day-first ``DD/MM/YYYY HH:MM``) and ``product*``
(``date, product`` with the date as ``MM-YYYY``). Every column is read as text,
repaired where that is lossless, and otherwise quarantined with its rule and raw record.

Outputs: the warehouse tables ``crm.customers``, ``crm.interactions`` (with the
topic: the product of discussion of the interaction's month), ``crm.products`` and
``crm.quarantine``; a versioned serving store (Alembic migrations) published as an
embedded DuckDB snapshot under ``<out dir>/crm/`` or loaded into PostgreSQL; and the
FastAPI application ``caseworks serve crm`` runs over it.
"""
