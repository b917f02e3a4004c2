"""Data access: dataset ids, loaders, validation, download, toy data."""
from .dataset import PAIR_COLUMNS, GRNDataset
from .errors import DataError
from .toy import make_toy

__all__ = ["PAIR_COLUMNS", "GRNDataset", "DataError", "make_toy"]
