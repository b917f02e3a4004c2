"""Every registered model: builds by name, trains one step, has the parameter count its layer
sizes imply, overfits a toy edge set, and rebuilds from config/checkpoint."""
import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from grnlib.training.checkpoint import load_checkpoint, load_model, save_checkpoint
from grnlib.data import make_toy
from grnlib.features import gene_features
from grnlib.models import MODELS, ConfigError, LinkModel, build_model, count_parameters, reads_expression
from grnlib.training.optim import build_optimizer
from grnlib.training.loop import TrainConfig, fit, predict_logits, predict_proba

torch.set_num_threads(1)

DS = make_toy(n_genes=120, n_tfs=12, n_cells=80, seed=0)
FEATURES = gene_features(DS, "cells")
N_GENES, IN_FEATURES = DS.n_genes, FEATURES.shape[1]


def toy_pairs(ds, seed=0):
    """All positive edges plus as many random TF x gene negatives (no self pairs)."""
    rng = np.random.default_rng(seed)
    taken = set(map(tuple, ds.edges[["tf", "target"]].to_numpy()))
    negatives = []
    while len(negatives) < len(ds.edges):
        tf, gene = int(rng.choice(ds.tf_ids)), int(rng.integers(ds.n_genes))
        if tf != gene and (tf, gene) not in taken:
            taken.add((tf, gene))
            negatives.append((tf, gene))
    return pd.concat([ds.edges.assign(label=1),
                      pd.DataFrame(negatives, columns=["tf", "target"]).assign(label=0)],
                     ignore_index=True)


PAIRS = toy_pairs(DS)


def mlp_params(*dims):
    """Linear layers dims[0] -> ... -> dims[-1]: weights a*b plus biases b per layer."""
    return sum(a * b + b for a, b in zip(dims, dims[1:]))


# Default sizes written down from the spec, independently of the model code.
EXPECTED_PARAMS = {
    "embedding_two_tower": lambda n, d: 2 * n * 128 + 2 * mlp_params(128, 128, 128),
    "two_tower": lambda n, d: 2 * mlp_params(d, 256, 256, 128),
    "expression_two_tower": lambda n, d: 2 * mlp_params(d, 512, 256, 128),
    "hybrid_two_tower": lambda n, d: 2 * n * 128 + 2 * mlp_params(128 + d, 256, 256, 128),
    "deep_two_tower": lambda n, d: 2 * n * 256 + 2 * mlp_params(256, 512, 256, 128, 64),
    "cross_encoder": lambda n, d: 2 * n * 128 + mlp_params(256, 256, 256, 1),
    # 8 evidence columns (BatchNorm without affine: no parameters), two d -> 32 projections
    "pair_evidence": lambda n, d: 2 * mlp_params(d, 32) + mlp_params(8 + 3 * 32, 64, 64, 1),
    # input projection, 2 layers x 3 directed 64x64 linears, scorer 192 -> 64 -> 1
    "graph_sage": lambda n, d: mlp_params(d, 64) + 2 * 3 * mlp_params(64, 64) + mlp_params(192, 64, 1),
    # the default base (expression_two_tower) plus the residual's scale alpha; the floor is buffers
    "residual": lambda n, d: 2 * mlp_params(d, 512, 256, 128) + 1,
    # the control: target projection plus an MLP over [in-degree, projection]
    "target_only": lambda n, d: mlp_params(d, 32) + mlp_params(1 + 32, 64, 64, 1),
}


def build(name, **overrides):
    return build_model(name, n_genes=N_GENES, in_features=IN_FEATURES, **overrides)


def test_every_registered_model_has_a_parameter_formula():
    assert sorted(EXPECTED_PARAMS) == MODELS.names()


@pytest.mark.parametrize("name", MODELS.names())
def test_parameter_count_matches_layer_formula(name):
    for n_genes, in_features in ((N_GENES, IN_FEATURES), (948, 425)):
        model = build_model(name, n_genes=n_genes, in_features=in_features)
        assert count_parameters(model) == EXPECTED_PARAMS[name](n_genes, in_features)


def test_old_report_sizes_are_reproduced():
    # Old BaselineModel (~132K) and ExpressionTwoTower over 2000 features (~2.4M).
    assert count_parameters(build_model("cross_encoder", n_genes=1)) - 2 * 128 == 131_841
    assert count_parameters(build_model("expression_two_tower", in_features=2000)) == 2_377_472


def test_sizes_are_overridable():
    model = build_model("deep_two_tower", n_genes=50, embedding_dim=8, hidden_dims=[16, 12],
                        out_dim=4, inputs="hybrid", in_features=5)
    assert count_parameters(model) == 2 * 50 * 8 + 2 * mlp_params(8 + 5, 16, 12, 4)
    cross = build_model("cross_encoder", inputs="expression", in_features=7, hidden_dims=[9])
    assert count_parameters(cross) == mlp_params(14, 9, 1)


