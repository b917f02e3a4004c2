"""Knowledge evidence for TF -> target pairs, from training edges and gene annotations only.

For a pair (t, g), with every count over the *training* positives:

- ``degree``: ``log1p(in-degree of g)`` (or counted over real TFs' edges only, ``real_only``);
- ``function``: the IC-weighted cosine of the GO rows of t and g (propagated annotations, very general
  terms dropped): genes in t's processes are likelier targets;
- ``transfer``: t borrows the training targets of its most similar training TFs, ``sum_s S(t, s) y(s, g) /
  sum_s S(t, s)`` over the ``k`` nearest, where S averages the TF-TF similarities of the sources
  (GO IC-weighted cosine, Pfam DNA-binding-domain cosine, JASPAR family/class); t itself never counts.

The score is ``log1p(out-degree of t) + degree * (1 + lambda * function) + mu * transfer``; ``lambda``,
``mu`` and ``real_only`` are chosen on an inner split of the training TFs (a fifth of them held out,
their own edges removed from what the rest transfer), maximising their mean per-TF AUROC.
``blind=True`` is the TF-identity-blind control: every TF gets the average similarity row, so the
transfer knows which TFs are generally similar to others, but not which are similar to t.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch

from grnlib.data.knowledge import KNOWLEDGE_SOURCES, GeneAnnotations, Knowledge, jaspar_motifs, parse_sources
from grnlib.models.context import EVIDENCE_GROUPS

LAMBDAS = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
MUS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
#: A Pfam domain counts as DNA-binding-domain-like when at least this share of the human genes carrying
#: it are real TFs (Lambert list), and at least ``DBD_MIN_TFS`` of them.
DBD_TF_SHARE = 0.5
DBD_MIN_TFS = 3
JASPAR_CLASS_WEIGHT = 0.5
#: Motif similarity (the optional ``motif`` source): the best ungapped alignment, either strand, of two JASPAR
#: matrices by the mean column-wise Pearson correlation of their base probabilities, over at least
#: ``MOTIF_MIN_OVERLAP`` columns (fewer only for a shorter motif).
MOTIF_MIN_OVERLAP = 5
#: Per base; Pearson is blind to it (an affine map of the counts), it only keeps a column of zeros defined.
MOTIF_PSEUDOCOUNT = 0.25
#: A TF-TF motif similarity is rescaled to ``(s - floor) / (1 - floor)``, clipped at 0: the best of many
#: alignments of two unrelated motifs is far from 0. Over the JASPAR 2026 vertebrate motifs of TFs of different
#: structural classes the similarity has median 0.41 and 75th percentile 0.51 (same family: 0.50, 0.68).
MOTIF_FLOOR = 0.5


def weighted_rows(annotations: GeneAnnotations, max_fraction: float = 0.05) -> sp.csr_matrix:
    """Rows scaled by each term's information content, then to unit length (zero rows stay zero)."""
    x = annotations.matrix @ sp.diags(annotations.information_content(max_fraction))
    x = sp.csr_matrix(x)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sp.csr_matrix(sp.diags(scale) @ x)


def cosine(rows_a: sp.csr_matrix, rows_b: sp.csr_matrix) -> np.ndarray:
    """Dense [a, b] cosine of unit-length sparse rows."""
    return np.asarray((rows_a @ rows_b.T).todense())


