"""Your own data in, ranked edges out: the library behind ``grnlib train`` / ``grnlib predict``
and the notebook ``08_your_data``.

The flow:

1. :func:`read_user_expression` reads an expression matrix (CSV/TSV/.h5ad, validated by
   :func:`grnlib.data.read_expression`); :func:`read_priors` reads prior edges by gene symbol
   (a ``source,target[,sign,weight]`` header, or a headerless file such as TRRUST's raw table);
   :func:`read_tf_list` reads an optional list of TF symbols.
2. :func:`user_dataset` matches the priors to the expression genes (the gene universe is the
   expression's genes in file order; gene id = position).
3. :func:`train_user_model` splits the prior edges into train / validation / held-out test pairs
   (``grnlib.protocols``), builds per-gene features with a :class:`FeatureRecipe`, trains, and
   scores the model and the degree baseline on the held-out pairs.
4. :func:`save_user_model` writes a folder (``model.pt``, ``params.yaml``, ``metrics.tsv``,
   ``history.tsv``, ``pairs.tsv``) atomically; :func:`load_user_model` reads it back with
   ``torch.load(weights_only=True)``, so loading never runs code.
5. :func:`rank_edges` scores every candidate TF x gene pair (or a given list of pairs) of a new
   expression matrix in TF chunks and returns ``tf, target, score, rank, in_prior``.

Features at predict time (the choice made here): the checkpoint stores the training gene list,
the training cell names and the *fitted* feature recipe — for ``pca`` the PCA centre and axes
over the training cells and the scale. Predict re-applies that stored projection, so on the
training expression it rebuilds exactly the features the model was trained on, and on a matrix
with more or fewer genes it gives every shared gene the same features as in training. It needs
the training cells (matched by name; extra cells are ignored): PCA axes of other cells are other
axes. ``refit=True`` (``--refit-features``) instead fits the recipe afresh on the new matrix; the
model then reads axes it never saw, so treat such scores as exploratory. Genes are always those
of training: a model has no representation for a gene it never saw, and a gene missing from the
new matrix is not scored.
"""
from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .data import DataError, DataWarning, GRNDataset, dataset_from_edges, read_edges, read_expression
from .data.edges import ALIASES, SIGN_WORDS
from .data.symbols import match_symbols
from .data.validate import delimiter_for, first_line, read_table, require_no_missing

MODEL_FILE = "model.pt"
USER_FORMAT = "grnlib-user-model-v1"
FEATURE_KINDS = ("pca", "cells")
PROTOCOL_CHOICES = ("seed", "heldout-tf", "degree-matched")
MIN_PRIOR_EDGES = 20  # below this a 15 % hold-out has two or three positives: metrics are noise
# Header words of a TF list file (first line skipped when it is one of these).
TF_LIST_HEADERS = {"tf", "tfs", "gene", "genes", "symbol", "gene_symbol", "source", "regulator", "name"}
PARAM_KEYS = ("model", "model_cfg", "train", "features", "split", "seed")
INFO_KEYS = ("inputs", "data", "grnlib_version")  # written by train for the record; ignored on input
DATA_SET_CFG = ("name", "n_genes", "in_features")  # model keys that come from the data, not params
RUNTIME_TRAIN_KEYS = ("seed", "device", "progress", "checkpoint_dir", "checkpoint_every")
OUTPUT_COLUMNS = ["tf", "target", "score", "rank", "in_prior"]


# -- messages ------------------------------------------------------------------------------
# read_expression speaks Python (raw_counts=False); on the command line the same advice is a flag.
_CLI_WORDS = (("pass raw_counts=False for log or scaled data", "drop --raw-counts for log-transformed "
               "or scaled data"), ("raw_counts=True", "--raw-counts"),
              ("pass one of those layers, or layer=None for X", "pass one of those to --layer, or omit "
               "--layer to read X"), ("drop the layer argument", "omit --layer"), ("layer=", "--layer "))


def cli_wording(exc: DataError) -> DataError:
    """The same DataError with Python argument names replaced by the command-line flags."""
    problem, fix = exc.problem, exc.fix
    for python, flag in _CLI_WORDS:
        problem, fix = problem.replace(python, flag), fix.replace(python, flag)
    return DataError(exc.path, problem, fix)


