"""Models that read the training graph (pair_evidence, graph_sage): the graph holds training
positives only, evidence is leave-one-out, message passing never uses the scored pairs' edges,
checkpoints carry the graph, and train_run calls the prepare hook."""
import numpy as np
import pandas as pd
import pytest
import torch

from grnlib.training.checkpoint import load_model, save_checkpoint
from grnlib.data import make_toy
from grnlib.evaluation.experiment import train_run
from grnlib.features import gene_features
from grnlib.models import build_model
from grnlib.models.context import evidence_columns
from grnlib.evaluation.protocols import make_split

torch.set_num_threads(1)

DS = make_toy(n_genes=80, n_tfs=10, n_cells=40, seed=1)
FEATURES = torch.as_tensor(gene_features(DS, "cells"))
SPLIT = make_split(DS, "seed", seed=0)
GRAPH_MODELS = ("pair_evidence", "graph_sage")


def build(name, **cfg):
    return build_model(name, n_genes=DS.n_genes, in_features=FEATURES.shape[1], **cfg)


def edge_set(model):
    return set(map(tuple, model.graph.edges.T.tolist()))


@pytest.mark.parametrize("name", GRAPH_MODELS)
def test_graph_is_built_from_training_positives_only(name):
    model = build(name)
    model.prepare(DS, SPLIT["train"])
    train_pos = SPLIT["train"][SPLIT["train"]["label"] == 1]
    assert edge_set(model) == set(zip(train_pos["tf"], train_pos["target"]))
    test_pos = SPLIT["test"][SPLIT["test"]["label"] == 1]
    assert not edge_set(model) & set(zip(test_pos["tf"], test_pos["target"]))
    # adding a test edge to the split (or a training negative) leaves the graph unchanged
    before = model.graph.edges.clone()
    extra_test = pd.concat([SPLIT["test"], test_pos.head(1)], ignore_index=True)
    extra_neg = pd.concat([SPLIT["train"], SPLIT["test"][SPLIT["test"]["label"] == 0].head(3)], ignore_index=True)
    model.prepare(DS, extra_neg)
    assert torch.equal(model.graph.edges, before)
    assert len(extra_test) == len(SPLIT["test"]) + 1  # the test table never reaches prepare


def test_evidence_is_leave_one_out():
    """A training positive sees the graph as if its own edge were unknown (hide='edge'), or as
    if its TF had no edges at all (hide='tf')."""
    train_pos = SPLIT["train"][SPLIT["train"]["label"] == 1]
    tf, target = int(train_pos["tf"].iloc[0]), int(train_pos["target"].iloc[0])
    groups = ["degree", "expression", "transfer", "topology"]
    pair = (torch.tensor([tf]), torch.tensor([target]))
    for hide, dropped in (("edge", (train_pos["tf"] == tf) & (train_pos["target"] == target)),
                          ("tf", train_pos["tf"] == tf)):
        full = build("pair_evidence", hide=hide)
        full.prepare(DS, SPLIT["train"])
        without = build("pair_evidence", hide=hide)
        without.prepare(DS, train_pos[~dropped])
        with torch.no_grad():
            seen = full.graph.pair_evidence(*pair, groups, FEATURES, hide)
            unseen = without.graph.pair_evidence(*pair, groups, FEATURES, "edge")
        torch.testing.assert_close(seen, unseen, rtol=1e-5, atol=1e-5)
    assert seen.shape == (1, len(evidence_columns(groups)))


def test_degree_evidence_counts_training_positives():
    model = build("pair_evidence", inputs="none", evidence=["degree"])
    model.prepare(DS, SPLIT["train"])
    pos = SPLIT["train"][SPLIT["train"]["label"] == 1]
    out_deg = np.bincount(pos["tf"], minlength=DS.n_genes)
    in_deg = np.bincount(pos["target"], minlength=DS.n_genes)
    test = SPLIT["test"]
    with torch.no_grad():
        ev = model.pair_evidence(torch.as_tensor(test["tf"].to_numpy()), torch.as_tensor(test["target"].to_numpy()))
    np.testing.assert_allclose(ev[:, 0].numpy(), np.log1p(out_deg[test["tf"]]), rtol=1e-6)
    np.testing.assert_allclose(ev[:, 1].numpy(), np.log1p(in_deg[test["target"]]), rtol=1e-6)