def jaccard(matrix: sp.csr_matrix, rows_a: np.ndarray, rows_b: np.ndarray) -> np.ndarray:
    """Jaccard index of the 0/1 term sets of genes ``rows_a`` x ``rows_b`` (0 where both are empty)."""
    a = (matrix[rows_a] > 0).astype(np.float64)
    b = (matrix[rows_b] > 0).astype(np.float64)
    inter = np.asarray((a @ b.T).todense())
    size_a = np.asarray(a.sum(axis=1)).ravel()[:, None]
    size_b = np.asarray(b.sum(axis=1)).ravel()[None, :]
    union = size_a + size_b - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def tf_similarity(knowledge: Knowledge, tfs: np.ndarray, others: np.ndarray) -> dict[str, np.ndarray]:
    """{source: [len(tfs), len(others)] similarity} of TF ``tfs`` to TF ``others`` (gene ids)."""
    out = {}
    for name, annotations in knowledge.annotations.items():
        if name == "go":
            rows = weighted_rows(annotations)
            out[name] = cosine(rows[tfs], rows[others])
        elif name == "pfam":
            keep = _dbd_terms(knowledge, annotations)
            masked = GeneAnnotations(name, annotations.genes, annotations.terms[keep],
                                     annotations.matrix[:, np.flatnonzero(keep)].tocsr(),
                                     annotations.term_genes[keep], annotations.n_annotated)
            out[name] = jaccard(masked.matrix, tfs, others)
        elif name == "motif":
            out[name] = motif_tf_similarity(annotations, tfs, others)
        elif name == "jaspar":  # same family: 1; same class only: JASPAR_CLASS_WEIGHT
            family = np.flatnonzero(annotations.terms.str.startswith("family:"))
            klass = np.flatnonzero(annotations.terms.str.startswith("class:"))
            out[name] = np.maximum(jaccard(annotations.matrix[:, family], tfs, others),
                                   JASPAR_CLASS_WEIGHT * jaccard(annotations.matrix[:, klass], tfs, others))
    return out


def motif_columns(pfm, pseudocount: float = MOTIF_PSEUDOCOUNT) -> np.ndarray:
    """Counts [columns, 4] -> each column's base probabilities standardised over the 4 bases (a flat column
    is all 0), so the Pearson correlation of two columns is the mean of their products."""
    counts = np.asarray(pfm, dtype=np.float64)
    probabilities = (counts + pseudocount) / (counts.sum(axis=1, keepdims=True) + 4 * pseudocount)
    centred = probabilities - probabilities.mean(axis=1, keepdims=True)
    sd = np.sqrt((centred ** 2).mean(axis=1, keepdims=True))
    return np.divide(centred, sd, out=np.zeros_like(centred), where=sd > 1e-12)


def motif_similarity(pfms_a, pfms_b=None, min_overlap: int = MOTIF_MIN_OVERLAP) -> np.ndarray:
    """[len(pfms_a), len(pfms_b)] (``pfms_b`` defaults to ``pfms_a``): for two count matrices ([columns, 4],
    bases A, C, G, T), the best mean column-wise Pearson correlation over the ungapped alignments of a with b or
    with b's reverse complement that overlap by at least ``min_overlap`` columns (or the shorter motif's length)."""
    pfms_b = pfms_a if pfms_b is None else pfms_b
    columns_b = [motif_columns(m) for m in pfms_b]
    lengths_b = np.array([len(c) for c in columns_b])
    width = int(lengths_b.max())
    strands = np.zeros((2, len(columns_b), width, 4))  # zero-padded: padding adds nothing to a sum
    for j, z in enumerate(columns_b):
        strands[0, j, :len(z)] = z
        strands[1, j, :len(z)] = z[::-1, ::-1]  # reverse complement: columns reversed, A<->T and C<->G
    best = np.full((len(pfms_a), len(columns_b)), -1.0)
    for i, pfm in enumerate(pfms_a):
        za = motif_columns(pfm)
        length = len(za)
        pearson = np.einsum("ik,sbjk->sbij", za, strands) / 4.0  # [strand, b, column of a, column of b]
        need = np.minimum(min_overlap, np.minimum(length, lengths_b))
        for shift in range(1 - length, width):  # column c of a faces column c + shift of b
            overlap = np.minimum(length, lengths_b - shift) - max(0, -shift)
            ok = overlap >= need
            if ok.any():
                total = np.diagonal(pearson, offset=shift, axis1=2, axis2=3).sum(axis=-1)  # [strand, b]
                best[i] = np.maximum(best[i], np.where(ok, total / np.maximum(overlap, 1), -1.0).max(axis=0))
    return best