# Models that read the training graph (``prepare``) get every other positive as their graph
# and are scored on the remaining pairs, as in a real split.
GRAPH_PAIRS = PAIRS[PAIRS["label"] == 1].iloc[::2]
SCORED_PAIRS = PAIRS.drop(GRAPH_PAIRS.index)


def reads_graph(model) -> bool:
    """The model overrides LinkModel's no-op ``prepare``: it reads the training graph."""
    return type(model).prepare is not LinkModel.prepare


@pytest.mark.parametrize("name", MODELS.names())
def test_forward_backward_and_optimizer_step(name):
    torch.manual_seed(0)
    model = build(name)
    pairs = PAIRS
    if reads_graph(model):
        model.prepare(DS, GRAPH_PAIRS)
        pairs = SCORED_PAIRS
    optimizer = build_optimizer("adamw", model, lr=1e-2)
    tf = torch.as_tensor(pairs["tf"].to_numpy())
    target = torch.as_tensor(pairs["target"].to_numpy())
    y = torch.as_tensor(pairs["label"].to_numpy(), dtype=torch.float32)
    logits = model(tf, target, torch.as_tensor(FEATURES))
    assert logits.shape == (len(pairs),) and logits.dtype == torch.float32
    assert torch.isfinite(logits).all()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
    loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
    before = [p.detach().clone() for p in model.parameters()]
    optimizer.step()
    changed = [not torch.equal(b, p) for b, p in zip(before, model.parameters())]
    assert all(changed)


# target_only cannot tell two TFs of one target apart, by design: it must not overfit pairs.
PAIR_MODELS = [n for n in MODELS.names() if n != "target_only"]


def test_target_only_scores_every_tf_of_a_target_alike():
    model = build("target_only").eval()
    model.prepare(None, PAIRS)
    target = torch.full((N_GENES,), 3, dtype=torch.long)
    tfs = torch.arange(N_GENES)
    with torch.no_grad():
        logits = model(tfs, target, torch.as_tensor(FEATURES))
    own_edges = set(PAIRS.loc[(PAIRS["label"] == 1) & (PAIRS["target"] == 3), "tf"])
    others = [i for i in range(N_GENES) if i not in own_edges]  # the pair's own edge is left out of the count
    assert torch.allclose(logits[others], logits[others[0]])


@pytest.mark.parametrize("name", PAIR_MODELS)
def test_overfits_small_toy_edge_set(name):
    config = TrainConfig(epochs=60, batch_size=64, lr=1e-3, scheduler="constant",
                         weight_decay=0.0, clip_norm=1.0, progress=False, seed=0)
    result = fit({"name": name, "n_genes": N_GENES, "in_features": IN_FEATURES}, PAIRS,
                 features=FEATURES, config=config)
    # Rank by logits: overfit dot-product models reach |logit| > 37, where even a float64
    # sigmoid rounds to exactly 1.0 and ties would blur the AUROC.
    logits = predict_logits(result.model, PAIRS, FEATURES)
    assert roc_auc_score(PAIRS["label"], logits) >= 0.99
    proba = predict_proba(result.model, PAIRS, FEATURES)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert (np.diff(proba[np.argsort(logits)]) >= 0).all()  # same order as the logits


TWO_TOWERS = [n for n in MODELS.names() if build(n).is_two_tower]


def test_two_tower_family_is_registered():
    assert set(TWO_TOWERS) == {"embedding_two_tower", "two_tower", "expression_two_tower",
                               "hybrid_two_tower", "deep_two_tower"}


