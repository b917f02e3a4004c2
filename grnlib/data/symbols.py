"""Gene symbol normalisation and matching between files that spell symbols differently."""
from __future__ import annotations

import numpy as np
import pandas as pd


def normalise_symbols(values) -> pd.Series:
    """Strip whitespace and upper-case (human-style symbols: ``" Tp53 "`` -> ``"TP53"``)."""
    return pd.Series(values, dtype="object").astype(str).str.strip().str.upper()


def match_symbols(query, reference) -> np.ndarray:
    """Position of each ``query`` symbol in ``reference``, or -1 when absent.

    Exact matches win; the rest are matched ignoring case and surrounding whitespace when
    that is unambiguous (one reference symbol per upper-cased spelling), because the same
    gene is written ``Pou5f1`` in one mouse file and ``POU5F1`` in another.

    Returns:
        int64 array, shape ``[len(query)]``.
    """
    reference = pd.Index(pd.Series(reference, dtype="object").astype(str))
    query = pd.Series(query, dtype="object").astype(str)
    positions = reference.get_indexer(query)
    todo = positions < 0
    if todo.any():
        upper_ref = pd.Series(reference).str.strip().str.upper()
        unique_upper = upper_ref[~upper_ref.duplicated(keep=False)]
        lookup = pd.Series(unique_upper.index.to_numpy(), index=unique_upper.to_numpy())
        upper_query = query[todo].str.strip().str.upper()
        positions[todo] = lookup.reindex(upper_query.to_numpy()).fillna(-1).to_numpy()
    return positions.astype(np.int64)