def test_graph_sage_never_passes_messages_through_scored_edges():
    torch.manual_seed(0)
    model = build("graph_sage", dropout=0.0)
    model.prepare(DS, SPLIT["train"])
    train_pos = SPLIT["train"][SPLIT["train"]["label"] == 1].head(8)
    tf, target = (torch.as_tensor(train_pos[c].to_numpy()) for c in ("tf", "target"))
    used = model.message_edges(tf, target)
    used_set = set(map(tuple, used.T.tolist()))
    assert not used_set & set(zip(train_pos["tf"], train_pos["target"]))
    assert used.shape[1] == model.graph.edges.shape[1] - len(train_pos)
    # in training mode the logits equal those of a model whose graph lacks those edges
    reduced = build("graph_sage", dropout=0.0)
    reduced.load_state_dict(model.state_dict())
    keep = SPLIT["train"].drop(train_pos.index)
    reduced.prepare(DS, keep)
    model.train(), reduced.train()
    torch.testing.assert_close(model(tf, target, FEATURES), reduced(tf, target, FEATURES))


@pytest.mark.parametrize("name", GRAPH_MODELS)
def test_checkpoint_restores_the_graph(name, tmp_path):
    model = build(name).eval()
    model.prepare(DS, SPLIT["train"])
    loaded = load_model(save_checkpoint(tmp_path / "m.pt", model))
    assert torch.equal(loaded.graph.edges, model.graph.edges)
    test = SPLIT["test"]
    pair = (torch.as_tensor(test["tf"].to_numpy()), torch.as_tensor(test["target"].to_numpy()))
    with torch.no_grad():
        torch.testing.assert_close(loaded(*pair, FEATURES), model(*pair, FEATURES))


def test_train_run_calls_prepare_and_learns():
    spec = {"model": "pair_evidence", "features": {"kind": "cells"},
            "train": {"epochs": 15, "batch_size": 64, "lr": 3e-3, "early_stopping_patience": None}}
    trained = train_run(DS, SPLIT, spec, seed=0)
    model, result = trained.model, trained.result
    pos = SPLIT["train"][SPLIT["train"]["label"] == 1]
    assert edge_set(model) == set(zip(pos["tf"], pos["target"]))
    assert result.history["val_auroc"].max() > 0.6  # chance is 0.5


def test_bad_options_are_explained():
    with pytest.raises(ValueError, match="hide"):
        build("pair_evidence", hide="pair")
    with pytest.raises(ValueError, match="evidence group"):
        build("pair_evidence", evidence=["degree", "pagerank"])
    with pytest.raises(ValueError, match="features"):
        model = build("pair_evidence", inputs="none")
        model.prepare(DS, SPLIT["train"])
        model(torch.tensor([0]), torch.tensor([5]))



@pytest.mark.parametrize("hide", ["edge", "tf"])
def test_ranking_blocks_score_like_single_pairs(hide):
    """Genome-wide ranking scores a few TFs x many genes as one block (the neighbour vote as one matrix
    product); the scores equal those of the same pairs scored one by one in mixed order."""
    from grnlib.training.loop import predict_logits, score_all_pairs

    torch.manual_seed(0)
    model = build("pair_evidence", hide=hide, residual_floor="degree")
    model.prepare(DS, SPLIT["train"])
    tfs, genes = np.asarray(DS.tf_ids), np.arange(DS.n_genes)
    block = score_all_pairs(model, tfs, genes, FEATURES, chunk=32, batch_size=64)
    pairs = pd.DataFrame({"tf": np.repeat(tfs, len(genes)), "target": np.tile(genes, len(tfs))})
    shuffled = pairs.sample(frac=1.0, random_state=0)  # every batch mixes many TFs: the per-pair path
    one_by_one = np.full(len(pairs), np.nan)
    one_by_one[shuffled.index] = predict_logits(model, shuffled, features=FEATURES, batch_size=64)
    finite = np.isfinite(block.ravel())  # TF == gene pairs are -inf in the block
    np.testing.assert_allclose(block.ravel()[finite], one_by_one[finite], rtol=1e-5, atol=1e-5)
