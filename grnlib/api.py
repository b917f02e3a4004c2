"""The Python API, in the scverse style: an AnnData and a network of known edges in, a model out.

>>> import grnlib
>>> model = grnlib.fit(adata, net, model="best", seed=0)      # net: source/target edges
>>> model.metrics                                             # held-out edges: model beside the degree floor
>>> print(model.verdict.line())                               # model - degree floor, its interval, a warning
>>> ranked = model.rank(adata, top_k=1000, key_added="grnlib")   # also stored in adata.uns["grnlib"]
>>> tf_net = model.rank(adata, top_k=1000, format="decoupler")   # source, target, weight for decoupler
>>> model.rank(other_cells, top_k=1000)                       # any cells sharing the genes: the model travels
>>> per_type = model.rank(adata, top_k=1000, groupby="cell_type", key_added="grn")  # adata.uns["grn"][type]
>>> graph = model.to_networkx()                               # the last ranking; model.to_graphml("net.graphml")
>>> model.save("my_model"); model = grnlib.load("my_model")

A thin layer over :mod:`grnlib.user`, the code behind ``grnlib train`` and ``grnlib predict``: the
same inputs and seed give the same model and ranking either way, and a saved model is a folder that
``grnlib predict --model`` reads (and ``grnlib.load`` reads what ``grnlib train`` wrote).
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from grnlib.errors import DataError, check_seed
from grnlib.user import (UserModel, as_format, load_user_model, rank_edges, read_priors, read_tf_list,
                         read_user_expression, resolve_user_spec, save_user_model, train_user_model, user_dataset)

__all__ = ["GRNModel", "fit", "load", "score"]


class GRNModel:
    """A trained model with what it needs to rank the edges of new expression.

    Made by :func:`fit` or :func:`load`; :attr:`user_model` is the underlying
    :class:`grnlib.user.UserModel` (torch module, fitted feature recipe, split) for anything else.
    """

    def __init__(self, user_model: UserModel, metrics: pd.DataFrame | None = None,
                 history: pd.DataFrame | None = None):
        self.user_model = user_model
        self._metrics = user_model.metrics if metrics is None else metrics
        self._history = user_model.history if history is None else history
        self._ranked = None  # the last ranking of rank(): to_networkx's default

    @property
    def metrics(self) -> pd.DataFrame | None:
        """Held-out metrics, one row per scorer (index ``name``): the model and the ``degree``
        floor, on the same held-out prior edges and sampled non-edges (``auroc``, ``auprc``,
        ``auprc_ratio``, ``early_precision_ratio``, ``f1``, ``mcc``, ``n`` ...). A model is worth
        using where it beats ``degree``. None for a model folder without ``metrics.tsv``."""
        if self._metrics is None:
            return None
        table = self._metrics.copy()
        return table.set_index("name") if "name" in table else table

    @property
    def verdict(self):
        """The model against the degree floor on the held-out pairs: pooled AUROC of both, the difference and
        its 95 % interval (paired bootstrap over TFs, seeded) as a
        :class:`grnlib.evaluation.floor_gap.FloorVerdict`; ``print(model.verdict.line())`` gives the one line,
        with a warning when the model is not above the floor. None for a folder written before verdicts."""
        from grnlib.evaluation.floor_gap import FloorVerdict

        data = self.params.get("data", {}).get("verdict")
        return FloorVerdict.from_dict(data) if data else None

    @property
    def history(self) -> pd.DataFrame | None:
        """Training history, one row per epoch (losses, validation AUROC/AUPRC)."""
        return None if self._history is None else self._history.copy()

    @property
    def held_out(self) -> pd.DataFrame | None:
        """The held-out pairs behind :attr:`metrics`: ``tf``, ``target``, ``label`` (1 = a prior edge
        hidden from training, 0 = a sampled non-edge) and one score column per scorer (``degree``
        and the model's logit). None for a loaded model (its scores are not saved)."""
        um = self.user_model
        if um.split is None:
            return None
        test = um.split["test"]
        table = pd.DataFrame({"tf": um.genes[test["tf"].to_numpy()], "target": um.genes[test["target"].to_numpy()],
                              "label": test["label"].to_numpy()})
        for name, scores in um.test_scores.items():
            table[name] = scores
        return table

    @property
    def params(self) -> dict:
        """Every resolved setting (model, model_cfg, train, features, split, seed, inputs, data)."""
        return self.user_model.params

    @property
    def genes(self) -> pd.Index:
        """The training genes: only these are ever scored."""
        return self.user_model.genes

    @property
    def tfs(self) -> list[str]:
        """The default candidate TFs of :meth:`rank`."""
        return [str(g) for g in self.user_model.genes[self.user_model.tfs]]

    def rank(self, adata, top_k: int | None = None, *, tfs=None, min_score: float | None = None,
             format: str = "grnlib", key_added: str | None = None, layer: str | None = None,
             raw_counts: bool | None = None, refit_features: bool = False, groupby: str | None = None,
             progress: bool = False) -> pd.DataFrame | dict[str, pd.DataFrame]:
        """Score every candidate TF x gene pair of ``adata`` and return them best first.

        Args:
            adata: AnnData (cells x genes) or an expression file sharing the training genes: the
                training cells (the model's own features, exactly) or any other cells (a subset, a
                cluster, another sample): their features are recomputed in the training basis
                (:meth:`grnlib.features.FeatureRecipe.travel`).
            top_k: keep the ``top_k`` best pairs (memory stays bounded at genome scale).
            tfs: candidate TF symbols (a list or a file); default :attr:`tfs`.
            min_score: keep pairs whose score (logit) is at least this.
            format: a table format of :data:`grnlib.formats.FORMATS`: ``"grnlib"`` (``tf, target, score,
                rank, in_prior, sign, sign_confidence``; ``score`` is the logit, ``sign`` +1 activation / -1
                repression, see :mod:`grnlib.user.signs`), ``"decoupler"`` (``source, target, weight``),
                ``"beeline"`` (``Gene1, Gene2, EdgeWeight``) or ``"arboreto"`` (``TF, target, importance``);
                the weight of the last three is ``log(1 + e^score)`` (:func:`grnlib.formats.edge_weight`),
                times the sign for decoupler (a negative weight is a repression there).
            key_added: also store the table in ``adata.uns[key_added]`` (``adata`` must be an AnnData).
            layer, raw_counts: how to read ``adata``; default as in training.
            refit_features: fit new expression features on these cells instead of carrying the
                training basis over (the model then reads axes it never saw: exploratory scores).
            groupby: an ``adata.obs`` column (clusters, cell types): one ranking per group of cells,
                returned as ``{group: table}`` and stored as ``adata.uns[key_added][group]``
                (groups under :data:`grnlib.user.groups.MIN_GROUP_CELLS` cells are skipped).
            progress: show a progress bar.
        """
        if key_added is not None and isinstance(adata, (str, os.PathLike)):
            raise DataError(adata, "key_added stores the ranking in an AnnData, but a file was given",
                            "pass the AnnData itself (anndata.read_h5ad(path)), or drop key_added")
        inputs = self.params.get("inputs", {})
        layer = inputs.get("layer") if layer is None else layer
        raw_counts = bool(inputs.get("raw_counts", False)) if raw_counts is None else raw_counts
        expression, path = _expression(adata, layer=layer, raw_counts=raw_counts)
        options = dict(tfs=_tf_list(tfs), top_k=top_k, min_score=min_score, refit_features=refit_features,
                       progress=progress, expression_path=path,
                       tfs_path=tfs if isinstance(tfs, (str, os.PathLike)) else None)
        if groupby is not None:
            from grnlib.user.groups import rank_groups

            self._ranked = rank_groups(self.user_model, expression, groupby, **options)
            table = {name: as_format(ranked, format) for name, ranked in self._ranked.items()}
        else:
            self._ranked = rank_edges(self.user_model, expression, **options)
            table = as_format(self._ranked, format)
        if key_added is not None:
            adata.uns[key_added] = table
        return table

    def held_out_metrics(self, adata, *, layer: str | None = None, raw_counts: bool | None = None) -> pd.Series:
        """The held-out pairs of :attr:`held_out` scored on the features of ``adata``'s cells: pooled
        ``auroc``/``auprc``, ``per_tf_auroc``/``per_tf_auprc`` (over ``n_tfs`` TFs) and ``n``. On
        the training cells it repeats :attr:`metrics`; on other cells it measures what travelling to
        them costs (the priors do not depend on the cells, so a good model ranks them alike). Needs a
        freshly trained model (a loaded one has no split)."""
        from grnlib.evaluation.metrics import evaluate_scores

        um = self.user_model
        if um.split is None:
            raise DataError(None, "a loaded model has no held-out pairs", "call held_out_metrics on a model from grnlib.fit")
        inputs = self.params.get("inputs", {})
        layer = inputs.get("layer") if layer is None else layer
        raw_counts = bool(inputs.get("raw_counts", False)) if raw_counts is None else raw_counts
        expression, path = _expression(adata, layer=layer, raw_counts=raw_counts)
        test = um.split["test"]
        pairs = pd.DataFrame({"source": um.genes[test["tf"].to_numpy()], "target": um.genes[test["target"].to_numpy()]})
        ranked = rank_edges(um, expression, pairs=pairs, progress=False, expression_path=path)
        scores = ranked.set_index(["tf", "target"])["score"].reindex(pd.MultiIndex.from_arrays(
            [pairs["source"], pairs["target"]]))
        if scores.isna().any():
            raise DataError(path, f"{int(scores.isna().sum())} held-out pair(s) name genes this expression lacks",
                            "pass expression measuring every training gene")
        metrics = evaluate_scores(test, scores.to_numpy())
        return pd.Series({k: metrics[k] for k in ("auroc", "auprc", "per_tf_auroc", "per_tf_auprc")}
                         | {"n": len(test), "n_tfs": metrics["n_tfs_per_tf_auroc"]})

    def to_networkx(self, ranked: pd.DataFrame | None = None, group: str | None = None):
        """The ranked edges as a ``networkx.DiGraph`` (edge attributes ``score``, ``rank``,
        ``in_prior``, ``weight`` ...; node attribute ``is_tf``): ``ranked`` (a table :meth:`rank`
        returned, in any format) or, by default, the last ranking of :meth:`rank` (``group``: which
        group's, after ``rank(..., groupby=...)``)."""
        from grnlib.user.export import to_networkx

        return to_networkx(self._ranking(ranked, group))

    def to_graphml(self, path, ranked: pd.DataFrame | None = None, group: str | None = None) -> Path:
        """Write :meth:`to_networkx`'s graph as GraphML (Cytoscape, Gephi), atomically."""
        from grnlib.user.export import write_graphml

        return write_graphml(self._ranking(ranked, group), path)

    def _ranking(self, ranked, group):
        ranked = self._ranked if ranked is None else ranked
        if ranked is None:
            raise DataError(None, "no ranking to export yet", "call model.rank(adata, top_k=...) first, or pass "
                            "ranked=<a table from rank>")
        if isinstance(ranked, dict):
            if group is None or str(group) not in ranked:
                raise DataError(None, f"the ranking has one table per group; group={group!r} is not one of them",
                                f"pass group= one of {list(ranked)[:10]}")
            return ranked[str(group)]
        return ranked

    def save(self, path, overwrite: bool = False) -> Path:
        """Write the model folder (``model.pt``, ``params.yaml``, ``metrics.tsv`` ...) atomically;
        ``grnlib predict --model path`` and :func:`load` read it. ``overwrite`` replaces an
        earlier grnlib model folder only, never a folder of other files."""
        try:
            return save_user_model(path, self.user_model, overwrite=overwrite)
        except DataError as exc:  # the folder checks speak command-line; a Python caller passes overwrite=True
            raise DataError(exc.path, exc.problem.replace("--overwrite", "overwrite=True"),
                            exc.fix.replace("--out folder", "folder").replace("--overwrite", "overwrite=True")) from None

    def __repr__(self) -> str:
        data = self.params.get("data", {})
        text = (f"GRNModel({self.params.get('model')!r}: {len(self.genes)} genes, {len(self.user_model.tfs)} "
                f"candidate TFs, {data.get('n_prior_edges', '?')} prior edges")
        metrics = self.metrics
        if metrics is not None and "auroc" in metrics and "degree" in metrics.index:
            model_row = metrics.drop(index="degree")
            if len(model_row):
                text += (f"; held-out AUROC {model_row['auroc'].iloc[0]:.3f} vs degree floor "
                         f"{metrics.loc['degree', 'auroc']:.3f}")
        return text + ")"


def fit(adata, net, model: str = "best", seed: int = 0, *, tfs=None, net_format: str | None = None,
        layer: str | None = None, raw_counts: bool = False, genes_as: str = "auto", epochs: int | None = None,
        model_cfg: dict | None = None, train: dict | None = None, features: dict | None = None,
        split: dict | None = None, patience: int | None = None, device: str = "auto", knowledge=None,
        prior_correction: bool | str | None = None, progress: bool = False, out_of_core: bool | None = None,
        client=None) -> GRNModel:
    """Train a link-prediction model on ``adata`` with the edges of ``net`` as positives.

    A part of the edges (with as many sampled non-edges) is held out; the model trains on the rest
    and is scored on them beside the degree floor (:attr:`GRNModel.metrics`).

    Args:
        adata: AnnData, cells x genes (log-normalised ``X``, or raw counts with ``raw_counts=True``),
            or an expression file (``.h5ad``, CSV/TSV; ``genes_as`` says where the genes are).
        net: known TF -> target edges: a DataFrame or a file in any accepted layout: ``source,
            target`` (decoupler, CollecTRI, DoRothEA), ``tf, target`` (grnlib), ``Gene1, Gene2``
            (BEELINE), ``TF, target`` (arboreto/pySCENIC); ``net_format`` forces one.
        model: a preset (``best``, ``phase1`` ...) or a registry model name.
        seed: seeds the split, the features, model init and shuffling (0 <= seed < 2**32).
        tfs: candidate TF symbols (a list or a file): only edges from them train, and they are the
            default TFs of :meth:`GRNModel.rank`.
        layer: read this layer of ``adata`` instead of ``X`` (``"raw"``: ``adata.raw``, where scanpy keeps
            the counts).
        patience: stop after this many epochs without a better validation AUROC, keeping the best
            epoch's weights; ``0`` trains every epoch; None: the recipe's own, else
            :data:`grnlib.training.loop.USER_PATIENCE` (or ``train["early_stopping_patience"]``).
        epochs, model_cfg, train, features, split: overrides of the preset, as in a ``grnlib
            train --params`` file (e.g. ``train={"lr": 1e-3}``, ``split={"protocol": "heldout-tf"}``).
        prior_correction: the per-TF base-rate correction of the scores (:mod:`grnlib.evaluation.correction`):
            ``"auto"`` (where training pairs were sampled per TF), True or False; None: the preset's own
            (``prior_correction:`` in a ``--params`` file sets the same).
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` ...
        progress: show the training progress bar.
        knowledge: annotation evidence for TFs without known edges: ``"go,pfam,jaspar"`` (any of them),
            ``"auto"`` (all, for human or mouse symbols) or None; :meth:`GRNModel.rank` then scores such TFs
            (given with ``tfs``) from GO, Pfam and JASPAR, with an ``evidence`` column
            (:mod:`grnlib.user.knowledge`).
        out_of_core: an ``.h5ad`` file is read in chunks from disk (True), loaded (False), or either by its
            size and the available memory (None; :func:`grnlib.data.streaming.choose_out_of_core`).
        client: a ``dask.distributed.Client``: the out-of-core passes run on its cluster (implies out of core).

    Raises:
        DataError: bad input (names the problem and the fix), as on the command line.
    """
    seed = 0 if seed is None else check_seed(seed, "seed")  # None: the default, as on the command line
    from grnlib.user.reading import transposed_fix
    from grnlib.user.trainable import check_trainable

    options = {"model_cfg": model_cfg, "train": train, "features": features, "split": split,
               "prior_correction": prior_correction}
    check_trainable(model, listing="print(grnlib.user.trainable.model_list())")
    spec = resolve_user_spec(model, {k: v for k, v in options.items() if v is not None}, epochs=epochs)
    spec = spec.with_patience(patience, set_in_params="early_stopping_patience" in (train or {}))
    expression, expression_path = _expression(adata, layer=layer, raw_counts=raw_counts, genes_as=genes_as,
                                              out_of_core=out_of_core, client=client)
    net_path = net if isinstance(net, (str, os.PathLike)) else None
    if net_path is not None:
        priors = read_priors(net_path, genes=expression.var_names, format=net_format)
    elif isinstance(net, pd.DataFrame):
        from grnlib.data.edges import edges_from_table

        priors = edges_from_table(net, format=net_format, what="network")
    else:
        raise DataError(None, f"net must be a DataFrame or a file, got {type(net).__name__}",
                        "pass a DataFrame with source and target columns, or the path of an edge table")
    tfs_path = tfs if isinstance(tfs, (str, os.PathLike)) else None
    ds = user_dataset(expression, priors, _tf_list(tfs), priors_path=net_path, tfs_path=tfs_path,
                      expression_path=expression_path, transpose_fix=transposed_fix(expression_path, genes_as))
    inputs = {"expression": None if expression_path is None else str(expression_path),
              "genes_as": genes_as, "layer": layer, "raw_counts": bool(raw_counts),
              "priors": None if net_path is None else str(net_path),
              "tfs": None if tfs_path is None else str(tfs_path)}
    try:
        um = train_user_model(ds, spec, seed=seed, device=device, progress=progress, inputs=inputs)
    except FloatingPointError as exc:
        raise DataError(None, f"training diverged ({exc})", "lower the learning rate: train={'lr': ...}") from None
    if knowledge is not None:
        from grnlib.user.knowledge import attach_knowledge

        attach_knowledge(um, knowledge, seed=seed)
    return GRNModel(um)


def load(path, device: str = "cpu") -> GRNModel:
    """A model folder written by :meth:`GRNModel.save` or ``grnlib train`` (or its ``model.pt``).

    The checkpoint loads with ``torch.load(weights_only=True)``: a file holding code is refused,
    not run. Held-out metrics and history come from the folder's ``metrics.tsv``/``history.tsv``."""
    um = load_user_model(path, device=device)
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    tables = [pd.read_csv(folder / name, sep="\t") if (folder / name).is_file() else None
              for name in ("metrics.tsv", "history.tsv")]
    return GRNModel(um, metrics=tables[0], history=tables[1])


def score(network, reference, *, expression=None, train_reference: float | None = None, prior=None,
          network_format: str | None = None, reference_format: str | None = None, genes_as: str = "auto",
          seed: int = 0, n_boot: int = 200, level: float = 0.95) -> pd.DataFrame:
    """Score a ranked network you already have against a reference, beside the degree and edge-prior
    floors: what ``grnlib score`` prints (:func:`grnlib.user.scoring.score_network`).

    Args:
        network: ranked edges, a DataFrame or a file: grnlib (``tf, target, score``), BEELINE
            ``rankedEdges.csv``, arboreto/pySCENIC (``TF, target, importance``), decoupler (``source,
            target, weight``: ranked by ``abs(weight)``), or ``source, target`` in rank order.
        reference: the true edges (DataFrame or file, any of those layouts).
        expression: its genes are the universe (AnnData, an expression file or a list of genes);
            default the genes the network or the reference name.
        train_reference: compute the floors from this seeded fraction of the reference edges (they
            leave the scored pairs); or ``prior``: from this separate network. Neither: no floors.
        seed: seeds the training part, the edge prior and the TF bootstrap.
        n_boot, level: TF resamples and coverage of the intervals.

    Returns:
        One row per scorer (``network``, ``degree``, ``edge_prior``): pooled and per-TF AUROC and
        AUPRC, ``auprc_dg`` (BEELINE's AUPRC), ``early_precision_ratio`` (BEELINE's EPR), intervals
        (``*_low``, ``*_high``) and counts; ``attrs["info"]`` says what was scored.
    """
    from grnlib.user.scoring import score_network, scoring_universe

    if isinstance(expression, (str, os.PathLike)):
        genes, source = scoring_universe(read_user_expression(expression, genes_as=genes_as))
        source = f"{source} in {expression}"
    else:
        genes, source = scoring_universe(expression)
    paths = {name: value for name, value in (("network", network), ("reference", reference), ("prior", prior))
             if isinstance(value, (str, os.PathLike))}
    return score_network(network, reference, genes=genes, genes_source=source, train_reference=train_reference,
                         prior=prior, network_format=network_format, reference_format=reference_format, seed=seed,
                         n_boot=n_boot, level=level, paths=paths)


def _tf_list(tfs):
    if tfs is None:
        return None
    if isinstance(tfs, (str, os.PathLike)):
        return read_tf_list(tfs)
    return [str(t) for t in tfs]


def _expression(adata, layer=None, raw_counts=False, genes_as="auto", out_of_core=None, client=None):
    """(validated AnnData, its file or None): a file is read like ``grnlib train`` reads it (an ``.h5ad``
    may stay on disk: ``out_of_core``, ``client``); an AnnData in memory gets the same checks, on a copy
    (the caller's object is left as it is)."""
    if isinstance(adata, (str, os.PathLike)):
        return read_user_expression(adata, genes_as=genes_as, layer=layer, raw_counts=raw_counts,
                                    out_of_core=out_of_core, client=client), adata
    from grnlib.data.expression import expression_from_anndata

    return expression_from_anndata(adata, layer=layer, raw_counts=raw_counts), None
