"""A user's trained model: train it on their data through the one run pipeline
(:func:`grnlib.evaluation.experiment.evaluate_split`), save it as a folder, load it back.

Features at predict time (the choice made here): the checkpoint stores the training gene list,
the training cell names and the *fitted* :class:`~grnlib.features.FeatureRecipe`. Predict
re-applies that stored recipe, so on the training expression it rebuilds exactly the features the
model was trained on, and on a matrix with more or fewer genes it gives every shared gene the same
features as in training. Given the training cells (matched by name; extra cells are ignored) the
features are exactly the trained ones; on other cells (a subset, a cluster, another sample) they
*travel*: they are recomputed from those cells in the training basis
(:meth:`~grnlib.features.FeatureRecipe.travel`; ``benchmarks/travel.py`` measures the cost).
``refit=True`` (``--refit-features``) instead fits the recipe afresh on the new matrix; the model
then reads axes it never saw, so treat such scores as exploratory. Genes are always those of
training: a model has no representation for a gene it never saw.
"""
from __future__ import annotations

import dataclasses
import json
import pickle
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from grnlib.data import GRNDataset
from grnlib.errors import DataError, DataWarning
from grnlib.evaluation.spec import DATA_SET_CFG, RunSpec, Runtime, resolve_spec
from grnlib.features import FeatureRecipe
from grnlib.io import atomic_folder, write_table, write_yaml
from grnlib.user.reading import one_line

MODEL_FILE = "model.pt"
USER_FORMAT = "grnlib-user-model-v1"
PARAM_KEYS = ("model", "model_cfg", "train", "features", "split", "seed", "prior_correction")
INFO_KEYS = ("inputs", "data", "grnlib_version")  # written by train for the record; ignored on input
DEFAULT_MODEL = "best"  # grnlib train without --model, grnlib.fit's default


# -- training ------------------------------------------------------------------------------
@dataclass
class UserModel:
    """A trained model with what predict needs to use it on new expression.

    Attributes:
        model: the trained module (eval mode).
        genes: training gene universe (gene id = position).
        tfs: default candidate TF ids [n] for prediction.
        prior_edges: prior edges as gene ids, DataFrame ``tf, target`` (for ``in_prior``) and ``sign``
            (-1/0/1) when the priors gave a mode of regulation (:mod:`grnlib.user.signs`).
        recipe: the fitted :class:`FeatureRecipe`, or None for models without expression input.
        params: resolved params (model, model_cfg, train, features, split, seed, inputs, data).
        metrics: held-out metrics, one row per scorer (the model and ``degree``), or None.
        history: training history, or None after loading.
        split: the pair tables (train/val/test), or None after loading.
        test_scores: held-out scores by scorer name (``degree`` and the run), aligned with
            ``split["test"]`` (logits for the model).
        correction: the per-TF base-rate correction predict adds to the model's logits
            (:mod:`grnlib.evaluation.correction`; ``pi`` from every prior edge), or None.
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
    correction: object = None


@dataclass(frozen=True)
class UserSpec:
    """What ``grnlib train`` and :func:`grnlib.fit` run, resolved once (:func:`resolve_user_spec`): the
    run spec, the split settings (``protocol``, ``neg_ratio``, ``val_fraction``, ``test_fraction``) and
    the params' seed (None: not given). ``spec["train"]``, ``spec["seed"]`` ... read it like the
    params it came from."""

    run: RunSpec
    split: dict
    seed: int | None = None

    def with_patience(self, patience: int | None, *, set_in_params: bool = False) -> "UserSpec":
        """Early stopping on by default, as a user's run has it (:func:`grnlib.training.loop.user_patience`)."""
        from grnlib.training.loop import user_patience

        train = user_patience(self.run.train, patience, set_in_params=set_in_params)
        return dataclasses.replace(self, run=self.run.replace(train=train))

    def __getitem__(self, key: str):
        if key in ("split", "seed"):
            return getattr(self, key)
        return self.run[key]


