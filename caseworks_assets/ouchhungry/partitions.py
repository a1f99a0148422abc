"""Partitions of the data product: days and months in São Paulo time, from the first simulated day."""

import dagster as dg

CASE = "ouchhungry"
TIMEZONE = "America/Sao_Paulo"
START_DATE = "2025-01-01"

daily_partitions = dg.DailyPartitionsDefinition(start_date=START_DATE, timezone=TIMEZONE)
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=START_DATE, timezone=TIMEZONE)
