"""Secrets of the delivery channels as ``EnvVar``: the UI shows the variable, never the value."""

from __future__ import annotations

from dagster import EnvVar

from caseworks_assets.settings import Settings

__all__ = ["secret"]


def secret(settings: Settings, name: str) -> EnvVar | str:
    """``EnvVar(name)`` when ``settings`` record the secret as set, else empty (the resource's default)."""
    return EnvVar(name) if settings.has_secret(name) else ""
