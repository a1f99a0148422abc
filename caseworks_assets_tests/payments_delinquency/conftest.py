"""Fixtures of the delinquency tests: one local Spark session for the whole run."""

from __future__ import annotations

import pytest
from payments_delinquency_cases import SPARK_CONFIG
from pyspark.sql import SparkSession


@pytest.fixture(scope="session")
def spark() -> SparkSession:
    """One Spark session for all delinquency tests (startup costs ~10 s on this machine)."""
    builder = SparkSession.builder
    for key, value in SPARK_CONFIG.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
