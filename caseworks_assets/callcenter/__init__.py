"""The callcenter case: a call center's source tables remodelled by dbt, answered both ways.

Inputs (one folder, CSV or Parquet): ``call_history_queue``, ``telephony_types``,
``attendances``, ``attendances_calls`` and ``lines_mkt_final``, exports of the
original Postgres system. The raw assets repair and load them (lake Parquet,
viewed in the warehouse schema ``callcenter``); a dbt project
(``callcenter/dbt``) stages them and builds ``call_history`` (incremental, one
partition a day), ``marketing_details`` and ``attendance_details``. The five
questions of the original analysis are answered on the sources and on the new
model, and a blocking check asserts that both agree row for row.
"""
