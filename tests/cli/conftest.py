"""Fixtures for the `grnlib train` / `grnlib predict` tests: toy inputs written to files and a
tiny model folder trained once per session."""
import pytest
import torch
from cli_helpers import train_argv, write_toy

from grnlib import cli
from grnlib.data import find_shared_data
from grnlib.data.download import ENV_CACHE_DIR, ENV_DATA_DIR, ENV_DATA_URL

torch.set_num_threads(1)  # a shared 2-core machine: one thread per process is much faster


@pytest.fixture(autouse=True)
def _no_data_env(monkeypatch):
    for name in (ENV_DATA_DIR, ENV_CACHE_DIR, ENV_DATA_URL):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def shared_root():
    root = find_shared_data()
    if root is None:
        pytest.skip("shared reference data folder (../shared/data) is absent")
    return root


@pytest.fixture(scope="session")
def toy_files(tmp_path_factory):
    return write_toy(tmp_path_factory.mktemp("toy"))


@pytest.fixture(scope="session")
def trained(toy_files, tmp_path_factory):
    """A model folder trained once on the toy files (expression two-tower, PCA features)."""
    out = tmp_path_factory.mktemp("models") / "toy_model"
    assert cli.main(train_argv(toy_files, out)) == 0
    return out
