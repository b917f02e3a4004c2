"""What a model may know beyond ``(tf_idx, gene_idx, features)``: the training graph.

Some models read the network the labels come from: per-gene degrees, the regulators of a
target, the targets of a TF. They get it through one hook, ``model.prepare(ds, train_pairs)``,
which :func:`grnlib.evaluation.experiment.train_run` calls before training when a model defines it. The
hook keeps the *positive rows of the training table only* (validation and test pairs never
enter), stored as buffers, so ``state_dict()`` carries them and ``build_model(**config)`` +
``load_state_dict`` rebuilds a prepared model (the buffers resize to the saved graph).

:class:`TrainingGraph` holds that graph and computes leave-one-out pair evidence from it:
every count a pair sees excludes the pair's own edge. Without that, a training positive would
always see its own edge (in-degree >= 1, its TF among the target's regulators) while a test
positive never does, and a model would learn the difference instead of regulation.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

EVIDENCE_GROUPS = {
    # name -> evidence columns (in this order)
    "degree": ("log_out_degree", "log_in_degree"),
    "expression": ("correlation", "abs_correlation"),
    "transfer": ("regulator_coexpression", "target_coexpression", "neighbour_tf_vote"),
    "topology": ("shared_target_paths",),
    # label-free TF x gene matrices from expression (grnlib.models.evidence), held by EvidenceTable
    "trees": ("tree_importance",),
    "partial_correlation": ("partial_correlation", "abs_partial_correlation"),
    "mutual_information": ("mutual_information",),
    # annotation knowledge (GO, Pfam, JASPAR; grnlib.models.knowledge.KnowledgeEvidence), from training edges only
    "knowledge": ("knowledge_transfer", "knowledge_transfer_real", "go_function", "tf_is_real",
                  "log_in_degree_real", "go_target_similarity", "go_function_x_log_in_degree"),
}
GRAPH_GROUPS = ("degree", "expression", "transfer", "topology")  # computed by TrainingGraph
TABLE_GROUPS = ("trees", "partial_correlation", "mutual_information")  # looked up in an EvidenceTable
KNOWLEDGE_GROUPS = ("knowledge",)  # held by a grnlib.models.knowledge.KnowledgeEvidence


HIDE_MODES = ("edge", "tf")


def evidence_columns(groups) -> list[str]:
    """Column names of the evidence vector for the chosen ``groups`` (in EVIDENCE_GROUPS order)."""
    unknown = sorted(set(groups) - set(EVIDENCE_GROUPS))
    if unknown:
        raise ValueError(f"unknown evidence group(s) {unknown}; valid: {', '.join(EVIDENCE_GROUPS)}")
    return [c for g in EVIDENCE_GROUPS if g in groups for c in EVIDENCE_GROUPS[g]]


def positive_edges_of(train_pairs) -> np.ndarray:
    """int64 [2, E] (tf, target) of the positive rows of a training pair table, duplicates dropped."""
    positives = train_pairs[train_pairs["label"] == 1][["tf", "target"]].to_numpy(dtype=np.int64)
    positives = positives[positives[:, 0] != positives[:, 1]]
    return np.unique(positives, axis=0).T.copy() if len(positives) else np.zeros((2, 0), np.int64)


class TrainingGraph(nn.Module):
    """Directed TF -> target edges of the training positives, as buffers.

    Buffers: ``edges`` int64 [2, E]. Dense helpers (a TF-row adjacency ``[m + 1, n_genes]`` over
    the m TFs with a training edge plus one all-zero row for every other gene, and
    feature-dependent products) are caches rebuilt on
    demand and never saved.
    """

    def __init__(self, n_genes: int, neighbour_temperature: float = 0.1):
        super().__init__()
        self.n_genes = int(n_genes)
        self.neighbour_temperature = float(neighbour_temperature)
        self.register_buffer("edges", torch.zeros(2, 0, dtype=torch.long))
        self._register_load_state_dict_pre_hook(self._resize_edges)
        self._cache: dict = {}

    def _resize_edges(self, state_dict, prefix, *args):
        saved = state_dict.get(prefix + "edges")
        if saved is not None and saved.shape != self.edges.shape:
            self.edges = torch.zeros_like(saved, device=self.edges.device)
        self._cache = {}

    def set_edges(self, edges: np.ndarray) -> None:
        """edges: int64 [2, E] TF -> target ids (training positives only)."""
        edges = torch.as_tensor(np.asarray(edges, dtype=np.int64)).reshape(2, -1)
        if edges.numel() and int(edges.max()) >= self.n_genes:
            raise ValueError(f"edge gene id {int(edges.max())} >= n_genes={self.n_genes}; build the "
                             "model with n_genes=ds.n_genes")
        self.edges = edges.to(self.edges.device)
        self._cache = {}

    # -- dense structure ----------------------------------------------------------------
    def _structure(self) -> dict:
        key = ("structure", self.edges.device, self.edges.shape[1])
        if key not in self._cache:
            self._cache = {k: v for k, v in self._cache.items() if k[0] != "structure"}
            dev, n = self.edges.device, self.n_genes
            row_genes = torch.unique(self.edges[0])            # TFs with a training edge [m]
            m = row_genes.numel()
            # row m is all zeros: where genes without a training out-edge (unseen TFs) look up
            row_of = torch.full((n,), m, dtype=torch.long, device=dev)
            row_of[row_genes] = torch.arange(m, device=dev)
            adjacency = torch.zeros(m + 1, n, device=dev)      # [m + 1, n]
            adjacency[row_of[self.edges[0]], self.edges[1]] = 1.0
            shared = adjacency @ adjacency.T                    # [m + 1, m + 1] common targets
            # paths t -> h <- r -> g through another TF r (r != t): (S A)[t,g] - S[t,t] A[t,g]
            paths = shared @ adjacency - shared.diagonal()[:, None] * adjacency
            self._cache[key] = dict(row_genes=row_genes, row_of=row_of, adjacency=adjacency,
                                    out_degree=adjacency.sum(1), in_degree=adjacency.sum(0), paths=paths)
        return self._cache[key]

    def degrees(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(out_degree [n_genes], in_degree [n_genes]) counted over the training positives."""
        s = self._structure()
        return s["out_degree"][s["row_of"]], s["in_degree"]

    def neighbour_lists(self) -> torch.Tensor:
        """The edges, [2, E] (tf, target) long, for message passing."""
        return self.edges

    def edge_in_graph(self, tf_idx: torch.Tensor, gene_idx: torch.Tensor) -> torch.Tensor:
        """float [B]: 1 where (tf, gene) is a training positive."""
        s = self._structure()
        return s["adjacency"][s["row_of"][tf_idx], gene_idx]

    # -- pair evidence ------------------------------------------------------------------
    def _feature_products(self, features: torch.Tensor, z: torch.Tensor) -> dict:
        # keyed on the caller's feature tensor, which stays the same object through training
        key = ("features", features.data_ptr(), tuple(features.shape), self.edges.shape[1])
        if key not in self._cache:
            self._cache = {k: v for k, v in self._cache.items() if k[0] != "features"}
            s = self._structure()
            a = s["adjacency"]
            self._cache[key] = dict(tf_side=a @ z,                 # [m, d] sum of a TF's targets
                                    target_side=a[:-1].T @ z[s["row_genes"]])  # [n, d] sum of a gene's regulators
        return self._cache[key]

    def pair_evidence(self, tf_idx: torch.Tensor, gene_idx: torch.Tensor, groups,
                      features: torch.Tensor | None, hide: str = "edge") -> torch.Tensor:
        """Leave-one-out evidence for each pair -> float [B, len(evidence_columns(groups))].

        Columns (see EVIDENCE_GROUPS): log(1 + out-degree of the TF), log(1 + in-degree of the
        target); Pearson-like correlation c(tf, gene) of the feature rows and |c|; mean c between
        the TF and the target's other regulators; mean c between the gene and the TF's other
        targets; a softmax(c / T) vote of the TFs most co-expressed with the TF for the gene;
        log(1 + number of paths tf -> h <- r -> gene through other TFs r). Every count leaves
        out the pair's own edge; ``hide="tf"`` also leaves out every other training edge of the
        pair's TF (the TF looks unseen: what a held-out TF looks like at test time).
        """
        if hide not in HIDE_MODES:
            raise ValueError(f"hide={hide!r} is not one of {HIDE_MODES}")
        s = self._structure()
        own = self.edge_in_graph(tf_idx, gene_idx)            # [B] 1 for a training positive
        rows = s["row_of"][tf_idx]
        own_row = own  # the own edge as seen from the TF's row
        if hide == "tf":
            rows = torch.full_like(rows, s["adjacency"].shape[0] - 1)  # the all-zero row
            own_row = torch.zeros_like(own)
        out_loo = s["out_degree"][rows] - own_row
        in_loo = s["in_degree"][gene_idx] - own
        cols = []
        if "degree" in groups:
            cols += [torch.log1p(out_loo), torch.log1p(in_loo)]
        needs_z = any(g in groups for g in ("expression", "transfer"))
        if needs_z:
            if features is None:
                raise ValueError(f"evidence groups {sorted(groups)} read expression: pass features "
                                 "(grnlib.features.gene_features) or drop 'expression'/'transfer'")
            z = unit_rows(features)
            corr = (z[tf_idx] * z[gene_idx]).sum(-1)
        if "expression" in groups:
            cols += [corr, corr.abs()]
        if "transfer" in groups:
            prod = self._feature_products(features, z)
            # own edge contributes c(tf, tf) = |z_tf|^2 resp. c(gene, gene) to the sums: remove it
            reg = (z[tf_idx] * prod["target_side"][gene_idx]).sum(-1) - own * (z[tf_idx] ** 2).sum(-1)
            tgt = (prod["tf_side"][rows] * z[gene_idx]).sum(-1) - own_row * (z[gene_idx] ** 2).sum(-1)
            cols += [reg / in_loo.clamp(min=1), tgt / out_loo.clamp(min=1)]
            cols.append(self._neighbour_vote(z, tf_idx, gene_idx, s))
        if "topology" in groups:
            # removing (tf, gene) removes the paths tf -> h <- r -> gene with h = gene: in_loo of them
            paths = s["paths"][rows, gene_idx] - own_row * in_loo
            cols.append(torch.log1p(paths.clamp(min=0)))
        return torch.stack(cols, dim=-1) if cols else torch.zeros(tf_idx.shape[0], 0, device=tf_idx.device)


    def _neighbour_vote(self, z: torch.Tensor, tf_idx: torch.Tensor, gene_idx: torch.Tensor, s: dict) -> torch.Tensor:
        """The TF's nearest training TFs (itself excluded) vote for the gene: softmax(c(tf, r) / T)
        weights over the training TFs r, times r's edge to the gene. [B]

        Pairs that are a few TFs x many genes (genome-wide ranking) are scored as one block: the
        weights once per TF and one matrix product, instead of a [B, training TFs] gather per pair."""
        tfs, tf_row = torch.unique(tf_idx, return_inverse=True)
        genes, gene_col = torch.unique(gene_idx, return_inverse=True)
        block = tfs.numel() * genes.numel() <= 2 * tf_idx.numel()  # (partial TFs at the batch edges)
        query = tfs if block else tf_idx
        sim = z[query] @ z[s["row_genes"]].T / self.neighbour_temperature     # [B or n_tf, m]
        sim = sim.masked_fill(s["row_genes"][None, :] == query[:, None], float("-inf"))
        weights = torch.nan_to_num(torch.softmax(sim, dim=-1))  # a lone TF has no neighbours: 0
        if block:
            return (weights @ s["adjacency"][:-1][:, genes])[tf_row, gene_col]
        return (weights * s["adjacency"][:-1, gene_idx].T).sum(-1)