_MOTIF_GENES: dict = {}


def gene_motif_similarity(annotations: GeneAnnotations, pfms: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The genes that have a motif and their [genes, genes] motif similarity: the best :func:`motif_similarity`
    over their motif pairs, rescaled above :data:`MOTIF_FLOOR`. ``pfms``: {motif id: counts}, default JASPAR's
    (then memoised by the annotation rows, so the shuffled control gets its own)."""
    matrix = sp.csr_matrix(annotations.matrix)
    key = (tuple(annotations.terms), matrix.indptr.tobytes(), matrix.indices.tobytes()) if pfms is None else None
    if key in _MOTIF_GENES:
        return _MOTIF_GENES[key]
    genes = np.flatnonzero(np.diff(matrix.indptr) > 0)
    used = np.unique(matrix.indices)
    pfms = jaspar_motifs()[1] if pfms is None else pfms
    motifs = motif_similarity([pfms[t] for t in annotations.terms[used]]) if used.size else np.zeros((0, 0))
    own = matrix[genes][:, used].tocsr()  # each gene's motifs, as columns of ``motifs``
    of_gene = [own.indices[own.indptr[g]:own.indptr[g + 1]] for g in range(genes.size)]
    to_gene = np.stack([motifs[:, m].max(axis=1) for m in of_gene], axis=1) if genes.size else motifs
    similarity = np.stack([to_gene[m].max(axis=0) for m in of_gene]) if genes.size else motifs
    similarity = np.clip((similarity - MOTIF_FLOOR) / (1.0 - MOTIF_FLOOR), 0.0, 1.0)
    if key is not None:
        if len(_MOTIF_GENES) >= 8:
            _MOTIF_GENES.pop(next(iter(_MOTIF_GENES)))
        _MOTIF_GENES[key] = (genes, similarity)
    return genes, similarity


def motif_tf_similarity(annotations: GeneAnnotations, tfs, others, pfms: dict | None = None) -> np.ndarray:
    """[len(tfs), len(others)] motif similarity of TF ``tfs`` to TF ``others`` (gene ids); 0 where either has
    no motif (see :func:`gene_motif_similarity`)."""
    genes, similarity = gene_motif_similarity(annotations, pfms)
    position = np.full(annotations.matrix.shape[0], -1)
    position[genes] = np.arange(genes.size)
    rows, columns = position[np.asarray(tfs, dtype=np.int64)], position[np.asarray(others, dtype=np.int64)]
    out = np.zeros((rows.size, columns.size))
    have_rows, have_columns = np.flatnonzero(rows >= 0), np.flatnonzero(columns >= 0)
    out[np.ix_(have_rows, have_columns)] = similarity[np.ix_(rows[have_rows], columns[have_columns])]
    return out


def _dbd_terms(knowledge: Knowledge, pfam: GeneAnnotations) -> np.ndarray:
    """DNA-binding-like Pfam domains, judged on the dataset's genes with the real-TF flag."""
    real = knowledge.is_real_tf if knowledge.is_real_tf is not None else np.zeros(pfam.matrix.shape[0], bool)
    on_real = np.asarray(pfam.matrix[np.flatnonzero(real)].sum(axis=0)).ravel()
    on_all = np.asarray(pfam.matrix.sum(axis=0)).ravel()
    return (on_real >= DBD_MIN_TFS) & (on_real >= DBD_TF_SHARE * np.maximum(on_all, 1))


def function_similarity(knowledge: Knowledge, tfs: np.ndarray) -> np.ndarray:
    """[len(tfs), genes] IC-weighted GO cosine of each TF with every gene (zeros without GO)."""
    n_genes = len(knowledge.genes)
    if "go" not in knowledge.annotations:
        return np.zeros((len(tfs), n_genes))
    rows = weighted_rows(knowledge.annotations["go"])
    return cosine(rows[tfs], rows)


@dataclass
class KnowledgeScorer:
    """Knowledge evidence fitted on training positives; see the module docstring.

    Attributes:
        knowledge: annotations of the dataset's genes (:func:`grnlib.data.knowledge.load_knowledge`).
        k: neighbours a TF borrows targets from.
        blind: the TF-identity-blind control.
        lam, mu, real_only: the combination, chosen by :meth:`fit` (or given).
    """

    knowledge: Knowledge
    k: int = 25
    blind: bool = False
    lam: float | None = None
    mu: float | None = None
    real_only: bool | None = None
    edges: np.ndarray = field(default=None, repr=False)
    inner: dict = field(default_factory=dict, repr=False)

    @property
    def n_genes(self) -> int:
        return len(self.knowledge.genes)

    def fit(self, edges: np.ndarray, seed: int = 0, inner_fraction: float = 0.2, repeats: int = 2
            ) -> "KnowledgeScorer":
        """Keep the training positives ``edges`` [n, 2] (tf, target) and choose lambda, mu and
        real_only on inner splits of their TFs (unless all three were given)."""
        self.edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        if None in (self.lam, self.mu, self.real_only):
            self._choose(seed, inner_fraction, repeats)
        return self

    def _choose(self, seed, inner_fraction, repeats) -> None:
        tfs = np.unique(self.edges[:, 0])
        grid = list(itertools.product((False, True), LAMBDAS, MUS))
        totals = np.zeros(len(grid))
        for repeat in range(repeats):
            rng = np.random.default_rng([seed, repeat, 19])
            n_inner = max(1, int(round(inner_fraction * tfs.size))) if tfs.size > 2 else 0
            if n_inner == 0:
                break
            inner = np.sort(rng.choice(tfs, size=n_inner, replace=False))
            kept = self.edges[~np.isin(self.edges[:, 0], inner)]
            parts = self._components(kept, inner)
            labels = np.zeros((inner.size, self.n_genes), dtype=bool)
            held = self.edges[np.isin(self.edges[:, 0], inner)]
            labels[_row_of(inner, held[:, 0]), held[:, 1]] = True
            valid = np.ones_like(labels)
            valid[np.arange(inner.size), inner] = False  # a TF is not its own target
            for i, (real_only, lam, mu) in enumerate(grid):
                scores = self._combine(parts, real_only, lam, mu)
                totals[i] += _mean_row_auroc(scores, labels, valid)
        best = int(np.argmax(totals)) if totals.any() else 0
        real_only, lam, mu = grid[best] if totals.any() else (False, 0.0, 0.0)
        self.real_only = bool(real_only) if self.real_only is None else self.real_only
        self.lam = float(lam) if self.lam is None else self.lam
        self.mu = float(mu) if self.mu is None else self.mu
        self.inner = {"grid": grid, "mean_per_tf_auroc": totals / max(1, repeats)}

    def _components(self, edges: np.ndarray, tfs: np.ndarray) -> dict:
        """Every component for TFs ``tfs`` x all genes, from ``edges`` only (each TF's own row excluded)."""
        n = self.n_genes
        real = self.knowledge.is_real_tf
        real = np.zeros(n, bool) if real is None else real
        parts = {}
        for real_only in (False, True):
            use = edges[real[edges[:, 0]]] if real_only else edges
            in_degree = np.bincount(use[:, 1], minlength=n)
            parts[("degree", real_only)] = np.log1p(in_degree)[None, :]
            parts[("transfer", real_only)] = self._transfer(use, tfs)
        out_degree = np.bincount(edges[:, 0], minlength=n)
        parts["out"] = np.log1p(out_degree[tfs])[:, None]
        parts["function"] = function_similarity(self.knowledge, tfs)
        return parts

    def similarity(self, tfs: np.ndarray, sources: np.ndarray) -> np.ndarray:
        """[len(tfs), len(sources)] TF-TF similarity averaged over the annotation sources
        (a source that knows nothing of a TF does not dilute the others)."""
        per_source = tf_similarity(self.knowledge, tfs, sources)
        if not per_source:
            return np.zeros((len(tfs), len(sources)))
        stack = np.stack(list(per_source.values()))
        known = np.stack([np.broadcast_to(m.any(axis=1, keepdims=True), m.shape) for m in per_source.values()])
        similarity = stack.sum(axis=0) / np.maximum(known.sum(axis=0), 1)
        similarity[np.asarray(tfs)[:, None] == np.asarray(sources)[None, :]] = 0.0  # never from itself
        if self.blind:
            similarity = np.broadcast_to(similarity.mean(axis=0, keepdims=True), similarity.shape).copy()
            similarity[np.asarray(tfs)[:, None] == np.asarray(sources)[None, :]] = 0.0
        return similarity

    def _transfer(self, edges: np.ndarray, tfs: np.ndarray) -> np.ndarray:
        """[len(tfs), genes]: similarity-weighted share of the k nearest source TFs targeting each gene."""
        sources = np.unique(edges[:, 0])
        out = np.zeros((len(tfs), self.n_genes))
        if sources.size == 0 or len(tfs) == 0:
            return out
        similarity = self.similarity(np.asarray(tfs), sources)
        if sources.size > self.k:  # keep each TF's k nearest
            cut = np.partition(similarity, -self.k, axis=1)[:, -self.k][:, None]
            similarity = np.where(similarity >= cut, similarity, 0.0)
        targets = sp.csr_matrix((np.ones(len(edges)), (_row_of(sources, edges[:, 0]), edges[:, 1])),
                                shape=(sources.size, self.n_genes))
        targets.data[:] = 1.0
        weight = similarity.sum(axis=1, keepdims=True)
        return np.divide(np.asarray((sp.csr_matrix(similarity) @ targets).todense()), weight,
                         out=np.zeros_like(out), where=weight > 0)

    @staticmethod
    def _combine(parts: dict, real_only: bool, lam: float, mu: float) -> np.ndarray:
        return (parts["out"] + parts[("degree", real_only)] * (1.0 + lam * parts["function"])
                + mu * parts[("transfer", real_only)])

    def score_matrix(self, tfs) -> tuple[np.ndarray, dict]:
        """[len(tfs), genes] scores of TFs ``tfs`` against every gene, and the components."""
        if self.edges is None:
            raise RuntimeError("KnowledgeScorer.fit must run before scoring")
        tfs = np.asarray(tfs, dtype=np.int64)
        parts = self._components(self.edges, tfs)
        return self._combine(parts, self.real_only, self.lam, self.mu), parts

    def score(self, tf: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Scores of the pairs (tf[i], target[i])."""
        tf = np.asarray(tf, dtype=np.int64)
        unique, row = np.unique(tf, return_inverse=True)
        matrix, _ = self.score_matrix(unique)
        return matrix[row.ravel(), np.asarray(target, dtype=np.int64)]


def _row_of(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    return np.searchsorted(sorted_ids, ids)


def _mean_row_auroc(scores: np.ndarray, labels: np.ndarray, valid: np.ndarray) -> float:
    """Mean over rows with positives and negatives of the AUROC of ``scores`` (ties count half)."""
    from scipy.stats import rankdata

    values = []
    for s, y, v in zip(scores, labels, valid):
        s, y = s[v], y[v]
        n_pos = int(y.sum())
        n_neg = y.size - n_pos
        if n_pos == 0 or n_neg == 0:
            continue
        ranks = rankdata(s)
        values.append((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    return float(np.mean(values)) if values else 0.0


# --- knowledge evidence as features of pair_evidence ---------------------------------------------------

#: Evidence columns the ``knowledge`` group adds to :class:`grnlib.models.pair_evidence.PairEvidenceModel`
#: (the same names as ``grnlib.models.context.EVIDENCE_GROUPS["knowledge"]``).
KNOWLEDGE_COLUMNS = EVIDENCE_GROUPS["knowledge"]


def _shuffled(knowledge: Knowledge, seed: int) -> Knowledge:
    return knowledge.shuffled(seed)


def _as_is(knowledge: Knowledge, seed: int) -> Knowledge:
    return knowledge


#: The knowledge a control sees, by name (the identity-blind control changes the transfer, not the annotations).
KNOWLEDGE_CONTROLS = {None: _as_is, "shuffled": _shuffled, "blind": _as_is}
_LOADED: dict = {}


def knowledge_of(genes, sources, root=None) -> Knowledge:
    """:func:`grnlib.data.knowledge.load_knowledge` of ``genes``, memoised by genes, sources and data root
    (a sweep worker trains and scores many runs on one dataset: models and baselines share the one load)."""
    from grnlib.data.knowledge import load_knowledge

    key = (tuple(map(str, genes)), parse_sources(sources), None if root is None else str(root))
    if key not in _LOADED:
        if len(_LOADED) >= 4:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[key] = load_knowledge(list(key[0]), key[1], root=root)
    return _LOADED[key]


def _go_target_sums(knowledge: Knowledge, edges: np.ndarray, tfs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[len(tfs), genes] sum over each TF's training targets h of the GO cosine of h and every gene, and
    [genes] the GO cosine of each gene with itself (1 when annotated), to take a pair's own edge out."""
    n = len(knowledge.genes)
    if "go" not in knowledge.annotations:
        return np.zeros((len(tfs), n)), np.zeros(n)
    rows = weighted_rows(knowledge.annotations["go"])
    adjacency = sp.csr_matrix((np.ones(len(edges)), (np.searchsorted(tfs, edges[:, 0]), edges[:, 1])),
                              shape=(len(tfs), n))
    adjacency.data[:] = 1.0
    # (A W) W^T: never the genes x genes similarity (users' data may have 20,000 genes)
    sums = np.asarray(((adjacency @ rows) @ rows.T).todense())
    return sums, np.asarray(rows.multiply(rows).sum(axis=1)).ravel()


class KnowledgeEvidence(torch.nn.Module):
    """Annotation evidence per pair (:data:`KNOWLEDGE_COLUMNS`), fitted on training positives only.

    For every TF of the dataset (and every TF with a training edge) x every gene, :meth:`fill` stores
    the transfer from the ``k`` most similar *other* training TFs (all of them, and real TFs only; see
    :class:`KnowledgeScorer`), the IC-weighted GO cosine of TF and gene, and the sum of the GO cosine of
    the gene with each of the TF's training targets. A TF never transfers from itself, so the transfer of
    a training TF is what a held-out TF gets. At lookup, :meth:`forward` takes each pair's own edge out
    of the counts (the real-TF in-degree, the target similarity, as :class:`grnlib.models.context.
    TrainingGraph` does); ``hide="tf"`` hides the TF's training targets (target similarity 0).

    ``control``: ``"shuffled"`` permutes every source's annotations across genes (seeded by torch's
    initial seed, which the trainer sets to the run seed), ``"blind"`` makes the transfer TF-identity-blind.
    Everything lives in buffers, so a saved model carries it (they resize on load).
    """

    def __init__(self, n_genes: int, sources=KNOWLEDGE_SOURCES, control: str | None = None, k: int = 25):
        super().__init__()
        if control not in KNOWLEDGE_CONTROLS:
            raise ValueError(f"knowledge_control={control!r} is not one of {list(KNOWLEDGE_CONTROLS)}")
        self.sources, self.control, self.k = parse_sources(sources), control, int(k)
        n = int(n_genes)
        self.register_buffer("row_of", torch.zeros(n, dtype=torch.long))
        self.register_buffer("table", torch.zeros(1, n, 4))     # transfer, transfer_real, go_function, target sum
        self.register_buffer("gene", torch.zeros(n, 4))         # is_real, real in-degree, GO self-similarity, in-degree
        self.register_buffer("tf_out", torch.zeros(1))          # training out-degree per table row
        self._register_load_state_dict_pre_hook(self._resize)

    def _resize(self, state_dict, prefix, *args):
        for name in ("table", "tf_out"):
            saved = state_dict.get(prefix + name)
            if saved is not None and saved.shape != getattr(self, name).shape:
                setattr(self, name, torch.zeros_like(saved))

    def fill(self, ds, edges: np.ndarray) -> None:
        """Compute the tables from ``edges`` (int64 [2, E] training positives) and the annotations of
        ``ds.genes``; nothing else of the dataset is read."""
        if ds is None:
            raise ValueError("the knowledge evidence needs the dataset (its gene symbols): prepare(ds, train_pairs)")
        knowledge = KNOWLEDGE_CONTROLS[self.control](knowledge_of(ds.genes, self.sources), torch.initial_seed() % 2**32)
        edges = np.asarray(edges, dtype=np.int64).reshape(2, -1).T
        n = len(knowledge.genes)
        tfs = np.union1d(np.asarray(getattr(ds, "tf_ids", []), dtype=np.int64), edges[:, 0])
        scorer = KnowledgeScorer(knowledge, k=self.k, blind=self.control == "blind", lam=0.0, mu=0.0,
                                 real_only=False).fit(edges)
        parts = scorer._components(edges, tfs)
        sums, self_similarity = _go_target_sums(knowledge, edges, tfs)
        table = np.zeros((tfs.size + 1, n, 4), dtype=np.float32)  # row tfs.size: any other gene as a TF
        table[:-1] = np.stack([parts[("transfer", False)], parts[("transfer", True)], parts["function"], sums], -1)
        real = np.zeros(n, bool) if knowledge.is_real_tf is None else np.asarray(knowledge.is_real_tf, bool)
        real_in = np.bincount(edges[real[edges[:, 0]], 1], minlength=n)
        all_in = np.bincount(edges[:, 1], minlength=n)
        row_of = np.full(n, tfs.size, dtype=np.int64)
        row_of[tfs] = np.arange(tfs.size)
        tf_out = np.zeros(tfs.size + 1)
        tf_out[:-1] = np.bincount(np.searchsorted(tfs, edges[:, 0]), minlength=tfs.size)
        device = self.table.device
        self.row_of = torch.as_tensor(row_of, device=device)
        self.table = torch.as_tensor(table, device=device)
        self.gene = torch.as_tensor(np.stack([real, real_in, self_similarity, all_in], -1), dtype=torch.float32,
                                    device=device)
        self.tf_out = torch.as_tensor(tf_out, dtype=torch.float32, device=device)

    def forward(self, tf_idx: torch.Tensor, gene_idx: torch.Tensor, own: torch.Tensor, hide: str = "edge"
                ) -> torch.Tensor:
        """[B] ids, ``own`` [B] 1 where the pair is a training positive -> [B, len(KNOWLEDGE_COLUMNS)] evidence."""
        rows = self.row_of[tf_idx]
        looked = self.table[rows, gene_idx]                          # [B, 4]
        tf_real = self.gene[tf_idx, 0]
        real_in = self.gene[gene_idx, 1] - own * tf_real
        if hide == "tf":
            target_similarity = torch.zeros_like(own)
        else:
            others = (self.tf_out[rows] - own).clamp(min=1)
            target_similarity = (looked[:, 3] - own * self.gene[gene_idx, 2]) / others
        # GO similarity times the target's leave-one-out degree: the knowledge score's lambda term, ready-made
        function_degree = looked[:, 2] * torch.log1p((self.gene[gene_idx, 3] - own).clamp(min=0))
        return torch.stack([looked[:, 0], looked[:, 1], looked[:, 2], tf_real, torch.log1p(real_in.clamp(min=0)),
                            target_similarity, function_degree], dim=-1)
