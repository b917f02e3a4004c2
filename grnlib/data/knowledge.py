"""Gene annotations as evidence: GO Biological Process, Pfam domains, JASPAR TF families, real TFs.

The tables come through the download manifest (checksummed; ``../shared/data`` -> user cache -> download):
``knowledge/human/go_bp_all.tsv.gz`` (GO BP propagated to every ancestor), ``knowledge/human/pfam.tsv.gz``,
``knowledge/human/gene_alias.tsv.gz`` and the Lambert 2018 list of human TFs. JASPAR families and classes
are read with :mod:`sqlite3` from ``pyjaspar/data/JASPAR2026.sqlite`` inside the installed ``pyjaspar``
package (the ``[knowledge]`` extra); without it the ``jaspar`` source is refused with the fix. So are the
position frequency matrices of the optional ``motif`` source (:func:`jaspar_motifs`).

The annotations are human. A dataset's symbols are resolved to human symbols by upper-casing (mouse
``Pou5f1`` -> ``POU5F1``, which matches about 90 % of mouse genes) and then through the alias table; the
share resolved is kept as :attr:`Knowledge.match_rate` and a :class:`DataWarning` names it when it is low.

>>> kb = load_knowledge(["POU5F1", "Sox2", "NANOG"], sources=("go",))   # doctest: +SKIP
>>> kb.annotations["go"].matrix.shape                                   # doctest: +SKIP
(3, 12000)
"""
from __future__ import annotations

import functools
import importlib.util
import sqlite3
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from grnlib.data.download import fetch
from grnlib.errors import DataError, DataWarning

#: Annotation sources a user can name (``--knowledge go,pfam,jaspar``); ``auto`` means all of them.
KNOWLEDGE_SOURCES = ("go", "pfam", "jaspar")
#: Sources a user may name but ``auto`` leaves out: ``motif`` (JASPAR PFM similarity between TFs) did not
#: earn its place over the family transfer in the knowledge study (results/knowledge_motif/).
OPTIONAL_SOURCES = ("motif",)
TABLES = {
    "go": "knowledge/human/go_bp_all.tsv.gz",
    "pfam": "knowledge/human/pfam.tsv.gz",
    "alias": "knowledge/human/gene_alias.tsv.gz",
    "go_terms": "knowledge/go_terms.tsv.gz",
}
LAMBERT_TFS = "tf-lists/human_tfs_lambert2018.csv"
JASPAR_RELEASE = "JASPAR2026.sqlite"
#: Below this share of resolved symbols a DataWarning says so (mouse by upper-casing reaches ~0.9).
LOW_MATCH_RATE = 0.8


@dataclass
class GeneAnnotations:
    """One annotation source over a dataset's genes.

    Attributes:
        source: "go", "pfam", "jaspar" or "motif" (terms: JASPAR motif ids).
        genes: the dataset's gene symbols, in its order (rows of ``matrix``).
        terms: column names (GO ids, Pfam ids, ``family:...`` / ``class:...``).
        matrix: genes x terms, CSR float64 0/1 (sparse; a gene without annotation is an empty row).
        term_genes: how many genes of the whole human table carry each term (for information content).
        n_annotated: how many genes of the whole human table carry any term of this source.
    """

    source: str
    genes: pd.Index
    terms: pd.Index
    matrix: sp.csr_matrix
    term_genes: np.ndarray
    n_annotated: int

    def information_content(self, max_fraction: float = 0.05) -> np.ndarray:
        """Per-term weight ``-log(term genes / annotated genes)``, 0 for terms on more than
        ``max_fraction`` of the annotated genes (very general terms say nothing about a gene)."""
        frequency = self.term_genes / max(1, self.n_annotated)
        ic = -np.log(np.clip(frequency, 1e-12, 1.0))
        ic[frequency > max_fraction] = 0.0
        return ic

    @property
    def annotated(self) -> np.ndarray:
        """bool [genes]: the gene has at least one term."""
        return np.diff(self.matrix.indptr) > 0

    def shuffled(self, seed: int) -> "GeneAnnotations":
        """The shuffled-annotation control: the same rows given to a random permutation of the genes."""
        order = np.random.default_rng(seed).permutation(self.matrix.shape[0])
        return GeneAnnotations(self.source, self.genes, self.terms, self.matrix[order].tocsr(),
                               self.term_genes, self.n_annotated)


