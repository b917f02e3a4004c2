"""`grnlib train` and `grnlib predict` on good input: files written, formats accepted, features
rebuilt exactly, results reproducible."""
import anndata as ad
import numpy as np
import pandas as pd
import pytest
import yaml

from grnlib import cli
from grnlib.training.checkpoint import load_checkpoint
from grnlib.errors import DataWarning
from grnlib.evaluation.presets import BEST_CANDIDATES
from grnlib.features import gene_features
from grnlib.features import FeatureRecipe
from grnlib.user import (load_user_model, rank_edges, read_priors, read_tf_list,
                             resolve_user_spec, save_user_model, train_user_model, user_dataset)

from cli_helpers import run, sha256, train_argv

OUTPUT_COLUMNS = ["tf", "target", "score", "rank", "in_prior", "sign", "sign_confidence"]


@pytest.mark.parametrize("command", ["train", "predict"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--expression", "--out", "--seed", "--device", "--quiet", "--genes-as", "--layer"):
        assert flag in text
    assert ("--priors" in text and "--params" in text) if command == "train" else "--top-k" in text


def test_train_writes_model_params_and_heldout_metrics(trained):
    assert sorted(p.name for p in trained.iterdir()) == [".grnlib-model", "history.tsv", "metrics.tsv", "model.pt",
                                                          "pairs.tsv", "params.yaml"]
    metrics = pd.read_csv(trained / "metrics.tsv", sep="\t")
    assert list(metrics["name"]) == ["degree", "expression_two_tower"]
    assert metrics["n"].nunique() == 1 and metrics["n"].iloc[0] > 0  # both on the same held-out pairs
    assert metrics["auroc"].between(0, 1).all()
    params = yaml.safe_load((trained / "params.yaml").read_text())
    assert params["features"] == {"kind": "pca", "n_components": 8, "standardize": True}
    assert params["train"]["epochs"] == 2 and params["seed"] == 0
    assert params["data"]["n_genes"] == 120 and params["data"]["n_prior_edges"] == 143
    pairs = pd.read_csv(trained / "pairs.tsv", sep="\t")
    assert set(pairs["split"]) == {"train", "val", "test"}
    assert len(pairs[pairs["split"] == "test"]) == metrics["n"].iloc[0]
    # the checkpoint stores the recipe as plain data and loads weights-only
    ckpt = load_checkpoint(trained / "model.pt")
    assert tuple(ckpt["feature_components"].shape) == (8, 80)


def test_predict_ranks_all_pairs_then_top_k_and_min_score(trained, toy_files, tmp_path, capsys):
    base = ["predict", "--model", trained, "--expression", toy_files["expression"], "--quiet"]
    code, out, err = run(base + ["--out", tmp_path / "all.tsv"], capsys)
    assert code == 0 and out == "" and err == ""
    ranked = pd.read_csv(tmp_path / "all.tsv", sep="\t")
    assert list(ranked.columns) == OUTPUT_COLUMNS
    assert len(ranked) == 12 * 119  # every TF x other gene
    assert (ranked["tf"] != ranked["target"]).all()
    assert ranked["score"].is_monotonic_decreasing and list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    assert ranked["in_prior"].sum() == 143
    assert run(base + ["--top-k", 25, "--out", tmp_path / "top.tsv"], capsys)[0] == 0
    top = pd.read_csv(tmp_path / "top.tsv", sep="\t")
    pd.testing.assert_frame_equal(top, ranked.head(25))
    assert ranked["score"].iloc[40] > ranked["score"].iloc[41]
    threshold = float(ranked["score"].iloc[40:42].mean())  # between the 41st and 42nd score
    assert run(base + ["--min-score", threshold, "--out", tmp_path / "min.csv"], capsys)[0] == 0
    above = pd.read_csv(tmp_path / "min.csv")  # .csv: comma-separated
    pd.testing.assert_frame_equal(above, ranked.head(41))


def test_predict_pairs_tfs_and_priors_options(trained, toy_files, tmp_path, capsys):
    base = ["predict", "--model", trained, "--expression", toy_files["expression"], "--quiet"]
    (tmp_path / "pairs.tsv").write_text("source\ttarget\nG0001\tG0050\nG0002\tG0003\nG0002\tG0002\n")
    code, _, err = run(base + ["--pairs", tmp_path / "pairs.tsv", "--out", tmp_path / "p.tsv"], capsys)
    assert code == 0 and "dropped 1 self-loop" in err
    scored = pd.read_csv(tmp_path / "p.tsv", sep="\t")
    assert set(zip(scored["tf"], scored["target"])) == {("G0001", "G0050"), ("G0002", "G0003")}
    (tmp_path / "tfs.txt").write_text("TF\nG0003\nNOT_A_GENE\n")
    assert run(base + ["--tfs", tmp_path / "tfs.txt", "--out", tmp_path / "t.tsv"], capsys)[0] == 0
    assert set(pd.read_csv(tmp_path / "t.tsv", sep="\t")["tf"]) == {"G0003"}
    (tmp_path / "prior.csv").write_text("source,target\nG0003,G0100\n")
    assert run(base + ["--tfs", tmp_path / "tfs.txt", "--priors", tmp_path / "prior.csv",
                       "--out", tmp_path / "t2.tsv"], capsys)[0] == 0
    marked = pd.read_csv(tmp_path / "t2.tsv", sep="\t")
    assert marked.loc[marked["in_prior"] == 1, "target"].tolist() == ["G0100"]


def test_same_inputs_and_seed_give_an_identical_ranked_file(toy_files, tmp_path, capsys):
    digests = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        assert run(train_argv(toy_files, tmp_path / f"model_{name}", extra=["--seed", seed]), capsys)[0] == 0
        assert run(["predict", "--model", tmp_path / f"model_{name}", "--expression", toy_files["expression"],
                    "--top-k", 200, "--quiet", "--out", tmp_path / f"{name}.tsv"], capsys)[0] == 0
        digests[name] = sha256(tmp_path / f"{name}.tsv")
    assert digests["a"] == digests["b"]
    assert digests["a"] != digests["c"]  # the seed matters, so the equality above is not vacuous


def test_written_params_repeat_the_run(trained, toy_files, tmp_path, capsys):
    argv = ["train", "--expression", toy_files["expression"], "--priors", toy_files["priors"],
            "--params", trained / "params.yaml", "--out", tmp_path / "again", "--quiet"]
    assert run(argv, capsys)[0] == 0
    assert (tmp_path / "again" / "metrics.tsv").read_text() == (trained / "metrics.tsv").read_text()


def test_pca_recipe_matches_gene_features_and_ignores_cell_order(toy_files):
    ds = toy_files["ds"]
    # all components: both use sklearn's exact solver, so the features agree to float precision
    full = FeatureRecipe.fit(ds.expression, "pca", n_components=80, seed=0)
    np.testing.assert_allclose(full.transform(ds.expression), gene_features(ds, kind="pca", n_components=80),
                               atol=1e-4)
    # fewer: gene_features returns the randomized solver's U*S, the recipe the exact projection on
    # the same axes; the leading components agree closely
    recipe = FeatureRecipe.fit(ds.expression, "pca", n_components=8, seed=0)
    ours, theirs = recipe.transform(ds.expression), gene_features(ds, kind="pca", n_components=8, seed=0)
    assert all(np.corrcoef(ours[:, j], theirs[:, j])[0, 1] > 0.99 for j in range(4))
    cells = FeatureRecipe.fit(ds.expression, "cells")
    np.testing.assert_allclose(cells.transform(ds.expression), gene_features(ds, kind="cells"), atol=1e-5)
    # shuffled cells plus an extra cell: the stored projection picks the training cells by name
    shuffled = ds.expression[np.random.default_rng(0).permutation(ds.expression.n_obs)].copy()
    extra = ad.concat([shuffled, ad.AnnData(np.ones((1, ds.n_genes), np.float32), var=shuffled.var,
                                            obs=pd.DataFrame(index=["new_cell"]))])
    np.testing.assert_array_equal(recipe.transform(extra), recipe.transform(ds.expression))


# every model an alias may resolve to: the aliases must stay trainable, savable and rankable
ALIAS_CANDIDATES = sorted({name for names in BEST_CANDIDATES.values() for name in names} | set(BEST_CANDIDATES))


@pytest.mark.parametrize("model", ["expression_two_tower", *ALIAS_CANDIDATES])
def test_loaded_model_reproduces_heldout_scores(model, toy_files, tmp_path):
    """The stored recipe (and the stored training graph, the floor of a residual model) rebuild the same scores."""
    ds = user_dataset(toy_files["ds"].expression, read_priors(toy_files["priors"]))
    params = yaml.safe_load(toy_files["params"].read_text())
    if model != "expression_two_tower":
        params.pop("model_cfg")
    um = train_user_model(ds, resolve_user_spec(model, params), seed=1, progress=False)
    save_user_model(tmp_path / "m", um)
    loaded = load_user_model(tmp_path / "m")
    test = um.split["test"]
    pairs = pd.DataFrame({"source": ds.genes[test["tf"]], "target": ds.genes[test["target"]]})
    ranked = rank_edges(loaded, ds.expression, pairs=pairs, progress=False)
    by_pair = dict(zip(zip(ranked["tf"], ranked["target"]), ranked["score"]))
    again = np.array([by_pair[p] for p in zip(pairs["source"], pairs["target"])])
    np.testing.assert_allclose(again, um.test_scores[model], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("model", ["baseline", "cross_encoder"])
def test_presets_without_expression_features(model, toy_files, tmp_path, capsys):
    (tmp_path / "p.yaml").write_text("train: {epochs: 1}\nmodel_cfg: {embedding_dim: 8}\n")
    argv = ["train", "--expression", toy_files["expression"], "--priors", toy_files["priors"], "--model", model,
            "--params", tmp_path / "p.yaml", "--out", tmp_path / "m", "--quiet"]
    assert run(argv, capsys)[0] == 0
    assert yaml.safe_load((tmp_path / "m" / "params.yaml").read_text())["features"] is None
    code, _, _ = run(["predict", "--model", tmp_path / "m", "--expression", toy_files["expression"],
                      "--top-k", 30, "--quiet", "--out", tmp_path / "r.tsv"], capsys)
    assert code == 0 and len(pd.read_csv(tmp_path / "r.tsv", sep="\t")) == 30


def test_h5ad_layer_raw_counts_and_genes_as_columns(toy_files, tmp_path, capsys):
    ds = toy_files["ds"]
    counts = np.round(np.expm1(ds.expression.X) * 10).astype(np.float32)
    adata = ad.AnnData(X=np.zeros_like(counts), obs=ds.expression.obs.copy(), var=ds.expression.var.copy(),
                       layers={"counts": counts})
    adata.write_h5ad(tmp_path / "cells.h5ad")
    argv = ["train", "--expression", tmp_path / "cells.h5ad", "--layer", "counts", "--raw-counts",
            "--priors", toy_files["priors"], "--model", "expression_two_tower", "--params", toy_files["params"],
            "--out", tmp_path / "m", "--quiet"]
    code, _, err = run(argv, capsys)
    assert code == 0, err
    # predict takes the layer and --raw-counts from training
    assert run(["predict", "--model", tmp_path / "m", "--expression", tmp_path / "cells.h5ad", "--top-k", 5,
                "--quiet", "--out", tmp_path / "r.tsv"], capsys)[0] == 0
    # the same matrix as a cells x genes CSV
    pd.DataFrame(counts, index=adata.obs_names, columns=adata.var_names).to_csv(tmp_path / "cells.csv")
    assert run(["predict", "--model", tmp_path / "m", "--expression", tmp_path / "cells.csv", "--genes-as",
                "columns", "--top-k", 5, "--quiet", "--out", tmp_path / "r2.tsv"], capsys)[0] == 0
    assert (tmp_path / "r.tsv").read_text() == (tmp_path / "r2.tsv").read_text()


def test_headerless_priors_and_tf_list(toy_files, tmp_path, capsys):
    edges = pd.read_csv(toy_files["priors"])
    trrust_like = edges.assign(mode="Activation", pmid="123")
    trrust_like.to_csv(tmp_path / "raw.tsv", sep="\t", header=False, index=False)
    priors = read_priors(tmp_path / "raw.tsv")
    assert list(priors.columns) == ["source", "target", "sign"] and len(priors) == len(edges)
    edges.to_csv(tmp_path / "bare.csv", header=False, index=False)  # two columns: detected via the genes
    assert len(read_priors(tmp_path / "bare.csv", genes=toy_files["ds"].genes)) == len(edges)
    (tmp_path / "tfs.csv").write_text("TF,Sources\nG0009,x\nG0008,y\nG0009,z\n")
    assert read_tf_list(tmp_path / "tfs.csv") == ["G0009", "G0008"]
    argv = ["train", "--expression", toy_files["expression"], "--priors", tmp_path / "raw.tsv", "--tfs",
            tmp_path / "tfs.csv", "--model", "expression_two_tower", "--params", toy_files["params"],
            "--out", tmp_path / "m", "--quiet"]
    code, _, err = run(argv, capsys)
    assert code == 0 and "whose source is not in the TF list" in err
    assert load_user_model(tmp_path / "m").tfs.tolist() == [8, 9]


def test_trrust_raw_table_reads_without_a_header(shared_root):
    with pytest.warns(DataWarning, match="dropped 27 self-loop"):
        priors = read_priors(shared_root / "priors/human/trrust_rawdata.human.tsv.gz")
    assert len(priors) == 9396 - 27 - 966  # self-loops and duplicated pairs dropped
    assert set(priors["sign"].unique()) == {-1, 0, 1}
    assert ("AATF", "BAX") == tuple(priors.iloc[0][["source", "target"]])


def test_overwrite_replaces_a_model_folder(trained, toy_files, tmp_path, capsys):
    out = tmp_path / "m"
    assert run(train_argv(toy_files, out), capsys)[0] == 0
    before = (out / "model.pt").stat().st_mtime_ns
    assert run(train_argv(toy_files, out, extra=["--overwrite"]), capsys)[0] == 0
    assert (out / "model.pt").stat().st_mtime_ns != before
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temporary or backup folder left


def test_progress_messages_unless_quiet(trained, toy_files, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    code, out, err = run(["predict", "--model", trained, "--expression", toy_files["expression"], "--top-k", 3,
                          "--out", tmp_path / "r.tsv"], capsys)
    assert code == 0 and "grnlib predict: wrote 3 ranked pairs" in err and "score:" in err
    assert out.splitlines()[0].split() == ["tf", "target", "score", "rank", "in_prior", "sign", "sign_confidence"]