def _one_line(exc: BaseException, limit: int = 160) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text if len(text) <= limit else text[:limit - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# -- reading inputs ------------------------------------------------------------------------
def read_user_expression(path, genes_as: str = "auto", layer: str | None = None, raw_counts: bool = False,
                         cli: bool = False):
    """:func:`grnlib.data.read_expression` (AnnData, cells x genes); with ``cli=True`` error
    messages name command-line flags instead of Python arguments."""
    try:
        return read_expression(path, genes_as=genes_as, layer=layer, raw_counts=raw_counts)
    except DataError as exc:
        raise (cli_wording(exc) if cli else exc) from None


def read_priors(path, genes=None) -> pd.DataFrame:
    """Prior edges by gene symbol: ``source``, ``target`` (str) and ``sign`` (int8) when given.

    Files with a header go through :func:`grnlib.data.read_edges` (column names and aliases
    there). A file without a header is read as ``source, target[, sign, ...]`` when its first
    row is data: its third field is a sign word or a number (TRRUST's raw table:
    ``TF  target  Activation  PMIDs``), or its first two fields are genes of ``genes`` (the
    expression's gene names). Further columns of a headerless file are ignored. Self-loops and
    duplicated pairs are dropped with a :class:`DataWarning` in both cases.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "prior edge file not found", "check the path")
    if not _looks_headerless(path, genes):
        return read_edges(path)
    what = "edge file"
    raw = read_table(path, header=None, min_columns=2, what=what)
    edges = pd.DataFrame({"source": raw[0], "target": raw[1]})
    require_no_missing(edges, ["source", "target"], path, what)
    edges["source"] = edges["source"].astype(str).str.strip()
    edges["target"] = edges["target"].astype(str).str.strip()
    if raw.shape[1] >= 3:
        signs = _signs_or_none(raw[2])
        if signs is not None:
            edges["sign"] = signs
    loops = edges["source"] == edges["target"]
    dups = edges.duplicated(["source", "target"]) & ~loops
    if loops.any() or dups.any():
        warnings.warn(f"{path}: dropped {int(loops.sum())} self-loop(s) and {int(dups.sum())} "
                      "duplicated edge(s)", DataWarning, stacklevel=2)
    edges = edges[~loops & ~dups].reset_index(drop=True)
    if len(edges) == 0:
        raise DataError(path, "no edges left after dropping self-loops and duplicates",
                        "supply edges between two different genes")
    edges.attrs["report"] = {"rows": len(raw), "self_loops": int(loops.sum()),
                             "duplicates": int(dups.sum()), "header": False}
    return edges


def _looks_headerless(path: Path, genes) -> bool:
    line = first_line(path)
    if line is None:
        return False  # read_edges reports the empty file
    fields = [f.strip() for f in line.split(delimiter_for(path))]
    if len(fields) < 2:
        return False  # one field: wrong delimiter, which read_edges reports
    header_words = {name for names in ALIASES.values() for name in names}
    if any(f.lower() in header_words for f in fields):
        return False
    if len(fields) >= 3 and ((fields[2] and fields[2].lower() in SIGN_WORDS) or _is_number(fields[2])):
        return True  # a sign word or a number is data, never a column name
    return genes is not None and bool((match_symbols(fields[:2], genes) >= 0).all())


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _signs_or_none(values: pd.Series) -> pd.Series | None:
    """-1/0/1 from numbers or sign words; None when any value is neither (then not a sign column)."""
    numeric = pd.to_numeric(values, errors="coerce")
    words = values.astype(str).str.strip().str.lower().map(SIGN_WORDS)
    signs = numeric.where(numeric.notna(), words)
    if signs.isna().any() or not signs.isin([-1, 0, 1]).all():
        return None
    return signs.astype(np.int8)


def read_tf_list(path) -> list[str]:
    """TF symbols from a text file: one per line, or the first column of a CSV/TSV (a header
    word such as ``TF`` on the first line is skipped). Order kept, duplicates dropped."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "TF list not found", "check the path")
    if first_line(path) is None:
        raise DataError(path, "TF list is empty", "write one TF symbol per line")
    table = read_table(path, header=None, min_columns=1, what="TF list")
    symbols = table[0].dropna().astype(str).str.strip()
    if len(symbols) and symbols.iloc[0].lower() in TF_LIST_HEADERS:
        symbols = symbols.iloc[1:]
    symbols = [s for s in dict.fromkeys(symbols) if s and not s.startswith("#")]
    if not symbols:
        raise DataError(path, "TF list holds no TF symbol", "write one TF symbol per line")
    return symbols


def user_dataset(expression, priors: pd.DataFrame, tfs: list[str] | None = None, *,
                 priors_path=None, tfs_path=None, id: str = "user") -> GRNDataset:
    """A :class:`GRNDataset` of the expression's genes with the prior edges as positives.

    Prior edges naming a gene the matrix lacks are dropped with a :class:`DataWarning` giving the
    count (a DataError when none is left). With ``tfs``, only edges whose source is a listed TF
    are kept, and the listed TFs found in the matrix become the default candidate regulators at
    predict time (``meta["candidate_tfs"]``, gene ids); without, the candidates are the prior
    sources that kept an edge. Training pairs only ever use TFs with a prior edge: negatives of
    a TF without any positive would be trivially easy and inflate the metrics.
    """
    genes = pd.Index(expression.var_names)
    candidate_tfs = None
    if tfs is not None:
        found = match_symbols(tfs, genes)
        if (found < 0).all():
            raise DataError(tfs_path, f"none of the {len(tfs)} TFs in the list is a gene of the expression "
                            f"matrix (e.g. {list(tfs[:3])}; the matrix has e.g. {list(genes[:3])})",
                            "use the gene symbols (and species) of the expression matrix, or leave out --tfs")
        candidate_tfs = np.unique(found[found >= 0]).astype(np.int64)
        source_ids = match_symbols(priors["source"], genes)
        listed = np.isin(source_ids, candidate_tfs)
        if not listed.any():
            raise DataError(tfs_path, f"no prior edge starts at a TF of the list ({len(candidate_tfs)} of its "
                            "TFs are in the expression matrix)",
                            "check the TF list matches the priors' regulators, or leave out --tfs")
        if not listed.all():
            warnings.warn(f"{priors_path}: dropped {int((~listed).sum())} of {len(priors)} prior edge(s) whose "
                          "source is not in the TF list", DataWarning, stacklevel=2)
        priors = priors[listed]
    ds = dataset_from_edges(priors[["source", "target"]], id=id, expression=expression, source=priors_path)
    if ds.n_edges < MIN_PRIOR_EDGES:
        raise DataError(priors_path, f"only {ds.n_edges} prior edge(s) connect genes of the expression matrix; "
                        f"at least {MIN_PRIOR_EDGES} are needed to train and hold some out",
                        "add prior edges (another resource) or use expression covering more prior genes")
    ds.meta["candidate_tfs"] = ds.tf_ids.copy() if candidate_tfs is None else candidate_tfs
    return ds


# -- features ------------------------------------------------------------------------------
@dataclass
class FeatureRecipe:
    """Per-gene features tied to the training cells, storable in a checkpoint.

    ``kind="pca"``: each gene's profile over the training cells, z-scored across cells, projected
    on the PCA axes fitted at training time (genes are the samples, cells the variables), divided
    by the standard deviation of the first component: the recipe of
    ``grnlib.features.gene_features(kind="pca")``, with the fit kept. The scores are the exact
    projection on the fitted axes (sklearn's ``PCA.transform``), so any gene's features can be
    recomputed later; with a randomized solver they differ slightly from ``gene_features``, which
    returns the solver's own scores. ``kind="cells"``: the z-scored profile itself (width =
    number of training cells).

    Attributes:
        kind, n_components, seed, standardize: the recipe.
        cells: training cell names, in the order the features use them.
        mean: PCA centre [n_cells] (pca only); components: PCA axes [n_components, n_cells].
        scale: divisor of the projected scores (1.0 for cells).
    """

    kind: str
    cells: list[str]
    n_components: int | None = None
    seed: int = 0
    standardize: bool = True
    mean: np.ndarray | None = None
    components: np.ndarray | None = None
    scale: float = 1.0

    @property
    def width(self) -> int:
        """Features per gene (the model's ``in_features``)."""
        return int(self.n_components) if self.kind == "pca" else len(self.cells)

    @classmethod
    def fit(cls, expression, kind: str = "pca", n_components: int = 64, seed: int = 0,
            standardize: bool = True) -> "FeatureRecipe":
        """Fit on AnnData ``expression`` (cells x genes). ``n_components`` above
        min(n_genes, n_cells) is lowered to that limit with a :class:`DataWarning`."""
        if kind not in FEATURE_KINDS:
            raise DataError(None, f"feature kind {kind!r} cannot be stored for prediction",
                            f"use one of {list(FEATURE_KINDS)} (pseudobulk cell groups are not stored)")
        cells = [str(c) for c in expression.obs_names]
        recipe = cls(kind=kind, cells=cells, seed=int(seed), standardize=bool(standardize))
        if kind == "cells":
            return recipe
        from sklearn.decomposition import PCA

        x = _profiles(expression, standardize)  # [n_genes, n_cells]
        limit = min(x.shape)
        if n_components > limit:
            warnings.warn(f"n_components={n_components} lowered to {limit} (min of {x.shape[0]} genes and "
                          f"{x.shape[1]} cells)", DataWarning, stacklevel=2)
            n_components = limit
        solver = "full" if n_components == limit else "randomized"
        pca = PCA(n_components=int(n_components), svd_solver=solver, random_state=seed).fit(x)
        recipe.n_components, recipe.mean, recipe.components = int(n_components), pca.mean_, pca.components_
        first_std = float(((x - pca.mean_) @ pca.components_[0]).std())
        recipe.scale = first_std if standardize and first_std > 0 else 1.0
        return recipe

    def transform(self, expression, refit: bool = False, path=None) -> np.ndarray:
        """Features [n_genes of ``expression``, width] float32, row i = gene i of ``expression``.

        The training cells are looked up by name (order and extra cells do not matter). When
        some are missing: a DataError naming ``path``, or with ``refit=True`` a new recipe of
        the same kind fitted on this matrix (the width may then differ from the model's)."""
        obs = pd.Index([str(c) for c in expression.obs_names])
        position = obs.get_indexer(self.cells)
        missing = int((position < 0).sum())
        if missing:
            if not refit:
                raise DataError(path, f"expression lacks {missing} of the {len(self.cells)} training cells "
                                f"(e.g. {[c for c, p in zip(self.cells, position) if p < 0][:3]}); the "
                                f"stored {self.kind} features are defined on those cells",
                                "predict on expression containing the training cells, or pass "
                                "--refit-features to rebuild features from this matrix (scores are "
                                "then approximate)")
            warnings.warn(f"{path or 'expression'}: refitting {self.kind} features on {len(obs)} new cells; the "
                          "model was trained on other features, so treat the scores as exploratory",
                          DataWarning, stacklevel=2)
            fresh = FeatureRecipe.fit(expression, self.kind, self.n_components or 0, self.seed, self.standardize)
            return fresh.transform(expression)
        x = _profiles(expression[position, :], self.standardize)
        if self.kind == "cells":
            out = x
        else:
            out = (x - self.mean) @ self.components.T / self.scale
        return np.ascontiguousarray(out, dtype=np.float32)

    def state(self) -> tuple[dict, dict]:
        """(JSON-able description, tensors) for a checkpoint."""
        import torch

        meta = {"kind": self.kind, "cells": self.cells, "n_components": self.n_components,
                "seed": self.seed, "standardize": self.standardize, "scale": self.scale}
        tensors = {}
        if self.kind == "pca":
            tensors = {"feature_mean": torch.from_numpy(np.asarray(self.mean, dtype=np.float64)),
                       "feature_components": torch.from_numpy(np.asarray(self.components, dtype=np.float64))}
        return meta, tensors

    @classmethod
    def from_state(cls, meta: dict, ckpt: dict) -> "FeatureRecipe":
        recipe = cls(kind=meta["kind"], cells=list(meta["cells"]), n_components=meta["n_components"],
                     seed=int(meta["seed"]), standardize=bool(meta["standardize"]), scale=float(meta["scale"]))
        if recipe.kind == "pca":
            recipe.mean = ckpt["feature_mean"].double().numpy()
            recipe.components = ckpt["feature_components"].double().numpy()
        return recipe

    def describe(self) -> dict:
        """The recipe as params (what ``features:`` in a params file takes)."""
        if self.kind == "cells":
            return {"kind": self.kind, "standardize": self.standardize}
        return {"kind": self.kind, "n_components": self.n_components, "standardize": self.standardize}


def _profiles(expression, standardize: bool) -> np.ndarray:
    """Genes x cells float64, z-scored per gene when ``standardize`` (constant genes -> 0)."""
    from .features import _zscore_rows

    x = expression.X
    x = x.toarray() if hasattr(x, "toarray") else np.asarray(x)
    x = np.asarray(x, dtype=np.float64).T
    return _zscore_rows(x) if standardize else x


# -- run specs -----------------------------------------------------------------------------
def resolve_spec(model: str | None, params: dict | None = None, *, epochs: int | None = None,
                 params_path=None) -> dict:
    """A complete run spec from a model name (registry model or preset) and a params dict.

    ``params`` keys: ``model``, ``model_cfg`` (model config keys, except n_genes/in_features
    which come from the data), ``train`` (:class:`grnlib.train.TrainConfig` fields), ``features``
    (``{kind: pca|cells, n_components, standardize}`` or null), ``split`` (``protocol``:
    seed|heldout-tf|degree-matched, ``val_fraction``, ``test_fraction`` (seed), ``neg_ratio``),
    ``seed``. The keys a previous run wrote for the record (``inputs``, ``data``,
    ``grnlib_version``) are ignored, so a written ``params.yaml`` can be passed back.
    Expression-reading models get ``pca`` features with 64 components unless ``features`` says
    otherwise.

    Returns:
        ``{"model", "preset", "model_cfg", "train", "features", "split", "seed"}``.

    Raises:
        DataError naming ``params_path`` (or the flag) for any unknown name, key or value.
    """
    from .losses import build_loss
    from .models import MODELS
    from .presets import PRESETS, preset
    from .train import TrainConfig

    params = dict(params or {})
    unknown = sorted(set(params) - set(PARAM_KEYS) - set(INFO_KEYS))
    if unknown:
        raise DataError(params_path, f"unknown key(s) {unknown}", f"use only {list(PARAM_KEYS)}")
    name = model or params.get("model")
    if not name:
        raise DataError(params_path, "no model given", "pass --model NAME (a model or a preset)")
    valid = sorted(set(PRESETS) | set(MODELS.names()))
    if name in PRESETS:
        base = preset(name, epochs=epochs)
    elif name in MODELS:
        base = {"model": name, "train": {} if epochs is None else {"epochs": epochs}}
    else:
        raise DataError(None, f"unknown model {name!r}", f"choose one of: {', '.join(valid)}")
    model_name = base["model"]
    model_cfg = {**base.get("model_cfg", {}), **(params.get("model_cfg") or {})}
    model_cfg = {k: v for k, v in model_cfg.items() if k not in DATA_SET_CFG}
    bad_keys = sorted(set(model_cfg) - set(MODELS.valid_keys(model_name)))
    if bad_keys:
        raise DataError(params_path, f"unknown model_cfg key(s) {bad_keys} for model {model_name!r}",
                        f"use keys from {[k for k in MODELS.valid_keys(model_name) if k not in DATA_SET_CFG]}")
    train = {**base.get("train", {}), **(params.get("train") or {})}
    if epochs is not None:
        train["epochs"] = epochs
    train = {k: v for k, v in train.items() if k not in RUNTIME_TRAIN_KEYS}
    try:
        checked = TrainConfig.from_dict(train)
        build_loss(checked.loss, **checked.loss_kwargs)  # loss options are only checked when built
    except (ValueError, TypeError) as exc:
        raise DataError(params_path, f"invalid train settings ({_one_line(exc)})", "fix the 'train' section") from None
    inputs = {**MODELS.defaults(model_name), **model_cfg}.get("inputs", "embedding")
    features = params["features"] if "features" in params else base.get("features")
    if features is None and inputs in ("expression", "hybrid"):
        features = {"kind": "pca", "n_components": 64}
    if features:
        if not isinstance(features, dict):
            raise DataError(params_path, f"features must be a mapping, got {features!r}", "fix the 'features' section")
        features = {"kind": "pca", "n_components": 64, "standardize": True, **features}
        unknown = sorted(set(features) - {"kind", "n_components", "standardize"})
        if unknown or features["kind"] not in FEATURE_KINDS:
            raise DataError(params_path, f"features must be {{kind: {'|'.join(FEATURE_KINDS)}, n_components, "
                            f"standardize}}, got {features}", "fix the 'features' section")
        if features["kind"] == "cells":
            features.pop("n_components")
    split = {"protocol": "seed", "neg_ratio": 1.0, "val_fraction": 0.15, **(params.get("split") or {})}
    if split["protocol"] not in PROTOCOL_CHOICES:
        raise DataError(params_path, f"split protocol {split['protocol']!r} cannot be used on your own data",
                        f"choose one of {list(PROTOCOL_CHOICES)}")
    unknown = sorted(set(split) - {"protocol", "neg_ratio", "val_fraction", "test_fraction"})
    if unknown or ("test_fraction" in split and split["protocol"] != "seed"):
        raise DataError(params_path, f"unknown split key(s) {unknown or ['test_fraction']}",
                        "use protocol, neg_ratio, val_fraction (and test_fraction for protocol seed)")
    return {"model": model_name, "preset": name if name in PRESETS else None, "model_cfg": model_cfg,
            "train": train, "features": features, "split": split, "seed": params.get("seed")}


def load_params_file(path) -> dict:
    """A params YAML as a dict; DataError naming the file when it is not a YAML mapping."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise DataError(path, "params file not found", "check the path")
    try:
        values = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DataError(path, f"is not valid YAML ({_one_line(exc)})", "fix the YAML syntax") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise DataError(path, f"holds a {type(values).__name__}, not a mapping of settings",
                        f"write keys such as {list(PARAM_KEYS)}")
    return values


# -- training ------------------------------------------------------------------------------
@dataclass
class UserModel:
    """A trained model with what predict needs to use it on new expression.

    Attributes:
        model: the trained module (eval mode).
        genes: training gene universe (gene id = position).
        tfs: default candidate TF ids [n] for prediction.
        prior_edges: prior edges as gene ids, DataFrame ``tf, target`` (for ``in_prior``).
        recipe: the fitted :class:`FeatureRecipe`, or None for models without expression input.
        params: resolved params (model, model_cfg, train, features, split, seed, inputs, data).
        metrics: held-out metrics, one row per scorer (the model and ``degree``), or None.
        history: training history, or None after loading.
        split: the pair tables (train/val/test), or None after loading.
        test_scores: held-out scores by scorer name (``degree`` and the run), aligned with
            ``split["test"]`` (logits for the model).
    """

    model: object
    genes: pd.Index
    tfs: np.ndarray
    prior_edges: pd.DataFrame
    recipe: FeatureRecipe | None
    params: dict
    metrics: pd.DataFrame | None = None
    history: pd.DataFrame | None = None
    split: dict | None = None
    test_scores: dict = field(default_factory=dict)


def train_user_model(ds: GRNDataset, spec: dict, seed: int = 0, device: str = "auto",
                     progress: bool = True, inputs: dict | None = None) -> UserModel:
    """Split, build features, train and evaluate on held-out pairs (with the degree baseline).

    Args:
        ds: from :func:`user_dataset` (expression attached).
        spec: from :func:`resolve_spec`.
        seed: seeds the split, the feature fit, model init and shuffling.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
        progress: show the training progress bar.
        inputs: where the data came from, stored in ``params["inputs"]`` for the record and for
            predict's defaults (``genes_as``, ``layer``, ``raw_counts``).
    """
    from .baselines import score_baseline
    from .metrics import choose_threshold, evaluate_scores
    from .protocols import make_split
    from .models import build_model
    from .train import TrainConfig, fit, predict_logits, seed_everything

    split_cfg = dict(spec["split"])
    protocol = split_cfg.pop("protocol")
    try:
        split = make_split(ds, protocol, seed=seed, **split_cfg)
    except ValueError as exc:  # DataError included: both say what the priors cannot support
        raise DataError(ds.source, f"cannot hold out {protocol!r} pairs ({_one_line(exc)})",
                        "use split protocol 'seed' or adjust the split settings") from None
    recipe, features = None, None
    if spec["features"]:
        recipe = FeatureRecipe.fit(ds.expression, seed=seed, **spec["features"])
        features = recipe.transform(ds.expression)
    model_cfg = {"name": spec["model"], "n_genes": ds.n_genes, **spec["model_cfg"]}
    if features is not None:
        model_cfg["in_features"] = features.shape[1]
    config = TrainConfig.from_dict({**spec["train"], "seed": seed, "device": device, "progress": progress})
    seed_everything(seed)  # model init is seeded too
    try:
        model = build_model(**model_cfg)
    except (ValueError, TypeError) as exc:  # ConfigError included
        raise DataError(None, f"cannot build model {spec['model']!r} ({_one_line(exc)})",
                        "fix the model_cfg section of the params") from None
    if features is not None and not getattr(model, "uses_features", True):
        # Nothing to store: predict then needs no training cells.
        warnings.warn(f"model {spec['model']!r} with these settings reads no expression features; the "
                      "'features' setting is ignored", DataWarning, stacklevel=2)
        recipe, features = None, None
    if hasattr(model, "prepare"):  # models that read the training graph (grnlib.models.context)
        model.prepare(ds, split["train"])
    result = fit(model, split["train"], split["val"], features=features, config=config)
    model = result.model

    rows, test_scores = [], {}
    run_name = spec["preset"] or spec["model"]
    for name in ("degree", run_name):
        if name == "degree":
            val = score_baseline("degree", ds, split["train"], split["val"], seed=seed)
            test = score_baseline("degree", ds, split["train"], split["test"], seed=seed)
        else:
            val = predict_logits(model, split["val"], features=features)
            test = predict_logits(model, split["test"], features=features)
        threshold = choose_threshold(split["val"]["label"].to_numpy(), val)
        rows.append({"name": name, "kind": "baseline" if name == "degree" else "model",
                     **evaluate_scores(split["test"], test, threshold=threshold), "threshold": threshold})
        test_scores[name] = test
    metrics = pd.DataFrame(rows)
    params = {
        "model": spec["preset"] or spec["model"], "model_cfg": {k: v for k, v in model.config.items()
                                                                if k not in DATA_SET_CFG},
        "train": {k: v for k, v in config.to_dict().items() if k not in RUNTIME_TRAIN_KEYS},
        "features": recipe.describe() if recipe else None, "split": spec["split"], "seed": seed,
        "inputs": dict(inputs or {}),
        "data": {"n_cells": int(ds.expression.n_obs), "n_genes": ds.n_genes, "n_tfs_trained": ds.n_tfs,
                 "n_candidate_tfs": int(len(ds.meta["candidate_tfs"])), "n_prior_edges": ds.n_edges,
                 "n_prior_edges_outside_expression": int(ds.meta.get("n_outside_expression", 0)),
                 "best_epoch": result.best_epoch, "epochs_run": int(len(result.history))},
    }
    from . import __version__

    params["grnlib_version"] = __version__
    return UserModel(model=model, genes=pd.Index(ds.genes), tfs=np.asarray(ds.meta["candidate_tfs"], np.int64),
                     prior_edges=ds.edges[["tf", "target"]].reset_index(drop=True), recipe=recipe,
                     params=params, metrics=metrics, history=result.history, split=split,
                     test_scores=test_scores)


# -- atomic outputs --------------------------------------------------------------------------
def _unwritable(path: Path, exc: OSError) -> DataError:
    if isinstance(exc, FileNotFoundError):
        return DataError(path, f"folder {path.parent} does not exist", "create it first or choose another --out")
    return DataError(path, f"cannot be written ({exc.strerror or exc})", "choose a writable --out location")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_folder(folder, overwrite: bool = False):
    """Yield a temporary folder beside ``folder``; on success it replaces ``folder``, on any
    error it is deleted, so ``folder`` is either complete or untouched.

    The temporary folder is made on entry, so an unwritable destination fails before any work.
    An existing non-empty ``folder`` is an error unless ``overwrite``.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise DataError(folder, "exists and is not a folder", "choose another --out folder")
    if folder.is_dir() and any(folder.iterdir()) and not overwrite:
        raise DataError(folder, "output folder exists and is not empty",
                        "choose a new --out folder or pass --overwrite")
    try:
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
    except OSError as exc:
        raise _unwritable(folder, exc) from None
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; the result should look like any new folder
    try:
        yield tmp
        old = None
        if folder.is_dir() and any(folder.iterdir()):
            old = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".old"))
            os.replace(folder, old / "previous")
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_file(path):
    """Yield a temporary file path beside ``path``; on success it is renamed to ``path``, on any
    error it is deleted. Made on entry, so an unwritable destination fails before any work."""
    path = Path(path)
    if path.is_dir():
        raise DataError(path, "is a folder", "pass a file name such as ranked.tsv")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _unwritable(path, exc) from None
    os.close(fd)
    tmp = Path(tmp)
    tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600; the result should look like any new file
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# -- saving and loading ----------------------------------------------------------------------
def write_user_model(folder, um: UserModel) -> Path:
    """Write ``model.pt``, ``params.yaml``, ``metrics.tsv``, ``history.tsv`` and ``pairs.tsv``
    into an existing folder (use :func:`save_user_model` for an atomic write)."""
    import torch
    import yaml

    from .checkpoint import save_checkpoint

    folder = Path(folder)
    recipe_meta, recipe_tensors = um.recipe.state() if um.recipe else (None, {})
    meta = {"format": USER_FORMAT, "genes": [str(g) for g in um.genes], "feature_recipe": recipe_meta,
            "params": um.params}
    prior = um.prior_edges[["tf", "target"]].to_numpy(dtype=np.int64)
    save_checkpoint(folder / MODEL_FILE, um.model, user_model=json.dumps(meta),
                    candidate_tfs=torch.from_numpy(np.asarray(um.tfs, dtype=np.int64)),
                    prior_edges=torch.from_numpy(np.ascontiguousarray(prior.T)), **recipe_tensors)
    (folder / "params.yaml").write_text(yaml.safe_dump(_plain(um.params), sort_keys=False))
    if um.metrics is not None:
        um.metrics.to_csv(folder / "metrics.tsv", sep="\t", index=False, float_format="%.6g")
    if um.history is not None:
        um.history.to_csv(folder / "history.tsv", sep="\t", index=False, float_format="%.6g")
    if um.split is not None:
        tables = [table.assign(split=name) for name, table in um.split.items()]
        pairs = pd.concat(tables, ignore_index=True)
        pairs.insert(0, "tf_symbol", um.genes[pairs["tf"].to_numpy()])
        pairs.insert(1, "target_symbol", um.genes[pairs["target"].to_numpy()])
        pairs.to_csv(folder / "pairs.tsv", sep="\t", index=False)
    return folder