def resolve_user_spec(model: str | None, params: dict | None = None, *, epochs: int | None = None,
                      params_path=None) -> UserSpec:
    """The run spec, split and seed of ``grnlib train`` from a model name and a params dict.

    ``params`` keys: ``model``, ``model_cfg``, ``train``, ``features``, ``prior_correction`` (see
    :func:`grnlib.evaluation.spec.resolve_spec`), ``split`` (``protocol``: seed|heldout-tf|
    degree-matched, ``val_fraction``, ``test_fraction`` (seed), ``neg_ratio``), ``seed``. The keys
    a previous run wrote for the record (``inputs``, ``data``, ``grnlib_version``) are ignored, so a
    written ``params.yaml`` can be passed back. Unknown keys are an error naming ``params_path``.
    """
    from grnlib.evaluation.protocols import PROTOCOLS

    params = dict(params or {})
    unknown = sorted(set(params) - set(PARAM_KEYS) - set(INFO_KEYS))
    if unknown:
        raise DataError(params_path, f"unknown key(s) {unknown}", f"use only {list(PARAM_KEYS)}")
    name = model or params.get("model") or DEFAULT_MODEL
    run = {k: params[k] for k in ("model_cfg", "train", "features") if k in params}
    for key, value in run.items():
        if value is not None and not isinstance(value, dict):
            raise DataError(params_path, f"{key} must be a mapping, got {value!r}", f"fix the '{key}' section")
    if "prior_correction" in params:
        run["prior_correction"] = params["prior_correction"]
    spec = resolve_spec({"model": name, **run}, epochs=epochs, source=params_path)
    if spec.kind == "baseline":
        raise DataError(params_path, f"{name!r} is a baseline, which needs no training",
                        "pass a model or preset to --model; the degree baseline is scored beside it anyway")
    split = {"protocol": "seed", "neg_ratio": 1.0, "val_fraction": 0.15, **(params.get("split") or {})}
    user_protocols = PROTOCOLS.where(user_data=True)
    if split["protocol"] not in user_protocols:
        raise DataError(params_path, f"split protocol {split['protocol']!r} cannot be used on your own data",
                        f"choose one of {user_protocols}")
    unknown = sorted(set(split) - {"protocol", "neg_ratio", "val_fraction", "test_fraction"})
    if unknown or ("test_fraction" in split and split["protocol"] != "seed"):
        raise DataError(params_path, f"unknown split key(s) {unknown or ['test_fraction']}",
                        "use protocol, neg_ratio, val_fraction (and test_fraction for protocol seed)")
    return UserSpec(run=spec, split=split, seed=params.get("seed"))


