"""Case ``platform``: monitoring, cost and optimization of the pipelines themselves.

Inputs: the Dagster instance's own records (runs, steps, materializations,
check evaluations), the warehouse's table statistics and the lake's files, dbt's
``run_results.json`` when a dbt project ran, and Power BI's refresh history when
Power BI is configured. Outputs: the ``platform`` tables (run and step history,
asset activity, storage footprint, cost estimates, KPIs, optimization hints,
scaling recommendations), ``<out>/platform/dashboard.html`` and alerts for every
job of the code location through the shared alert channel.
"""
