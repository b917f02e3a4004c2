"""Reading a user's files: an expression matrix, prior edges, a TF list, a params file; and matching
them into a :class:`~grnlib.data.GRNDataset` (``grnlib train``, ``grnlib.fit``)."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from grnlib.data import GRNDataset, dataset_from_edges, read_edges, read_expression
from grnlib.errors import DataError, DataWarning
from grnlib.data.edges import ALIASES, SIGN_WORDS, drop_loops_and_duplicates
from grnlib.data.symbols import gene_name_warnings, match_symbols
from grnlib.data.validate import delimiter_for, first_line, plain_suffix, read_table, require_no_missing

MIN_PRIOR_EDGES = 20  # below this a 15 % hold-out has two or three positives: metrics are noise
MIN_CELLS = 3  # with two cells every gene-gene correlation is +-1: expression tells genes apart by nothing
MIN_VARYING_GENES = 2  # one varying gene cannot tell any two other genes apart
# Header words of a TF list file (first line skipped when it is one of these).
TF_LIST_HEADERS = {"tf", "tfs", "gene", "genes", "symbol", "gene_symbol", "source", "regulator", "name"}


# -- messages ------------------------------------------------------------------------------
# read_expression speaks Python (raw_counts=False); on the command line the same advice is a flag.
_CLI_WORDS = (("pass raw_counts=False for log or scaled data", "drop --raw-counts for log-transformed "
               "or scaled data"), ("raw_counts=False", "no --raw-counts"), ("raw_counts=True", "--raw-counts"),
              ("layer='raw'", "--layer raw"), ("genes_as='rows'", "--genes-as rows"),
              ("genes_as='columns'", "--genes-as columns"),
              ("pass one of those layers, or layer=None for X", "pass one of those to --layer, or omit "
               "--layer to read X"), ("drop the layer argument", "omit --layer"), ("layer=", "--layer "),
              ("refit_features=True", "--refit-features"))


def cli_wording(exc: DataError) -> DataError:
    """The same DataError with Python argument names replaced by the command-line flags."""
    problem, fix = exc.problem, exc.fix
    for python, flag in _CLI_WORDS:
        problem, fix = problem.replace(python, flag), fix.replace(python, flag)
    return DataError(exc.path, problem, fix)


def one_line(exc: BaseException, limit: int = 160) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text if len(text) <= limit else text[:limit - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# -- reading inputs ------------------------------------------------------------------------
def read_user_expression(path, genes_as: str = "auto", layer: str | None = None, raw_counts: bool = False,
                         cli: bool = False, out_of_core: bool | None = None, client=None):
    """:func:`grnlib.data.read_expression` (AnnData, cells x genes); with ``cli=True`` error
    messages name command-line flags instead of Python arguments.

    An ``.h5ad`` too large for memory stays on disk: a :class:`grnlib.data.streaming.StreamedExpression`
    read in chunks (:func:`grnlib.data.streaming.choose_out_of_core` decides from its stored values and
    the available memory; ``out_of_core`` True/False forces it; a Dask ``client`` runs its passes).

    Gene names a spreadsheet damaged (``1-Mar``) or that differ only by case (``ARID2``/``Arid2``)
    give a :class:`DataWarning` naming a few: both are kept, but they match other files badly.
    """
    path = input_file(path, "an expression matrix file", "the matrix file")
    try:
        # the raw counts are not kept: training and ranking read only the normalised X
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataWarning)
            adata = None
            if plain_suffix(path) == ".h5ad":
                from grnlib.data.streaming import open_streamed

                adata = open_streamed(path, layer, raw_counts, genes_as, out_of_core=out_of_core, client=client)
            if adata is None:
                adata = read_expression(path, genes_as=genes_as, layer=layer, raw_counts=raw_counts, keep_counts=False)
    except DataError as exc:
        raise (cli_wording(exc) if cli else exc) from None
    finally:
        for warning in caught:  # again, in the caller's words (a flag on the command line)
            message = str(warning.message)
            if cli and issubclass(warning.category, DataWarning):
                message = cli_wording(DataError(None, message, "")).problem
            warnings.warn(message if issubclass(warning.category, DataWarning) else warning.message,
                          warning.category, stacklevel=2)
    for message in gene_name_warnings(adata.var_names, path):
        warnings.warn(message, DataWarning, stacklevel=2)
    return adata


# Files a folder given instead of a file may hold, most likely first (BEELINE names its matrix so).
_LIKELY = ("*xpression*", "*.h5ad", "*.csv*", "*.tsv*", "*.txt*")


def input_file(path, what: str, expected: str) -> Path:
    """``path`` as a file: found as given or under the data root (:func:`grnlib.data.download.data_file`,
    so ``beeline/.../BL--ExpressionData.csv.gz`` works as in the notebooks); a folder is a DataError
    naming a few files in it that look right."""
    from grnlib.data.download import data_file

    found = data_file(path)
    if found.is_dir():
        candidates = list(dict.fromkeys(p.name for pattern in _LIKELY for p in sorted(found.glob(pattern))
                                        if p.is_file()))
        hint = f", e.g. {found / candidates[0]}" if candidates else ""
        raise DataError(found, f"is a folder, not {what}", f"pass {expected} inside it{hint}")
    return found


def check_trainable_expression(adata, path=None) -> None:
    """DataError unless the matrix can train a model: at least :data:`MIN_CELLS` cells and
    :data:`MIN_VARYING_GENES` genes whose values vary across them.

    A 1-cell or constant matrix gives expression features without information (every gene looks
    alike), and training on them ends at chance level with raw numerical warnings; say so first.
    """
    n_cells = adata.n_obs
    if n_cells < MIN_CELLS:
        raise DataError(path, f"expression matrix has {n_cells} cell(s); training needs at least {MIN_CELLS} "
                        "(gene features compare genes across cells)",
                        "supply the matrix with all its cells (if the cells are columns and the genes rows, "
                        "check --genes-as)")
    if getattr(adata, "out_of_core", False):  # statistics of the first pass over the file
        from grnlib.features_ooc import streamed_gene_stats

        varying = streamed_gene_stats(adata)[1] > 1e-12
    else:
        varying = varying_genes(adata.X, adata.var_names, path)
    if int(varying.sum()) < MIN_VARYING_GENES:
        raise DataError(path, f"expression matrix has {int(varying.sum())} of {adata.n_vars} gene(s) whose values "
                        f"vary across its {n_cells} cells (the rest are constant); at least {MIN_VARYING_GENES} "
                        "must vary for the expression to inform a model",
                        "supply measured expression (not a constant or placeholder matrix)")


def varying_genes(x, gene_names=None, path=None) -> np.ndarray:
    """Boolean per gene: its standard deviation across cells exceeds float32 noise at its scale
    (1e-6 of its mean's magnitude, and at least 1e-12): values equal up to float32 rounding count as
    constant, because standardising them would blow the rounding up.

    Chunked over the stored values (:func:`grnlib.features.gene_stats`): a float64 copy of a large
    sparse matrix would double the memory of ``grnlib train``.
    """
    from grnlib.features import gene_stats

    names = gene_names if gene_names is not None else np.arange(x.shape[1]).astype(str)
    return gene_stats(x, names, path)[1] > 1e-12


def read_priors(path, genes=None, format: str | None = None) -> pd.DataFrame:
    """Prior edges by gene symbol: ``source``, ``target`` (str), ``sign`` (int8) and ``weight``
    when given.

    Files with a header go through :func:`grnlib.data.read_edges` (column names and aliases
    there): a plain ``source,target`` table, or the table of another tool recognised by its header
    (grnlib's ranked table, BEELINE's ``rankedEdges.csv``, arboreto/pySCENIC adjacencies, a
    decoupler network such as CollecTRI or DoRothEA; see ``grnlib.formats.FORMATS``).
    ``format`` forces one of those and requires its header. A file without a header is read as ``source, target[, sign, ...]`` when its first
    row is data: its third field is a sign word or a number (TRRUST's raw table:
    ``TF  target  Activation  PMIDs``), or its first two fields are genes of ``genes`` (the
    expression's gene names). Further columns of a headerless file are ignored. Self-loops and
    duplicated pairs are dropped with a :class:`DataWarning` in both cases.
    """
    path = input_file(path, "a prior edge file", "the edge table")
    if not path.is_file():
        raise DataError(path, "prior edge file not found", "check the path")
    if format is not None or not _looks_headerless(path, genes):
        return read_edges(path, format=format)
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
    edges = drop_loops_and_duplicates(edges, path)
    edges.attrs["report"]["header"] = False
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
    path = input_file(path, "a TF list file", "the TF list")
    if not path.is_file():
        raise DataError(path, "TF list not found", "check the path")
    if first_line(path) is None:
        raise DataError(path, "TF list is empty", "write one TF symbol per line")
    table = read_table(path, header=None, min_columns=1, what="TF list", literal=True)
    _refuse_matrix(table, path)
    symbols = table[0].dropna().astype(str).str.strip()
    if len(symbols) and symbols.iloc[0].lower() in TF_LIST_HEADERS:
        symbols = symbols.iloc[1:]
    symbols = [s for s in dict.fromkeys(symbols) if s and not s.startswith("#")]
    if not symbols:
        raise DataError(path, "TF list holds no TF symbol", "write one TF symbol per line")
    return symbols


def _refuse_matrix(table: pd.DataFrame, path) -> None:
    """DataError when a "TF list" is a numeric table (an expression matrix given as ``--tfs``: its
    first column would make every gene a TF). A symbol list may carry a column or two of
    annotation; three or more columns of numbers below the first row are a matrix."""
    if table.shape[1] < 3:
        return
    rest = table.iloc[1:, 1:].apply(pd.to_numeric, errors="coerce")
    if len(rest) and float(rest.notna().to_numpy().mean()) > 0.9:
        raise DataError(path, f"is a numeric table of {table.shape[1]} columns (an expression matrix?), not a list "
                        "of TF symbols", "pass a file with one TF symbol per line (e.g. from tf-lists/ of the data)")


def transposed_fix(path, genes_as: str = "auto", cli: bool = False) -> str:
    """How the caller turns a matrix read the wrong way round: ``--genes-as`` on the command line,
    ``genes_as=`` for a file in Python, ``adata.T`` for an AnnData in memory (``path`` None)."""
    if path is None:
        return "pass adata.T (an AnnData holds cells x genes: one row per cell)"
    used = genes_as if genes_as != "auto" else ("columns" if plain_suffix(path) == ".h5ad" else "rows")
    other = "columns" if used == "rows" else "rows"
    return (f"pass --genes-as {other}" if cli else f"pass genes_as={other!r}") + \
        f" (now the genes are read as the {used}; an AnnData holds cells x genes)"


def _check_orientation(expression, priors: pd.DataFrame, path, fix: str) -> None:
    """DataError when the prior genes name the matrix's cells rather than its genes: the matrix was
    read the wrong way round (genes x cells as cells x genes), and "no overlap" would mislead."""
    prior_genes = pd.Index(pd.unique(pd.concat([priors["source"], priors["target"]]).astype(str)))
    as_genes = int((match_symbols(prior_genes, pd.Index(expression.var_names)) >= 0).sum())
    as_cells = int((match_symbols(prior_genes, pd.Index(expression.obs_names.astype(str))) >= 0).sum())
    if as_cells >= max(10, 5 * as_genes, len(prior_genes) // 20):
        raise DataError(path, f"{as_cells} of the priors' {len(prior_genes)} genes are row names of the matrix, "
                        f"where its cells should be, and {as_genes} its column (gene) names; the genes shown are "
                        f"e.g. {list(map(str, expression.var_names[:3]))}: the matrix is read the wrong way round",
                        fix)


def user_dataset(expression, priors: pd.DataFrame, tfs: list[str] | None = None, *,
                 priors_path=None, tfs_path=None, expression_path=None, id: str = "user",
                 transpose_fix: str | None = None) -> GRNDataset:
    """A :class:`GRNDataset` of the expression's genes with the prior edges as positives.

    Prior edges naming a gene the matrix lacks are dropped with a :class:`DataWarning` giving the
    count (a DataError when none is left). With ``tfs``, only edges whose source is a listed TF
    are kept, and the listed TFs found in the matrix become the default candidate regulators at
    predict time (``meta["candidate_tfs"]``, gene ids); without, the candidates are the prior
    sources that kept an edge. Training pairs only ever use TFs with a prior edge: negatives of
    a TF without any positive would be trivially easy and inflate the metrics.

    A matrix that cannot train a model (too few cells, no varying genes) is refused first, naming
    ``expression_path`` (see :func:`check_trainable_expression`); so is one read the wrong way round
    (the priors name its cells), with ``transpose_fix`` (:func:`transposed_fix`) as the fix.
    """
    _check_orientation(expression, priors, expression_path,
                       transpose_fix or transposed_fix(expression_path))
    check_trainable_expression(expression, expression_path)
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
    columns = ["source", "target"] + (["sign"] if "sign" in priors else [])  # the sign travels to the model
    ds = dataset_from_edges(priors[columns], id=id, expression=expression, source=priors_path)
    if ds.n_edges < MIN_PRIOR_EDGES:
        raise DataError(priors_path, f"only {ds.n_edges} prior edge(s) connect genes of the expression matrix; "
                        f"at least {MIN_PRIOR_EDGES} are needed to train and hold some out",
                        "add prior edges (another resource) or use expression covering more prior genes")
    ds.meta["candidate_tfs"] = ds.tf_ids.copy() if candidate_tfs is None else candidate_tfs
    return ds


def load_params_file(path) -> dict:
    """A params YAML as a dict; DataError naming the file when it is not a YAML mapping."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise DataError(path, "params file not found", "check the path")
    try:
        values = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DataError(path, f"is not valid YAML ({one_line(exc)})", "fix the YAML syntax") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise DataError(path, f"holds a {type(values).__name__}, not a mapping of settings",
                        "write keys such as model, train, features, split, seed")
    _refuse_quoted_numbers(values, path)
    return values


def _refuse_quoted_numbers(values, path, where: str = "") -> None:
    """DataError for a number written as text (``n_components: "8"``): YAML reads it as a string, and
    the setting would fail later with an error about comparing str and int."""
    items = values.items() if isinstance(values, dict) else enumerate(values) if isinstance(values, list) else ()
    for key, value in items:
        name = f"{where}.{key}" if where else str(key)
        if isinstance(value, (dict, list)):
            _refuse_quoted_numbers(value, path, name)
        elif isinstance(value, str) and _is_number(value.strip()) and value.strip().lower() not in ("nan", "inf"):
            raise DataError(path, f"{name} is the text {value!r}, not a number",
                            f"write {key}: {value.strip()} without quotes")


