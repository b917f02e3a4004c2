"""The floors' two settings chosen on validation (grnlib.evaluation.floor_choices): the committed numbers
re-derive the constants the code reads, and the procedure scores validation pairs only."""
from pathlib import Path

import numpy as np
import pandas as pd

from grnlib.data import load_dataset
from grnlib.evaluation import floor_choices
from grnlib.evaluation.protocols import make_split
from grnlib.models import floors

COMMITTED = Path(__file__).resolve().parents[2] / "results" / "beyond_floor" / "floor_choices.csv"


def test_committed_choices_are_the_constants_the_code_reads():
    table = pd.read_csv(COMMITTED)
    assert set(table["dataset"]) == set(floor_choices.development_datasets())
    assert not table["dataset"].str.contains("mHSC-L").any()  # reserved: never chosen on
    assert table.groupby(["choice", "candidate"]).size().eq(5 * table["dataset"].nunique()).all()
    chosen = floor_choices.chosen(table)
    assert chosen == {"edge_prior_pseudo": floors.EDGE_PRIOR_PSEUDO, "unseen_tf_pi": floors.UNSEEN_TF_PI}


def test_the_procedure_reads_no_test_label():
    ds = load_dataset("beeline/STRING/mHSC-GM/500", with_expression=False)
    split = make_split(ds, "released", seed=0)
    rows = pd.DataFrame(floor_choices.score_split(ds, split))
    flipped = {**split, "test": split["test"].assign(label=1 - split["test"]["label"])}
    again = pd.DataFrame(floor_choices.score_split(ds, flipped))
    assert np.allclose(rows["val_auroc"], again["val_auroc"])
    assert len(rows) == len(floor_choices.PSEUDO_CANDIDATES) + len(floor_choices.PI_CANDIDATES)


def test_pooled_pi_rule_changes_only_tfs_without_training_rows():
    ds = load_dataset("beeline/Non-Specific/mHSC-GM/500", with_expression=False)
    train = make_split(ds, "released", seed=0)["train"]
    own = floors.base_rate_offsets(train, ds.n_genes, unseen_pi="own")
    pooled = floors.base_rate_offsets(train, ds.n_genes, unseen_pi="pooled")
    assert np.array_equal(own.pi[own.seen], pooled.pi[own.seen])
    assert (~own.seen).any() and np.ptp(pooled.pi[~own.seen]) == 0
