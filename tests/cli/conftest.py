"""Fixtures for the `grnlib train` / `grnlib predict` tests: toy inputs written to files and a
tiny model folder trained once per session."""
import pytest
import torch
from cli_helpers import train_argv, write_toy

from grnlib import cli

torch.set_num_threads(1)  # a shared 2-core machine: one thread per process is much faster


@pytest.fixture(autouse=True)
def _isolated(no_data_env):
    """Every test here runs without the developer's GRNLIB_* settings."""


@pytest.fixture(scope="session")
def toy_files(tmp_path_factory):
    return write_toy(tmp_path_factory.mktemp("toy"))


@pytest.fixture(scope="session")
def trained(toy_files, tmp_path_factory):
    """A model folder trained once on the toy files (expression two-tower, PCA features)."""
    out = tmp_path_factory.mktemp("models") / "toy_model"
    assert cli.main(train_argv(toy_files, out)) == 0
    return out