@dataclass
class Knowledge:
    """Everything annotation knowledge says about one dataset's genes.

    Attributes:
        genes: the dataset's symbols.
        human_symbols: the resolved human symbol of each gene ("" when unresolved).
        annotations: {source: GeneAnnotations} for the sources asked for.
        is_real_tf: bool [genes], on the Lambert 2018 list of human TFs.
        match_rate: share of genes resolved to a human symbol.
    """

    genes: pd.Index
    human_symbols: np.ndarray
    annotations: dict = field(default_factory=dict)
    is_real_tf: np.ndarray | None = None
    match_rate: float = 0.0

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(self.annotations)

    def shuffled(self, seed: int, sources=None) -> "Knowledge":
        """Every source's annotations (only ``sources``' when given) permuted across genes (one permutation
        per source)."""
        return Knowledge(self.genes, self.human_symbols,
                         {name: a.shuffled(seed + i) if sources is None or name in sources else a
                          for i, (name, a) in enumerate(self.annotations.items())},
                         self.is_real_tf, self.match_rate)


def parse_sources(value) -> tuple[str, ...]:
    """``"go,pfam"`` / ``["go"]`` / ``"auto"`` / ``"all"`` -> a tuple of :data:`KNOWLEDGE_SOURCES`
    (``"none"``, ``""`` and ``None`` -> empty)."""
    if value is None or value is False:
        return ()
    names = [v.strip().lower() for v in (value.split(",") if isinstance(value, str) else value) if v.strip()]
    if names in (["auto"], ["all"]) or value is True:
        return KNOWLEDGE_SOURCES
    if names in ([], ["none"]):
        return ()
    unknown = sorted(set(names) - set(KNOWLEDGE_SOURCES) - set(OPTIONAL_SOURCES))
    if unknown:
        raise ValueError(f"unknown knowledge source(s) {unknown}; choose from "
                         f"{list(KNOWLEDGE_SOURCES + OPTIONAL_SOURCES)}, "
                         f"'auto' or 'none'")
    return tuple(dict.fromkeys(names))


def _read_tsv(relpath: str, root) -> pd.DataFrame:
    path = fetch(relpath, root)
    try:
        return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, ValueError) as err:
        raise DataError(path, f"cannot read the annotation table ({err})",
                        "re-fetch it (`grnlib fetch " + relpath + "`)") from err


@functools.lru_cache(maxsize=8)
def _table(name: str, root) -> pd.DataFrame:
    table = _read_tsv(TABLES[name], root)
    expected = {"go": ("symbol", "go_id"), "pfam": ("symbol", "pfam_id"), "alias": ("alias", "symbol"),
                "go_terms": ("go_id", "term")}[name]
    missing = [c for c in expected if c not in table.columns]
    if missing:
        raise DataError(fetch(TABLES[name], root), f"missing column(s) {missing}",
                        "use the grnlib knowledge tables (see the data README, knowledge/)")
    return table


@functools.lru_cache(maxsize=2)
def real_tf_symbols(root=None) -> frozenset:
    """The Lambert 2018 human TFs (one symbol a line, no header)."""
    path = fetch(LAMBERT_TFS, root)
    symbols = pd.read_csv(path, header=None, dtype=str)[0].str.strip().str.upper()
    return frozenset(symbols[symbols != ""])


def jaspar_path() -> Path:
    """``JASPAR2026.sqlite`` inside the installed ``pyjaspar`` package."""
    spec = importlib.util.find_spec("pyjaspar")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("pyjaspar", "the JASPAR knowledge source needs the pyjaspar package",
                        "pip install 'grnlib[knowledge]' (or drop 'jaspar' from --knowledge)")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / JASPAR_RELEASE
    if not path.is_file():
        raise DataError(path, f"pyjaspar ships no {JASPAR_RELEASE}", "pip install 'pyjaspar>=4.0'")
    return path