def unit_rows(features: torch.Tensor) -> torch.Tensor:
    """Centre each row and scale it to unit length: ``unit_rows(x) @ unit_rows(x).T`` is the
    Pearson correlation of the rows (zero rows stay zero). [n, d] -> [n, d]."""
    centred = features - features.mean(dim=1, keepdim=True)
    return centred / centred.norm(dim=1, keepdim=True).clamp(min=1e-8)


FLOOR_KINDS = ("degree", "edge_prior")


class FloorOffset(nn.Module):
    """A floor's logit as a fixed per-pair offset, so a model adds only a learned residual.

    ``kind="degree"``: a 2-feature logistic regression of the training labels on the
    leave-one-out log degrees (:func:`grnlib.models.floors.degree_logit`). ``kind="edge_prior"``:
    the XSwap edge prior (:class:`grnlib.models.floors.EdgePrior`) minus each TF's base-rate
    offset (which puts it on the training table's scale: the prior is a population probability)
    and Platt-scaled (slope and intercept fitted on the training pairs), so it starts near the
    training loss minimum too. Both are fitted in :meth:`fit` from the training table only; the
    numbers are buffers, so a saved model carries them (they resize on load).
    """

    def __init__(self, kind: str, n_genes: int):
        super().__init__()
        if kind not in FLOOR_KINDS:
            raise ValueError(f"residual_floor={kind!r} is not one of {FLOOR_KINDS} (or None)")
        self.kind = kind
        self.register_buffer("coef", torch.zeros(3, dtype=torch.float64))           # degree: w_out, w_in, b
        self.register_buffer("out_axis", torch.zeros(1, dtype=torch.float64))       # edge prior grid axes
        self.register_buffer("in_axis", torch.zeros(1, dtype=torch.float64))
        self.register_buffer("grid", torch.zeros(1, 1, dtype=torch.float64))
        self.register_buffer("tf_offset", torch.zeros(int(n_genes), dtype=torch.float64))
        self._register_load_state_dict_pre_hook(self._resize)

    def _resize(self, state_dict, prefix, *args):
        for name in ("coef", "out_axis", "in_axis", "grid", "tf_offset"):
            saved = state_dict.get(prefix + name)
            if saved is not None and saved.shape != getattr(self, name).shape:
                setattr(self, name, torch.zeros_like(saved))

    def fit(self, ds, train_pairs, hide: str = "edge") -> None:
        """Fit the floor on the training table (``hide="tf"``: as if every TF were unseen)."""
        from grnlib.models.floors import EdgePrior, base_rate_offsets, degree_logit

        n_genes, hide_tf = int(self.tf_offset.numel()), hide == "tf"
        if self.kind == "degree":
            self.coef = torch.as_tensor(degree_logit(train_pairs, n_genes, hide_tf=hide_tf), dtype=torch.float64)
            return
        candidates = np.asarray(getattr(ds, "tf_ids", []), dtype=np.int64) if ds is not None else None
        prior = EdgePrior.fit(train_pairs, n_genes, candidate_tfs=candidates)
        self.out_axis = torch.as_tensor(np.log1p(prior.out_values))
        self.in_axis = torch.as_tensor(np.log1p(prior.in_values))
        self.grid = torch.as_tensor(prior.grid_logit)
        offsets = np.zeros(n_genes) if hide_tf else base_rate_offsets(train_pairs, n_genes).offsets
        self.tf_offset = torch.as_tensor(offsets, dtype=torch.float64)
        z = prior.score(train_pairs, train_pairs, n_genes, leave_one_out=True, hide_tf=hide_tf)
        z = z - offsets[train_pairs["tf"].to_numpy()]
        self.coef = torch.as_tensor(_platt(z, train_pairs["label"].to_numpy()), dtype=torch.float64)

    def forward(self, log_degrees: torch.Tensor, tf_idx: torch.Tensor) -> torch.Tensor:
        """log_degrees: [B, 2] leave-one-out log(1 + out-degree), log(1 + in-degree) of each pair
        (as :meth:`TrainingGraph.pair_evidence` gives them); tf_idx [B] -> offset logits [B]."""
        x = log_degrees.double()
        if self.kind == "degree":
            out = x[:, 0] * self.coef[0] + x[:, 1] * self.coef[1] + self.coef[2]
        else:
            z = _bilinear(self.out_axis, self.in_axis, self.grid, x[:, 0], x[:, 1]) - self.tf_offset[tf_idx]
            out = self.coef[0] * z + self.coef[1]
        return out.to(log_degrees.dtype)


