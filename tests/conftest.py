"""Fixtures shared by the test folders."""
import os
import tempfile

import pytest

from grnlib.data import find_shared_data
from grnlib.data.download import ENV_CACHE_DIR, ENV_DATA_DIR, ENV_DATA_URL


@pytest.fixture
def no_data_env(monkeypatch):
    """A developer's own GRNLIB_* settings must not change what a test resolves."""
    for name in (ENV_DATA_DIR, ENV_CACHE_DIR, ENV_DATA_URL):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def shared_root():
    """The mirrored reference data (../shared/data); tests needing it skip only when it is absent."""
    root = find_shared_data()
    if root is None:
        pytest.skip("shared reference data folder (../shared/data) is absent")
    return root


@pytest.fixture
def resolved(monkeypatch):
    """Every run given to the spec resolver while the test runs (names and dicts in call order), counted
    where the resolver is imported by name (grnlib.user.model) too: a run spec is resolved once, where
    the input enters."""
    import grnlib.evaluation.spec as spec_module
    import grnlib.user.model as user_model

    calls, original = [], spec_module.resolve_spec

    def counted(run, **kwargs):
        calls.append(run)
        return original(run, **kwargs)

    monkeypatch.setattr(spec_module, "resolve_spec", counted)
    monkeypatch.setattr(user_model, "resolve_spec", counted)
    return calls


# Tests never read or fill the user's run cache: one fresh cache per test session.
os.environ["GRNLIB_RUN_CACHE"] = tempfile.mkdtemp(prefix="grnlib-test-run-cache-")