def train_user_model(ds: GRNDataset, spec: UserSpec, seed: int = 0, device: str = "auto",
                     progress: bool = True, inputs: dict | None = None, checkpoint_dir=None) -> UserModel:
    """Split, build features, train and evaluate on held-out pairs beside the degree floor, through
    the one run pipeline (:func:`grnlib.evaluation.experiment.evaluate_split`).

    Args:
        ds: from :func:`grnlib.user.reading.user_dataset` (expression attached).
        spec: from :func:`resolve_user_spec` (taken as it is: never resolved again).
        seed: seeds the split, the feature fit, model init and shuffling.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
        progress: show the training progress bar.
        inputs: where the data came from, stored in ``params["inputs"]`` for the record and for
            predict's defaults (``genes_as``, ``layer``, ``raw_counts``).
        checkpoint_dir: folder for the training state after every epoch (``last.pt``); when it already
            holds one of this run, training continues from it to the same result.
    """
    from grnlib.version import __version__
    from grnlib.evaluation.experiment import evaluate_split
    from grnlib.evaluation.protocols import make_split

    run = spec.run
    split_cfg = dict(spec.split)
    protocol = split_cfg.pop("protocol")
    try:
        split = make_split(ds, protocol, seed=seed, **split_cfg)
    except ValueError as exc:  # DataError included: both say what the priors cannot support
        raise DataError(ds.source, f"cannot hold out {protocol!r} pairs ({one_line(exc)})",
                        "use split protocol 'seed' or adjust the split settings") from None
    # one training state per folder: not for a stack's several members
    checkpoints = None if checkpoint_dir is None or run.kind == "stack" else str(checkpoint_dir)
    runtime = Runtime(seed=seed, device=device, progress=progress, checkpoint_dir=checkpoints)
    try:
        evaluation = evaluate_split(ds, split, [run], runtime)  # beside the degree floor
    except (ValueError, TypeError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(None, f"cannot build or train model {run.model!r} ({one_line(exc)})",
                        "fix the model_cfg or train section of the params") from None
    from grnlib.evaluation.correction import fit_prior_correction

    # Genome-wide ranking sees every TF's real base rate: pi from all prior edges, rho from training.
    prior = ds.edges[["tf", "target"]].to_numpy(dtype=np.int64).T
    correction = fit_prior_correction(split["train"], ds.n_genes, run.prior_correction, edges=prior)
    if run.kind == "stack":  # floors + members in one model; each member keeps the offsets it was blended with
        from grnlib.evaluation.stacking import stacked_model

        model, trained = stacked_model(run, ds, split, evaluation, seed)
        correction.applied, correction.reason = False, "inside the stack (each member's own correction)"
        stack = evaluation.stacks[run.name]
        model_cfg = {"members": list(stack.members)}
    else:
        trained = evaluation.trained[run.name]
        if run.features and trained.recipe is None:
            warnings.warn(f"model {run.model!r} with these settings reads no expression features; the "
                          "'features' setting is ignored", DataWarning, stacklevel=2)
        model, stack = trained.model, None
        model_cfg = {k: v for k, v in model.config.items() if k not in DATA_SET_CFG}
    result = trained.result if trained is not None else None
    recipe = trained.recipe if trained is not None else None
    metrics = evaluation.metrics.drop(columns=["seed", "val_auroc", "val_auprc", "val_nested_auroc", "val_nested_auprc",
                                               "seconds", "cached"])
    from grnlib.evaluation.floor_gap import floor_verdict

    verdict = floor_verdict(split["test"], evaluation.test_scores[run.name], evaluation.test_scores["degree"],
                            model=run.name, seed=seed)
    params = {
        "model": run.name, "model_cfg": model_cfg,
        "train": dict(run.train), "features": recipe.describe() if recipe else None,
        "split": dict(spec.split), "seed": seed, "prior_correction": run.prior_correction,
        "inputs": dict(inputs or {}),
        "data": {"n_cells": int(ds.expression.n_obs), "n_genes": ds.n_genes, "n_tfs_trained": ds.n_tfs,
                 "n_candidate_tfs": int(len(ds.meta["candidate_tfs"])), "n_prior_edges": ds.n_edges,
                 "n_prior_edges_outside_expression": int(ds.meta.get("n_outside_expression", 0)),
                 "best_epoch": result.best_epoch if result else None,
                 "epochs_run": int(len(result.history)) if result else 0,
                 "prior_correction": correction.describe(), "verdict": verdict.to_dict(),
                 **({"stack_weights": dict(zip(stack.members, map(float, stack.weights)))} if stack else {})},
        "grnlib_version": __version__,
    }
    return UserModel(model=model, genes=pd.Index(ds.genes), tfs=np.asarray(ds.meta["candidate_tfs"], np.int64),
                     prior_edges=ds.edges[[c for c in ("tf", "target", "sign") if c in ds.edges]].reset_index(drop=True),
                     recipe=recipe,
                     params=params, metrics=metrics, history=result.history if result else None, split=split,
                     test_scores=dict(evaluation.test_scores), correction=correction)


# -- saving and loading ----------------------------------------------------------------------
def write_user_model(folder, um: UserModel) -> Path:
    """Write ``model.pt``, ``params.yaml``, ``metrics.tsv``, ``history.tsv`` and ``pairs.tsv``
    into an existing folder (use :func:`save_user_model` for an atomic write)."""
    import torch

    from grnlib.training.checkpoint import save_checkpoint

    folder = Path(folder)
    recipe_meta, recipe_tensors = um.recipe.state() if um.recipe else (None, {})
    correction_meta, correction_tensors = um.correction.state() if um.correction is not None else (None, {})
    meta = {"format": USER_FORMAT, "genes": [str(g) for g in um.genes], "feature_recipe": recipe_meta,
            "prior_correction": correction_meta, "params": um.params}
    prior = um.prior_edges[["tf", "target"]].to_numpy(dtype=np.int64)
    save_checkpoint(folder / MODEL_FILE, um.model, user_model=json.dumps(meta),
                    candidate_tfs=torch.from_numpy(np.asarray(um.tfs, dtype=np.int64)),
                    prior_edges=torch.from_numpy(np.ascontiguousarray(prior.T)), **recipe_tensors,
                    **correction_tensors, **_sign_tensor(um.prior_edges))
    write_yaml(folder / "params.yaml", _plain(um.params))
    if um.metrics is not None:
        write_table(um.metrics, folder / "metrics.tsv", float_format=None)  # full precision: comparable
    if um.history is not None:
        write_table(um.history, folder / "history.tsv")
    if um.split is not None:
        tables = [table.assign(split=name) for name, table in um.split.items()]
        pairs = pd.concat(tables, ignore_index=True)
        pairs.insert(0, "tf_symbol", um.genes[pairs["tf"].to_numpy()])
        pairs.insert(1, "target_symbol", um.genes[pairs["target"].to_numpy()])
        write_table(pairs, folder / "pairs.tsv", float_format=None)
    return folder


def _sign_tensor(prior: pd.DataFrame) -> dict:
    """``{"prior_signs": int8 [E]}`` when the prior edges carry a mode of regulation, else ``{}``."""
    import torch

    if "sign" not in prior:
        return {}
    return {"prior_signs": torch.from_numpy(prior["sign"].to_numpy(np.int8).copy())}


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
    from grnlib.training.checkpoint import load_checkpoint
    from grnlib.models import build_model
    from grnlib.training.loop import resolve_device

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
            raise DataError(file, f"is not a readable grnlib checkpoint ({one_line(exc)})", fix) from None
        raise DataError(file, "holds Python objects that a weights-only load refuses (nothing in it was run)",
                        "use a checkpoint written by grnlib train; do not load this file with "
                        "weights_only=False unless you trust whoever wrote it") from None
    except Exception as exc:  # torch/zip raise many types for a damaged file
        raise DataError(file, f"is not a readable grnlib checkpoint ({one_line(exc)})", fix) from None
    if "user_model" not in ckpt:
        raise DataError(file, "checkpoint has no gene list or feature recipe (it was not written by grnlib train)",
                        "train with grnlib train, or load it in Python with grnlib.training.checkpoint.load_model")
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
        prior_table = pd.DataFrame({"tf": prior[0], "target": prior[1]})
        if "prior_signs" in ckpt:  # written since signed edges (older folders have none)
            prior_table["sign"] = ckpt["prior_signs"].numpy().astype(np.int8)
        correction = None
        if meta.get("prior_correction"):
            from grnlib.evaluation.correction import PriorCorrection

            correction = PriorCorrection.from_state(meta["prior_correction"], ckpt)
            if correction.offsets.size != len(genes):
                raise ValueError(f"prior correction covers {correction.offsets.size} genes, not {len(genes)}")
    except Exception as exc:
        raise DataError(file, f"checkpoint is damaged or from another grnlib version ({one_line(exc)})",
                        fix) from None
    config = ckpt["model_config"]
    if config.get("n_genes") and config["n_genes"] != len(genes):
        raise DataError(file, f"checkpoint is inconsistent: the model covers {config['n_genes']} genes, its gene "
                        f"list has {len(genes)}", fix)
    if model.uses_features:
        width = recipe.width if recipe else None
        if width != config.get("in_features"):
            raise DataError(file, f"checkpoint is inconsistent: the model reads {config.get('in_features')} features "
                            f"per gene but its feature recipe gives {width}", fix)
    model = model.to(resolve_device(device)).eval()
    return UserModel(model=model, genes=genes, tfs=tfs,
                     prior_edges=prior_table, recipe=recipe,
                     params=meta["params"], correction=correction)


