"""Hypothesis settings for the security suite: bounded, deterministic, no database files."""

from __future__ import annotations

from hypothesis import HealthCheck, settings


def fuzz(max_examples: int) -> settings:
    """Derandomized (the same inputs every run) and without `.hypothesis/` example files."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        print_blob=False,
    )