@pytest.mark.parametrize("name", TWO_TOWERS)
def test_deduplicated_forward_equals_per_pair_forward(name):
    torch.manual_seed(1)
    model = build(name).eval()
    features = torch.as_tensor(FEATURES)
    tf = torch.randint(0, 12, (300,))           # few TFs: many duplicates
    target = torch.randint(0, N_GENES, (300,))
    with torch.no_grad():
        fast = model(tf, target, features)
        naive = model.forward_per_pair(tf, target, features)
    torch.testing.assert_close(fast, naive, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", TWO_TOWERS)
def test_forward_encodes_each_distinct_gene_once(name):
    model = build(name).eval()
    rows = {}
    model.tf_tower.register_forward_hook(lambda m, i, o: rows.__setitem__("tf", i[0].shape[0]))
    model.gene_tower.register_forward_hook(lambda m, i, o: rows.__setitem__("gene", i[0].shape[0]))
    tf = torch.tensor([3, 3, 5, 3, 5, 7])
    target = torch.tensor([10, 11, 10, 10, 11, 10])
    with torch.no_grad():
        model(tf, target, torch.as_tensor(FEATURES))
    assert rows == {"tf": 3, "gene": 2}


@pytest.mark.parametrize("name", TWO_TOWERS)
def test_score_embeddings_matches_forward_on_all_pairs(name):
    torch.manual_seed(2)
    model = build(name).eval()
    features = torch.as_tensor(FEATURES)
    tfs, genes = torch.arange(12), torch.arange(40, 60)
    with torch.no_grad():
        matrix = model.score_embeddings(model.encode_tf(tfs, features),
                                        model.encode_gene(genes, features))
        grid = model(tfs.repeat_interleave(len(genes)), genes.repeat(len(tfs)), features)
    assert matrix.shape == (12, 20)
    torch.testing.assert_close(matrix.reshape(-1), grid, rtol=1e-5, atol=1e-5)


def test_temperature_defaults_and_cosine_bound():
    assert build("two_tower").config["temperature"] == 0.07
    cosine = build("two_tower", similarity="cosine")
    assert cosine.config["temperature"] == 0.05
    assert build("two_tower", similarity="cosine", temperature=0.5).config["temperature"] == 0.5
    assert build("hybrid_two_tower").config["similarity"] == "cosine"
    with torch.no_grad():
        logits = cosine(torch.arange(12), torch.arange(12, 24), torch.as_tensor(FEATURES))
    assert logits.abs().max() <= 1 / 0.05 + 1e-4


def test_deep_two_tower_uses_xavier_init():
    model = build("deep_two_tower")
    for layer in [m for m in model.modules() if isinstance(m, torch.nn.Linear)]:
        bound = (6 / (layer.in_features + layer.out_features)) ** 0.5
        assert layer.weight.abs().max() <= bound
        assert torch.count_nonzero(layer.bias) == 0
    assert any(isinstance(m, torch.nn.Dropout) for m in model.modules())


def test_unknown_model_name_lists_valid_names():
    with pytest.raises(ConfigError) as err:
        build_model("three_tower")
    for name in MODELS.names():
        assert name in str(err.value)


def test_unknown_config_key_lists_valid_keys():
    with pytest.raises(ConfigError) as err:
        build_model("two_tower", in_features=4, hiden_dims=[3])
    message = str(err.value)
    assert "hiden_dims" in message and "hidden_dims" in message and "temperature" in message


def test_bad_or_missing_features_are_explained():
    model = build("expression_two_tower")
    with pytest.raises(ValueError, match="features"):
        model(torch.tensor([0]), torch.tensor([1]))
    with pytest.raises(ValueError, match="in_features"):
        model(torch.tensor([0]), torch.tensor([1]), torch.zeros(N_GENES, 3))
    with pytest.raises(ValueError, match="in_features"):
        build_model("two_tower")
    with pytest.raises(ValueError, match="n_genes"):
        build_model("embedding_two_tower")


@pytest.mark.parametrize("name", MODELS.names())
def test_config_and_state_dict_rebuild_identical_model(name, tmp_path):
    torch.manual_seed(3)
    model = build(name).eval()
    model.prepare(DS, GRAPH_PAIRS)  # the graph buffers (where a model has them) must travel with the weights
    json.dumps(model.config)  # plain data
    rebuilt = build_model(**model.config)
    rebuilt.load_state_dict(model.state_dict())
    path = save_checkpoint(tmp_path / "model.pt", model)
    loaded = load_model(path)
    assert load_checkpoint(path)["model_config"] == model.config
    tf, target = torch.arange(12).repeat(5), torch.arange(60)
    features = torch.as_tensor(FEATURES)
    with torch.no_grad():
        expected = model(tf, target, features)
        assert torch.equal(rebuilt.eval()(tf, target, features), expected)
        assert torch.equal(loaded(tf, target, features), expected)
    assert not loaded.training
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)


def test_registry_reports_defaults_and_keys():
    assert MODELS.defaults("two_tower")["hidden_dims"] == (256, 256)
    assert MODELS.defaults("deep_two_tower")["init"] == "xavier"
    for name in MODELS.names():
        assert {"n_genes", "in_features", "inputs", "hidden_dims"} <= set(MODELS.valid_keys(name))


# The written interface (grnlib.models.interface): every model is a LinkModel, and whether a configuration
# reads expression is declared at registration, known before building, and what the built model does.
READS_VARIANTS = [{}, {"inputs": "embedding"}, {"inputs": "expression"}, {"inputs": "hybrid"}]


@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_is_a_link_model_that_declares_whether_it_reads_expression(name):
    assert "reads_expression" in MODELS.info(name), f"{name} is registered without reads_expression"
    for cfg in READS_VARIANTS:
        cfg = {k: v for k, v in cfg.items() if k in MODELS.valid_keys(name)}
        try:
            model = build_model(name, n_genes=N_GENES, in_features=IN_FEATURES, **cfg)
        except (ValueError, ConfigError):
            continue  # a combination the family refuses
        assert isinstance(model, LinkModel)
        assert isinstance(model.is_two_tower, bool) and isinstance(model.uses_features, bool)
        assert reads_expression(name, cfg) == model.uses_features, (name, cfg)


def test_reads_expression_follows_the_evidence_and_the_residual_base():
    assert not reads_expression("pair_evidence", {"inputs": "none", "evidence": ["degree", "topology"]})
    assert reads_expression("pair_evidence", {"inputs": "none", "evidence": ["degree", "transfer"]})
    assert not reads_expression("residual", {"base": "deep_two_tower"})
    assert reads_expression("residual", {"base": "deep_two_tower", "inputs": "hybrid"})
