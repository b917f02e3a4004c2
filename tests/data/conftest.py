"""Fixtures for the data-layer tests: a clean environment (shared ones live in tests/conftest.py)."""
import pytest


@pytest.fixture(autouse=True)
def _isolated(no_data_env):
    """Every test here runs without the developer's GRNLIB_* settings."""
