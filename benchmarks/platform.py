"""The platform case's benchmark: its report over a synthetic instance history of ``--rows`` runs.

``caseworks sample platform --rows N`` plans N runs over 60 days
(``history.json``); the first ``caseworks run platform`` over it writes them
into a Dagster home beside it through Dagster's APIs (one event-log database,
as a PostgreSQL instance has). That writing is a one-time set-up, like
creating the instance: it is timed in the first attempt only, and the
fastest attempt is the platform building its assets over N runs (the target:
10,000 runs in at most 30 s and under 1 GiB). There is no bare baseline:
nothing outside Dagster reads a Dagster instance's history.
"""

from __future__ import annotations

#: No narrowing: the measured run is the whole case (history days, figures, dashboard).
RUN_ARGS: list[str] = []
