"""Data access: dataset ids, loaders, validation, download, toy data (bad input raises
:class:`grnlib.errors.DataError`).

>>> from grnlib.data import list_datasets, load_dataset, load_split
>>> ds = load_dataset("beeline/Specific/hHEP/500")        # doctest: +SKIP
>>> split = load_split("beeline/Specific/hHEP/500", sample=1)  # doctest: +SKIP
>>> priors = load_dataset("seed/trrust+dorothea/hESC")       # doctest: +SKIP
"""
from grnlib.data.beeline import read_beeline_folder
from grnlib.data.catalog import (FAMILIES, DatasetFamily, DatasetId, describe, family_names, is_reserved,
                                 known_ids, list_datasets, load_dataset, load_split, parse_id, split_samples)
from grnlib.data.dataset import PAIR_COLUMNS, GRNDataset
from grnlib.data.dream4 import read_dream4_folder
from grnlib.data.edges import dataset_from_edges, read_edges
from grnlib.data.expression import align_expression, read_expression
from grnlib.data.download import cache_dir, content_sha256, data_file, data_root, fetch, find_shared_data
from grnlib.data.priors import COMPLEXES, PRIOR_COLUMNS, load_priors
from grnlib.data.stoneroy import read_stone_roy
from grnlib.data.symbols import match_symbols, normalise_symbols
from grnlib.data.toy import make_toy

__all__ = [
    "PAIR_COLUMNS", "PRIOR_COLUMNS", "COMPLEXES",
    "GRNDataset", "DatasetId", "DatasetFamily", "FAMILIES",
    "data_root", "cache_dir", "find_shared_data", "fetch", "data_file", "content_sha256",
    "known_ids", "parse_id", "is_reserved", "list_datasets", "describe", "family_names", "load_dataset",
    "load_split", "split_samples",
    "load_priors", "read_expression", "align_expression", "read_edges", "dataset_from_edges",
    "read_beeline_folder", "read_dream4_folder", "read_stone_roy",
    "match_symbols", "normalise_symbols", "make_toy",
]
