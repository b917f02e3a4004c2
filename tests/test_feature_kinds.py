"""Every registered feature kind (grnlib.features.FEATURE_KINDS) lives the same life: its options are its
constructor's keywords, a recipe fitted with them is described, stored and reloaded to the same features,
and its width is what transform gives. A new kind is tested by registering it."""
import numpy as np
import pytest

from grnlib.data import make_toy
from grnlib.features import FEATURE_KINDS, KINDS, FeatureKind, FeatureRecipe, feature_options


@pytest.fixture(scope="module")
def expression():
    return make_toy(seed=0).expression


@pytest.mark.parametrize("kind", FEATURE_KINDS.names())
def test_every_kind_fits_describes_stores_and_reloads(kind, expression):
    assert issubclass(FEATURE_KINDS[kind], FeatureKind) and kind in KINDS
    options = feature_options({"kind": kind})
    assert options == {"kind": kind, **FEATURE_KINDS.defaults(kind)}
    small = {key: 8 for key in ("n_components", "n_groups") if key in options}
    recipe = FeatureRecipe.fit(expression, kind, seed=1, **small)
    described = recipe.describe()
    assert described["kind"] == kind and set(described) == set(options)
    features = recipe.transform(expression)
    assert features.shape == (expression.n_vars, recipe.width) and features.dtype == np.float32
    meta, tensors = recipe.state()
    back = FeatureRecipe.from_state(meta, tensors)
    assert back.describe() == described
    np.testing.assert_array_equal(back.transform(expression), features)
    # a refit from the description gives the same features (the options are all it takes)
    again = FeatureRecipe.fit(expression, seed=1, **described)
    np.testing.assert_array_equal(again.transform(expression), features)


def test_unknown_options_name_the_kind_and_its_keys():
    with pytest.raises(ValueError, match=r"feature kind 'cells' takes \['standardize'\], not \['n_components'\]"):
        feature_options({"kind": "cells", "n_components": 3})
    with pytest.raises(ValueError, match="unknown feature kind 'umap'; valid kinds: cells, pca, pseudobulk"):
        feature_options({"kind": "umap"})
