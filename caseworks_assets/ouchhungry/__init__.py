"""Case ``ouchhungry``: a partner data product with daily and monthly deliveries.

Extraction (simulated marketplace) -> cleaning with the shared quality toolkit
-> daily sales of Hungry and Ouch and monthly city aggregates with segment
share (k-anonymous) and insights -> blocking guardrails -> delivery by SFTP,
partner API and e-mail, recorded in a manifest -> alert sensors and schedules.
"""