def _platt(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(slope, intercept) of a logistic regression of ``y`` on the score ``z``."""
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(y)) < 2 or np.ptp(z) == 0:
        rate = (y.sum() + 0.5) / (len(y) + 1.0)
        return np.array([0.0 if np.ptp(z) == 0 else 1.0, float(np.log(rate / (1 - rate)))])
    fit = LogisticRegression(C=100.0, max_iter=1000).fit(z[:, None], y)
    return np.array([float(fit.coef_.ravel()[0]), float(fit.intercept_[0])])


def _bilinear(x_axis: torch.Tensor, y_axis: torch.Tensor, grid: torch.Tensor, x: torch.Tensor,
              y: torch.Tensor) -> torch.Tensor:
    """Torch twin of :func:`grnlib.models.floors.bilinear` (axes in log1p-degree units)."""
    def locate(axis, v):
        if axis.numel() == 1:
            zeros = torch.zeros_like(v, dtype=torch.long)
            return zeros, torch.zeros_like(v), 0
        k = (torch.searchsorted(axis, v.contiguous(), right=True) - 1).clamp(0, axis.numel() - 2)
        return k, (v - axis[k]) / (axis[k + 1] - axis[k]), 1

    i, tx, dx = locate(x_axis, x)
    j, ty, dy = locate(y_axis, y)
    g00, g10, g01, g11 = grid[i, j], grid[i + dx, j], grid[i, j + dy], grid[i + dx, j + dy]
    return (1 - tx) * ((1 - ty) * g00 + ty * g01) + tx * ((1 - ty) * g10 + ty * g11)


class EvidenceTable(nn.Module):
    """Label-free TF x gene evidence from expression (:mod:`grnlib.models.evidence`) as a buffer
    ``table [m + 1, n_genes, k]`` over the dataset's m TFs (row m, all zeros, for any other gene
    as a TF), with the columns of ``groups`` in :data:`EVIDENCE_GROUPS` order. Filled by
    :meth:`fill` from the training expression; saved with the model (it resizes on load)."""

    def __init__(self, n_genes: int, groups):
        super().__init__()
        self.groups = [g for g in TABLE_GROUPS if g in set(groups)]
        width = sum(len(EVIDENCE_GROUPS[g]) for g in self.groups)
        self.register_buffer("row_of", torch.zeros(int(n_genes), dtype=torch.long))
        self.register_buffer("table", torch.zeros(1, int(n_genes), width))
        self._register_load_state_dict_pre_hook(self._resize)

    def _resize(self, state_dict, prefix, *args):
        saved = state_dict.get(prefix + "table")
        if saved is not None and saved.shape != self.table.shape:
            self.table = torch.zeros_like(saved)

    def fill(self, ds) -> None:
        from grnlib.models.evidence import expression_evidence

        n_genes = self.row_of.numel()
        columns, tf_ids = [], None
        for group in self.groups:
            tf_ids, matrix = expression_evidence(ds, group)
            if group == "partial_correlation":
                columns += [matrix, np.abs(matrix)]
            else:
                columns.append(matrix)
        row_of = np.full(n_genes, tf_ids.size, dtype=np.int64)
        row_of[tf_ids] = np.arange(tf_ids.size)
        table = np.zeros((tf_ids.size + 1, n_genes, len(columns)), dtype=np.float32)
        table[:-1] = np.stack(columns, axis=-1)
        self.row_of = torch.as_tensor(row_of, device=self.row_of.device)
        self.table = torch.as_tensor(table, device=self.table.device)

    def forward(self, tf_idx: torch.Tensor, gene_idx: torch.Tensor) -> torch.Tensor:
        """[B] ids -> [B, k] evidence."""
        return self.table[self.row_of[tf_idx], gene_idx]