def save_user_model(folder, um: UserModel, overwrite: bool = False) -> Path:
    """:func:`write_user_model` into ``folder`` atomically (see :func:`atomic_folder`)."""
    with atomic_folder(folder, overwrite=overwrite) as tmp:
        write_user_model(tmp, um)
    return Path(folder)


def _plain(value):
    """Numpy scalars/arrays and tuples -> plain Python, so YAML needs no Python tags."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def load_user_model(path, device: str = "cpu") -> UserModel:
    """Read a folder written by :func:`save_user_model` (or its ``model.pt``).

    ``torch.load(weights_only=True)`` reads it, so a file holding code is refused, not run.
    Damaged, foreign or inconsistent files raise :class:`DataError` naming the file.
    """
    from .checkpoint import load_checkpoint
    from .models import build_model
    from .train import resolve_device

    path = Path(path)
    file = path / MODEL_FILE if path.is_dir() else path
    fix = "pass the --out folder of grnlib train (or its model.pt); if the file is damaged, train again"
    if not file.is_file():
        raise DataError(file, "model checkpoint not found", fix)
    if not zipfile.is_zipfile(file):  # torch.save writes a zip archive; its index sits at the end
        raise DataError(file, "is not a PyTorch checkpoint (no zip archive: damaged, truncated or another format)",
                        fix)
    try:
        ckpt = load_checkpoint(file, map_location="cpu")
    except DataError as exc:
        raise DataError(file, exc.problem, fix) from None
    except pickle.UnpicklingError as exc:
        if "weights only load failed" not in str(exc).lower():
            raise DataError(file, f"is not a readable grnlib checkpoint ({_one_line(exc)})", fix) from None
        raise DataError(file, "holds Python objects that a weights-only load refuses (nothing in it was run)",
                        "use a checkpoint written by grnlib train; do not load this file with "
                        "weights_only=False unless you trust whoever wrote it") from None
    except Exception as exc:  # torch/zip raise many types for a damaged file
        raise DataError(file, f"is not a readable grnlib checkpoint ({_one_line(exc)})", fix) from None
    if "user_model" not in ckpt:
        raise DataError(file, "checkpoint has no gene list or feature recipe (it was not written by grnlib train)",
                        "train with grnlib train, or load it in Python with grnlib.checkpoint.load_model")
    try:
        meta = json.loads(ckpt["user_model"])
        if meta.get("format") != USER_FORMAT:
            raise ValueError(f"format {meta.get('format')!r}, expected {USER_FORMAT!r}")
        genes = pd.Index(meta["genes"])
        recipe = FeatureRecipe.from_state(meta["feature_recipe"], ckpt) if meta["feature_recipe"] else None
        model = build_model(**ckpt["model_config"])
        model.load_state_dict(ckpt["model_state"])
        tfs = ckpt["candidate_tfs"].long().numpy()
        prior = ckpt["prior_edges"].long().numpy()
    except Exception as exc:
        raise DataError(file, f"checkpoint is damaged or from another grnlib version ({_one_line(exc)})",
                        fix) from None
    config = ckpt["model_config"]
    if config.get("n_genes") and config["n_genes"] != len(genes):
        raise DataError(file, f"checkpoint is inconsistent: the model covers {config['n_genes']} genes, its gene "
                        f"list has {len(genes)}", fix)
    if getattr(model, "uses_features", False):
        width = recipe.width if recipe else None
        if width != config.get("in_features"):
            raise DataError(file, f"checkpoint is inconsistent: the model reads {config.get('in_features')} features "
                            f"per gene but its feature recipe gives {width}", fix)
    model = model.to(resolve_device(device)).eval()
    return UserModel(model=model, genes=genes, tfs=tfs,
                     prior_edges=pd.DataFrame({"tf": prior[0], "target": prior[1]}), recipe=recipe,
                     params=meta["params"])


# -- ranking ---------------------------------------------------------------------------------
def rank_edges(um: UserModel, expression, *, tfs: list[str] | None = None, pairs: pd.DataFrame | None = None,
               priors: pd.DataFrame | None = None, top_k: int | None = None, min_score: float | None = None,
               refit_features: bool = False, progress: bool = True, chunk_tfs: int = 256,
               expression_path=None, tfs_path=None, pairs_path=None) -> pd.DataFrame:
    """Score candidate edges of ``expression`` with a trained :class:`UserModel`.

    Args:
        um: from :func:`train_user_model` or :func:`load_user_model`.
        expression: AnnData (cells x genes). Only genes of the training universe that it measures
            are scored (counts of the others are reported as a :class:`DataWarning`).
        tfs: candidate TF symbols; default the model's candidate TFs. A TF without prior edges
            in training is scored too, but models with learned gene embeddings never trained its
            embedding: trust such scores only from models reading expression.
        pairs: score these ``source, target`` symbol pairs instead of every TF x gene pair.
        priors: ``source, target`` symbols marking ``in_prior``; default the training priors.
        top_k: keep the ``top_k`` best pairs (memory stays O(chunk + k) at genome scale).
        min_score: keep pairs scoring at least this logit (0 = probability 0.5).
        refit_features: see :meth:`FeatureRecipe.transform`.
        chunk_tfs: TFs scored per step (one progress-bar step each).

    Returns:
        DataFrame ``tf, target`` (symbols), ``score`` (the model's logit; sigmoid gives the
        probability), ``rank`` (1 = best), ``in_prior`` (1 when the pair is a prior edge),
        sorted by score (ties by TF, then target, in gene order). Self-pairs are never scored.
    """
    from .train import predict_logits, progress_enabled

    if top_k is not None and top_k < 1:
        raise DataError(None, f"--top-k must be at least 1, got {top_k}", "pass a positive number of edges to keep")
    genes = um.genes
    source = match_symbols(genes, expression.var_names)  # model gene -> column of the new matrix
    measured = source >= 0
    if not measured.any():
        raise DataError(expression_path, f"none of the model's {len(genes)} genes is in the expression matrix "
                        f"(model genes e.g. {list(genes[:3])}, matrix e.g. {list(expression.var_names[:3])})",
                        "predict on expression with the gene symbols used in training")
    n_extra = expression.n_vars - len(np.unique(source[measured]))
    if (~measured).any() or n_extra:
        warnings.warn(f"{expression_path or 'expression'}: {int((~measured).sum())} of the model's {len(genes)} genes "
                      f"are absent and not scored; {n_extra} gene(s) of the matrix were not in training and are "
                      "not scored", DataWarning, stacklevel=2)
    features = None
    if um.recipe is not None:
        aligned = expression[:, source[measured]]
        measured_features = um.recipe.transform(aligned, refit=refit_features, path=expression_path)
        width = um.model.config.get("in_features")
        if measured_features.shape[1] != width:
            raise DataError(expression_path, f"gives {measured_features.shape[1]} features per gene but the model "
                            f"was trained on {width} ({um.recipe.kind} features)",
                            "predict on expression with the training cells, or retrain on this expression")
        features = np.zeros((len(genes), width), dtype=np.float32)
        features[measured] = measured_features
    gene_ids = np.flatnonzero(measured).astype(np.int64)

    if pairs is not None:
        tf_ids, target_ids = match_symbols(pairs["source"], genes), match_symbols(pairs["target"], genes)
        ok = (tf_ids >= 0) & (target_ids >= 0)
        ok[ok] &= measured[tf_ids[ok]] & measured[target_ids[ok]]
        ok &= tf_ids != target_ids
        if not ok.any():
            raise DataError(pairs_path, f"none of the {len(pairs)} pairs joins two genes the model can score",
                            "list pairs of genes that were in training and are in the expression matrix")
        if not ok.all():
            warnings.warn(f"{pairs_path}: {int((~ok).sum())} of {len(pairs)} pair(s) name genes the model cannot "
                          "score (not in training or not in the expression matrix); they are left out",
                          DataWarning, stacklevel=2)
        table = pd.DataFrame({"tf": tf_ids[ok], "target": target_ids[ok]})
        table["score"] = predict_logits(um.model, table, features=features)
        if min_score is not None:
            table = table[table["score"] >= min_score]
        table = _sorted(table)
        if top_k is not None:
            table = table.head(top_k)
    else:
        if tfs is not None:
            found = match_symbols(tfs, genes)
            tf_ids = np.unique(found[(found >= 0)])
            tf_ids = tf_ids[measured[tf_ids]]
            if not len(tf_ids):
                raise DataError(tfs_path, f"none of the {len(tfs)} TFs in the list is a gene the model can score "
                                f"(e.g. {list(tfs[:3])})",
                                "list TFs that were in training and are in the expression matrix, or leave out --tfs")
        else:
            tf_ids = um.tfs[measured[um.tfs]]
            if not len(tf_ids):
                raise DataError(expression_path, "none of the model's candidate TFs is in the expression matrix",
                                "predict on expression measuring the training TFs, or pass --tfs")
        table = _score_all(um.model, tf_ids.astype(np.int64), gene_ids, features, top_k, min_score,
                           chunk_tfs, progress_enabled(progress))
    prior = priors_as_ids(priors, genes) if priors is not None else um.prior_edges
    prior_codes = prior["tf"].to_numpy(np.int64) * len(genes) + prior["target"].to_numpy(np.int64)
    codes = table["tf"].to_numpy(np.int64) * len(genes) + table["target"].to_numpy(np.int64)
    out = pd.DataFrame({"tf": genes[table["tf"].to_numpy()], "target": genes[table["target"].to_numpy()],
                        "score": table["score"].to_numpy(np.float64),
                        "rank": np.arange(1, len(table) + 1, dtype=np.int64),
                        "in_prior": np.isin(codes, prior_codes).astype(np.int8)})
    return out


def _score_all(model, tf_ids, gene_ids, features, top_k, min_score, chunk_tfs, progress) -> pd.DataFrame:
    """Every TF x gene pair in TF chunks; a running top-k keeps memory bounded."""
    from tqdm import tqdm

    from .train import score_all_pairs

    parts = []
    with tqdm(total=len(tf_ids), disable=not progress, desc="score", unit="TF") as bar:
        for start in range(0, len(tf_ids), chunk_tfs):
            chunk = tf_ids[start:start + chunk_tfs]
            if top_k is not None:
                part = score_all_pairs(model, chunk, gene_ids, features, top_k=top_k)
                part = part[np.isfinite(part["score"].to_numpy())]
                if min_score is not None:
                    part = part[part["score"] >= min_score]
                nonempty = [p for p in (*parts, part) if len(p)]
                parts = [_sorted(pd.concat(nonempty, ignore_index=True)).head(top_k)] if nonempty else []
            else:
                block = score_all_pairs(model, chunk, gene_ids, features)  # [n_chunk, n_gene], self = -inf
                keep = np.isfinite(block) if min_score is None else np.isfinite(block) & (block >= min_score)
                rows, cols = np.nonzero(keep)
                parts.append(pd.DataFrame({"tf": chunk[rows], "target": gene_ids[cols], "score": block[rows, cols]}))
            bar.update(len(chunk))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({"tf": np.zeros(0, np.int64), "target": np.zeros(0, np.int64), "score": np.zeros(0)})
    return _sorted(pd.concat(parts, ignore_index=True))


def _sorted(table: pd.DataFrame) -> pd.DataFrame:
    """Best score first; ties broken by TF id then target id, so the order is reproducible."""
    order = np.lexsort((table["target"].to_numpy(), table["tf"].to_numpy(), -table["score"].to_numpy(np.float64)))
    return table.iloc[order].reset_index(drop=True)


def priors_as_ids(priors: pd.DataFrame, genes) -> pd.DataFrame:
    """Symbol edges (``source``, ``target``) -> gene-id table ``tf, target`` (unknown genes dropped)."""
    tf, target = match_symbols(priors["source"], genes), match_symbols(priors["target"], genes)
    keep = (tf >= 0) & (target >= 0)
    return pd.DataFrame({"tf": tf[keep], "target": target[keep]})


def write_ranked(table: pd.DataFrame, path) -> Path:
    """Write a ranked table as TSV (CSV when ``path`` ends in .csv), atomically."""
    path = Path(path)
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    with atomic_file(path) as tmp:
        table[OUTPUT_COLUMNS].to_csv(tmp, sep=sep, index=False, float_format="%.6g")
    return path


def prior_roles(um: UserModel, ranked: pd.DataFrame) -> np.ndarray:
    """What each ranked pair was during training: ``"train"``, ``"val"`` or ``"test"`` for prior
    edges used as positives of that split, ``"prior, unused"`` for prior edges no split used,
    ``"not in priors"`` otherwise. Needs ``um.split`` (a freshly trained model).

    Scores of training positives say how well the model fits what it saw; only the held-out
    ("test") prior edges show how it ranks edges it was not told about.
    """
    if um.split is None:
        raise ValueError("prior_roles needs the split of a freshly trained model (um.split is None)")
    n = len(um.genes)
    codes = um.genes.get_indexer(ranked["tf"]).astype(np.int64) * n + um.genes.get_indexer(ranked["target"])
    roles = np.where(ranked["in_prior"].to_numpy() == 1, "prior, unused", "not in priors").astype(object)
    for name, table in um.split.items():
        positives = table[table["label"] == 1]
        split_codes = positives["tf"].to_numpy(np.int64) * n + positives["target"].to_numpy(np.int64)
        roles[np.isin(codes, split_codes)] = name
    return roles
