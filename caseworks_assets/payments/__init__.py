"""Case ``payments``: JSON ingestion without loss, streaming emulation, governance and delinquency."""