@functools.lru_cache(maxsize=1)
def jaspar_families() -> pd.DataFrame:
    """``symbol, family, class`` of every vertebrate CORE JASPAR profile; a dimer ``MAX::MYC`` gives
    one row per partner. Symbols upper-cased (mouse and human profiles share one spelling)."""
    query = """
        SELECT m.NAME AS name, a.TAG AS tag, a.VAL AS val FROM MATRIX m
        JOIN MATRIX_ANNOTATION a ON a.ID = m.ID
        WHERE m.COLLECTION = 'CORE' AND a.TAG IN ('family', 'class') AND m.ID IN
            (SELECT ID FROM MATRIX_ANNOTATION WHERE TAG = 'tax_group' AND VAL = 'vertebrates')"""
    path = jaspar_path()
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        rows = pd.read_sql_query(query, connection)
    rows["symbol"] = rows["name"].str.upper().str.split("::")
    rows = rows.explode("symbol")
    rows["val"] = rows["val"].str.strip()
    rows = rows[rows["val"] != ""]
    return (rows[["symbol", "tag", "val"]].drop_duplicates()
            .rename(columns={"tag": "kind", "val": "name"}).reset_index(drop=True))


@functools.lru_cache(maxsize=1)
def jaspar_motifs() -> tuple[pd.DataFrame, dict]:
    """The vertebrate CORE JASPAR profiles (latest version of each): a ``symbol, motif`` table (a dimer
    ``MAX::MYC`` gives one row per partner; symbols upper-cased) and {motif id: counts [columns, 4] (A, C, G, T)}."""
    query = """
        SELECT m.ID AS id, m.BASE_ID || '.' || m.VERSION AS motif, m.NAME AS name, m.BASE_ID AS base,
               m.VERSION AS version FROM MATRIX m
        WHERE m.COLLECTION = 'CORE' AND m.ID IN
            (SELECT ID FROM MATRIX_ANNOTATION WHERE TAG = 'tax_group' AND VAL = 'vertebrates')"""
    with sqlite3.connect(f"file:{jaspar_path()}?mode=ro", uri=True) as connection:
        motifs = pd.read_sql_query(query, connection)
        motifs = motifs.sort_values("version").groupby("base").tail(1)  # older versions are superseded
        counts = pd.read_sql_query(f"SELECT ID AS id, row, col, val FROM MATRIX_DATA WHERE ID IN "
                                   f"({','.join(map(str, motifs['id']))})", connection)
    wide = counts.pivot_table(index=["id", "col"], columns="row", values="val").reindex(columns=list("ACGT"))
    name_of = motifs.set_index("id")["motif"]
    pfms = {name_of[i]: block.sort_index(level="col").to_numpy(np.float64).reshape(-1, 4)
            for i, block in wide.groupby(level="id")}
    table = motifs.assign(symbol=motifs["name"].str.upper().str.split("::")).explode("symbol")
    return table[["symbol", "motif"]].drop_duplicates().reset_index(drop=True), pfms


def resolve_symbols(genes, root=None) -> tuple[np.ndarray, float]:
    """Human symbol of each gene: the upper-cased symbol when it is a known human gene, else the gene
    an alias names, when it names one gene, or one annotated gene (``OCT4`` -> POU5F1, not its
    pseudogenes); other ambiguous aliases stay unresolved.

    Returns:
        (object array of symbols, "" where unresolved; share resolved).
    """
    alias = _table("alias", root)
    annotated = set(_table("go", root)["symbol"].str.upper()) | set(_table("pfam", root)["symbol"].str.upper())
    known = set(alias["symbol"].str.upper()) | annotated | real_tf_symbols(root)
    upper = pd.Series(pd.Index(genes).astype(str), dtype=object).str.strip().str.upper()
    candidates = pd.DataFrame({"alias": alias["alias"].str.upper(), "symbol": alias["symbol"].str.upper()})
    candidates = candidates.drop_duplicates()
    candidates = candidates.assign(annotated=candidates["symbol"].isin(annotated))
    n_all = candidates.groupby("alias")["symbol"].transform("size")
    n_annotated = candidates.groupby("alias")["annotated"].transform("sum")
    chosen = candidates[(n_all == 1) | (candidates["annotated"] & (n_annotated == 1))]
    unique = chosen.set_index("alias")["symbol"]
    resolved = np.where(upper.isin(known), upper, upper.map(unique).fillna(""))
    resolved = np.asarray(resolved, dtype=object)
    rate = float(np.mean(resolved != "")) if len(resolved) else 0.0
    return resolved, rate


def _matrix(source: str, symbols: np.ndarray, long: pd.DataFrame, term_column: str,
            genes: pd.Index) -> GeneAnnotations:
    """genes x terms 0/1 from a long ``symbol, term`` table; term counts over the whole table."""
    long = long[["symbol", term_column]].drop_duplicates()
    term_genes = long[term_column].value_counts()
    terms = pd.Index(term_genes.index)
    row_of = pd.Series(np.arange(len(symbols)), index=symbols)
    row_of = row_of[row_of.index != ""]
    hits = long[long["symbol"].isin(row_of.index)]
    # A symbol may stand for several dataset genes (two aliases of one gene): each gets the rows.
    joined = hits.merge(row_of.rename("row"), left_on="symbol", right_index=True)
    matrix = sp.csr_matrix((np.ones(len(joined)), (joined["row"].to_numpy(), terms.get_indexer(joined[term_column]))),
                           shape=(len(symbols), len(terms)))
    matrix.data[:] = 1.0
    return GeneAnnotations(source, genes, terms, matrix, term_genes.to_numpy(np.float64),
                           int(long["symbol"].nunique()))


def annotation_matrix(source: str, genes, human_symbols: np.ndarray, root=None) -> GeneAnnotations:
    """The :class:`GeneAnnotations` of one source over ``genes`` (resolved to ``human_symbols``)."""
    genes = pd.Index(genes)
    if source == "go":
        table = _table("go", root)
        long = pd.DataFrame({"symbol": table["symbol"].str.upper(), "term": table["go_id"]})
    elif source == "pfam":
        table = _table("pfam", root)
        long = pd.DataFrame({"symbol": table["symbol"].str.upper(), "term": table["pfam_id"]})
    elif source == "jaspar":
        table = jaspar_families()
        long = pd.DataFrame({"symbol": table["symbol"], "term": table["kind"] + ":" + table["name"]})
    elif source == "motif":  # terms are JASPAR motif ids; models.knowledge compares their matrices
        long = jaspar_motifs()[0].rename(columns={"motif": "term"})
    else:
        raise ValueError(f"unknown knowledge source {source!r}; choose from "
                         f"{list(KNOWLEDGE_SOURCES + OPTIONAL_SOURCES)}")
    return _matrix(source, human_symbols, long, "term", genes)


def load_knowledge(genes, sources=KNOWLEDGE_SOURCES, root=None, warn: bool = True) -> Knowledge:
    """Annotations of ``genes`` from ``sources`` (see :func:`parse_sources`), with the real-TF flag.

    A :class:`DataWarning` reports a match rate below :data:`LOW_MATCH_RATE` (e.g. a species other
    than human or mouse, or symbols that are Ensembl ids).
    """
    genes = pd.Index(pd.Index(genes).astype(str))
    sources = parse_sources(sources)
    root = None if root is None else str(root)
    human, rate = resolve_symbols(genes, root)
    if warn and rate < LOW_MATCH_RATE:
        warnings.warn(f"knowledge: only {rate:.0%} of {len(genes)} genes match a human symbol (by upper-casing "
                      f"and aliases); annotation evidence covers only those", DataWarning, stacklevel=2)
    real = np.isin(human, list(real_tf_symbols(root)))
    annotations = {source: annotation_matrix(source, genes, human, root) for source in sources}
    return Knowledge(genes, human, annotations, real, rate)


def go_term_names(root=None) -> pd.Series:
    """GO id -> term name (for explaining which shared terms support an edge)."""
    table = _table("go_terms", root)
    return table.set_index("go_id")["term"]
