"""Expression that stays on disk: an ``.h5ad`` read in row chunks, a fixed number of passes.

:class:`StreamedExpression` stands where an in-memory AnnData would (``obs_names``, ``var_names``,
``n_obs``, ``n_vars``), but its matrix stays in the file: every pass reads the CSR arrays
(``X/data``, ``X/indices``, ``X/indptr``) or the dense rows of the matrix a chunk of cells at a time
with h5py, normalises the chunk (``log1p`` counts per 10,000 with raw counts, the same per-cell
kernel as :func:`grnlib.data.read_expression`), and hands it to a kernel. Peak memory is one chunk
plus what the kernels accumulate (genes x a few dozen columns), whatever the number of cells.

:func:`open_streamed` makes the first pass: the checks of :func:`read_expression` (NaN/inf,
negative or fractional counts, constant genes) and the per-gene mean and standard deviation of the
normalised values (chunk statistics merged with Chan et al.'s pairwise update, in float64).
:func:`run_pass` runs any later pass: a plain loop over the chunks, a local thread pool, or, with a
``dask.distributed`` client, one task per chunk on the cluster (each worker opens the file itself,
so the file must be readable at the same path there; a task lost with its worker is re-run by Dask).
Results are combined in chunk order, so the sums, and the features, do not depend on where they ran.

:func:`choose_out_of_core` decides from the file's stored values and the machine's available memory
whether the in-memory path (faster) fits: it needs about :data:`IN_MEMORY_BYTES_PER_VALUE` bytes per
stored value plus :data:`IN_MEMORY_FIXED_MB` (``benchmarks/scale.py``, least squares over 7 sizes).
"""
from __future__ import annotations

import hashlib
import os
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from grnlib.errors import DataError, DataWarning
from grnlib.progress import bar, step

#: Stored values read per chunk (with their indices and float64 temporaries, ~100 MB per chunk).
CHUNK_VALUES = 1 << 22
#: In-memory peak of ``grnlib train`` per stored value and fixed part (measured: 13.8 B/nnz + 574 MB).
IN_MEMORY_BYTES_PER_VALUE = 14.0
IN_MEMORY_FIXED_MB = 600.0
#: The in-memory path is taken when its estimated peak is below this share of the available memory.
MEMORY_SHARE = 0.5
#: Cells of the seeded sample that pair statistics read out of core (``GRNDataset.expression_matrix``:
#: a dense genes x cells matrix, 400 MB at 20,000 genes). Measured against all 50,000 cells of the scale
#: benchmark's matrix (``benchmarks/pair_sample.py``, 50 TFs x 500 genes): 5,000 cells keep 94 % of the
#: top 1 % |correlation| pairs and 82 % of the top 1 % mutual-information pairs (10,000: 97 % and 88 %;
#: 2,000: 90 % and 74 %), at a quarter of 10,000's memory.
PAIR_SAMPLE_CELLS = 5000
#: Environment: the folder of the normalised-values file (default the temporary folder); set NO_SPILL_ENV
#: to 1 to normalise on every pass instead.
SPILL_DIR_ENV, NO_SPILL_ENV = "GRNLIB_SPILL_DIR", "GRNLIB_NO_SPILL"
#: The progress line names the in-memory choice too once the in-memory estimate passes this (MB).
SAY_CHOICE_ABOVE_MB = 1024
#: Chunks in flight at once on a thread pool or a cluster (their partial results wait to be summed in order).
WINDOW_PER_WORKER = 2


@dataclass
class Source:
    """Where a matrix lives and how its chunks are normalised: all a worker needs (picklable)."""

    path: str
    element: str  # "X", "layers/<name>" or "raw/X"
    sparse: bool
    raw_counts: bool
    n_cells: int
    n_genes: int
    nnz: int
    identity: str = ""  # size and mtime of the file: a changed file is never read as the old one
    spill: str | None = None  # a local file of the normalised stored values (float32), written by the first pass

    def read(self, start: int, stop: int):
        """Rows ``start:stop`` as float32 (CSR when the file stores CSR, else a dense array), normalised."""
        import h5py

        with _lock(self.path):
            with h5py.File(self.path, "r") as handle:
                elem = handle[self.element]
                if self.sparse:
                    indptr = elem["indptr"][start:stop + 1].astype(np.int64)
                    lo, hi = int(indptr[0]), int(indptr[-1])
                    indices = elem["indices"][lo:hi]
                    data = elem["data"][lo:hi] if self.spill is None else None
                else:
                    block = elem[start:stop]
        if self.sparse:
            if self.spill is not None:  # normalised once, by the first pass
                data = np.fromfile(self.spill, dtype=np.float32, count=hi - lo, offset=4 * lo)
            block = sp.csr_matrix((np.asarray(data, dtype=np.float32), indices.astype(np.int32, copy=False),
                                   indptr - lo), shape=(stop - start, self.n_genes))
            if self.raw_counts and self.spill is None:
                from grnlib.data.expression import _log_cp10k_sparse

                block.data = _log_cp10k_sparse(block)
            return block
        block = np.asarray(block, dtype=np.float32)
        if self.raw_counts:
            from grnlib.data.expression import _log_cp10k_dense

            block = _log_cp10k_dense(block)
        return block

    def read_rows(self, rows: np.ndarray):
        """The cells ``rows`` (increasing) as float32 CSR, normalised: only their values are read."""
        import h5py

        rows = np.asarray(rows, dtype=np.int64)
        with _lock(self.path):
            with h5py.File(self.path, "r") as handle:
                elem = handle[self.element]
                if not self.sparse:
                    block = np.asarray(elem[rows] if rows.size else np.zeros((0, self.n_genes)), dtype=np.float32)
                else:
                    indptr = elem["indptr"][:].astype(np.int64)
                    starts, stops = indptr[rows], indptr[rows + 1]
                    data = [elem["data"][a:b] for a, b in zip(starts, stops)]
                    indices = [elem["indices"][a:b] for a, b in zip(starts, stops)]
        if self.sparse:
            pointer = np.concatenate([[0], np.cumsum(stops - starts)])
            block = sp.csr_matrix((np.concatenate(data or [np.zeros(0)]).astype(np.float32),
                                   np.concatenate(indices or [np.zeros(0)]).astype(np.int32), pointer),
                                  shape=(rows.size, self.n_genes))
            if self.raw_counts:
                from grnlib.data.expression import _log_cp10k_sparse

                block.data = _log_cp10k_sparse(block)
            return block
        if self.raw_counts:
            from grnlib.data.expression import _log_cp10k_dense

            block = _log_cp10k_dense(block)
        return sp.csr_matrix(block)

    def read_raw(self, start: int, stop: int):
        """Rows ``start:stop`` as stored (for the checks of the first pass)."""
        return Source(**{**self.__dict__, "raw_counts": False, "spill": None}).read(start, stop)

    def chunks(self, values: int | None = None) -> list[tuple[int, int]]:
        """``(start, stop)`` row ranges of about ``values`` stored values each (the last may be shorter)."""
        values = values or CHUNK_VALUES
        per_row = (self.nnz / max(self.n_cells, 1)) if self.sparse else self.n_genes
        rows = max(1, int(values // max(per_row, 1.0)))
        return [(s, min(s + rows, self.n_cells)) for s in range(0, self.n_cells, rows)]


_LOCKS: dict[str, threading.Lock] = {}


def _lock(path: str) -> threading.Lock:
    # HDF5 reads of one file from several threads of one process are serialised (h5py is not
    # reentrant for reads that overlap); the kernels that follow run in parallel.
    return _LOCKS.setdefault(path, threading.Lock())


@dataclass
class StreamedExpression:
    """An expression matrix (cells x genes) read from its ``.h5ad`` one chunk at a time.

    Attributes:
        source: the file and element (:class:`Source`).
        obs_names, var_names: cell and gene names (unique, stripped).
        stats: ``(mean, std)`` per gene of the normalised values over all cells (float64, as computed:
            :func:`grnlib.features_ooc.streamed_gene_stats` applies the constant-gene rule of
            :func:`grnlib.features.gene_stats`), from the first pass (:meth:`first_pass`), run when first
            needed: training needs it, predict folds the checks into its single pass instead.
        client: a ``dask.distributed.Client`` that runs the passes, or None (this process).
        chunk_values: stored values per chunk (None: :data:`CHUNK_VALUES`).
    """

    out_of_core = True  # what code paths test for (an AnnData has no such attribute)

    source: Source
    obs_names: pd.Index
    var_names: pd.Index
    path: str = ""
    stats: tuple | None = None
    client: object = None
    chunk_values: int | None = None
    uns: dict = field(default_factory=dict)

    @property
    def obs(self):
        raise DataError(self.path, "cell annotations (obs columns, e.g. for --groupby) are not read out of core",
                        "read the matrix in memory (--in-memory, out_of_core=False)")

    @property
    def mean(self) -> np.ndarray:
        return self.first_pass()[0]

    @property
    def std(self) -> np.ndarray:
        return self.first_pass()[1]

    def first_pass(self) -> tuple[np.ndarray, np.ndarray]:
        """Run the checks of :func:`grnlib.data.read_expression` and the gene statistics once (and keep the
        normalised values of raw counts on local disk for the passes that follow); ``(mean, std)``."""
        if self.stats is not None:
            return self.stats
        source = self.source
        spill = _spill_file(source) if self.client is None else None
        with step(f"read {Path(self.path).name} out of core (checks, gene statistics)") as record:
            try:
                mean, std, notes = _first_pass(source, self.obs_names, self.var_names, self.path, self.client,
                                               self.chunk_values, spill)
            except BaseException:
                if spill is not None:
                    _remove(spill)
                raise
            record.note(f"{source.n_cells:,} cells x {source.n_genes:,} genes, {source.nnz:,} stored values, "
                        f"{len(self.chunks())} chunks" + (", on the Dask cluster" if self.client else "")
                        + (", normalised values kept on local disk" if spill else ""))
        if spill is not None:
            import weakref

            source.spill = spill
            weakref.finalize(self, _remove, spill)
        for note in notes:
            warnings.warn(note, DataWarning, stacklevel=2)
        self.stats = (mean, std)
        return self.stats

    @property
    def n_obs(self) -> int:
        return self.source.n_cells

    @property
    def n_vars(self) -> int:
        return self.source.n_genes

    @property
    def shape(self) -> tuple[int, int]:
        return self.n_obs, self.n_vars

    @property
    def nnz(self) -> int:
        return self.source.nnz

    @property
    def X(self) -> "RowReader":
        """Rows by index (``X[rows]`` reads and normalises only those cells): for code that samples cells."""
        return RowReader(self.source)

    def chunks(self) -> list[tuple[int, int]]:
        return self.source.chunks(self.chunk_values)

    def sample(self, n_cells: int, seed: int = 0):
        """An in-memory AnnData of ``n_cells`` cells drawn without replacement (seeded; file order kept),
        all cells when there are fewer: for statistics computed on a sample of cells."""
        import anndata as ad

        rows = np.arange(self.n_obs)
        if n_cells < self.n_obs:
            rows = np.sort(np.random.default_rng([seed, 17]).choice(self.n_obs, n_cells, replace=False))
        x = self.X[rows]
        return ad.AnnData(X=x, obs=pd.DataFrame(index=self.obs_names[rows]), var=pd.DataFrame(index=self.var_names))

    def fingerprint(self) -> str:
        """A hash of what the matrix is (file identity, element, normalisation, names), for caches."""
        h = hashlib.blake2b(digest_size=16)
        s = self.source
        h.update(f"{Path(s.path).resolve()}|{s.identity}|{s.element}|{s.raw_counts}|{self.shape}|{s.nnz}".encode())
        h.update("\n".join(map(str, self.var_names)).encode())
        h.update("\n".join(map(str, self.obs_names)).encode())
        return h.hexdigest()

    def __repr__(self) -> str:
        return (f"StreamedExpression({self.source.path!r}: {self.n_obs:,} cells x {self.n_vars:,} genes, "
                f"{self.nnz:,} stored values, out of core)")


class RowReader:
    """``X[rows]`` of a :class:`StreamedExpression`: reads the row ranges holding ``rows`` (CSR float32)."""

    out_of_core = True

    def __init__(self, source: Source):
        self.source = source
        self.shape = (source.n_cells, source.n_genes)

    def __getitem__(self, rows):
        rows = np.arange(self.shape[0])[rows]
        unique, back = np.unique(rows, return_inverse=True)
        return self.source.read_rows(unique)[back.ravel()]


# -- the size switch --------------------------------------------------------------------------
def in_memory_estimate_mb(stored_values: int) -> float:
    """Estimated peak (MB) of the in-memory ``grnlib train`` on a matrix of ``stored_values``."""
    return IN_MEMORY_FIXED_MB + IN_MEMORY_BYTES_PER_VALUE * stored_values / 2**20


def available_mb() -> float:
    import psutil

    return psutil.virtual_memory().available / 2**20


def choose_out_of_core(stored_values: int, out_of_core: bool | None = None,
                       available: float | None = None) -> tuple[bool, str]:
    """(out of core?, the reason in words) for a matrix of ``stored_values``; ``out_of_core``
    True/False forces the choice (``--out-of-core`` / ``--in-memory``)."""
    need = in_memory_estimate_mb(stored_values)
    available = available_mb() if available is None else available
    facts = f"in memory needs ~{need / 1024:.1f} GB, {available / 1024:.1f} GB available"
    if out_of_core is not None:
        return bool(out_of_core), ("out of core" if out_of_core else "in memory") + f" (as asked; {facts})"
    if need <= MEMORY_SHARE * available:
        return False, f"in memory ({facts}; --out-of-core to stream)"
    return True, f"out of core ({facts}; --in-memory to force)"


# -- opening: the first pass ------------------------------------------------------------------
def locate(path, layer: str | None = None, genes_as: str = "auto"):
    """``(Source, obs_names, var_names)`` of a CSR or dense ``.h5ad`` matrix stored cells x genes, or
    None when the layout cannot be read by cell (CSC, ``genes_as="rows"``, an old file): those are
    read in memory. Names are checked as :func:`grnlib.data.read_expression` checks them."""
    import h5py
    from anndata.io import read_elem

    from grnlib.data.expression import RAW_LAYER, _unique_cells
    from grnlib.data.validate import unique_symbols

    path = Path(path)
    if genes_as == "rows":
        return None
    try:
        with h5py.File(path, "r") as file:
            layers = list(file["layers"]) if "layers" in file else []
            from_raw = layer == RAW_LAYER and layer not in layers and "raw" in file and "X" in file["raw"]
            if layer is not None and layer not in layers and not from_raw:
                return None  # read_expression words the error
            element = "raw/X" if from_raw else f"layers/{layer}" if layer is not None else "X"
            if element not in file:
                return None
            elem = file[element]
            if isinstance(elem, h5py.Dataset):
                if elem.ndim != 2:
                    return None
                sparse, (n_cells, n_genes), nnz = False, elem.shape, int(np.prod(elem.shape))
            elif elem.attrs.get("encoding-type") == "csr_matrix":
                sparse, (n_cells, n_genes), nnz = True, tuple(elem.attrs["shape"]), int(elem["indptr"][-1])
            else:
                return None
            obs = read_elem(file["obs"])
            var = read_elem(file["raw"]["var"] if from_raw else file["var"])
    except Exception:  # not HDF5, an old layout...: read_expression reports or converts it
        return None
    if len(obs) != n_cells or len(var) != n_genes:
        return None
    stat = path.stat()
    source = Source(path=str(path.resolve()), element=element, sparse=sparse, raw_counts=False,
                    n_cells=int(n_cells), n_genes=int(n_genes), nnz=nnz,
                    identity=f"{stat.st_size}:{stat.st_mtime_ns}")
    cells = _unique_cells(obs.index, path).rename("cell")
    genes = unique_symbols(var.index, path, "expression matrix").rename("gene")
    return source, cells, genes


def open_streamed(path, layer: str | None = None, raw_counts: bool = False, genes_as: str = "auto", *,
                  out_of_core: bool | None = None, client=None, chunk_values: int | None = None):
    """A :class:`StreamedExpression` of the ``.h5ad`` at ``path`` when the size switch says out of core
    (:func:`choose_out_of_core`; ``out_of_core`` forces it, a ``client`` implies it); None when the
    in-memory path is chosen or the layout cannot be streamed (then :func:`grnlib.data.read_expression`
    reads it). The progress line says which path and why. The checks and gene statistics run on first
    need (:meth:`StreamedExpression.first_pass`), with the errors and warnings ``read_expression`` gives."""
    if out_of_core is False:
        return None
    located = locate(path, layer, genes_as)
    if located is None:
        if out_of_core:
            raise DataError(path, "cannot be read out of core: the matrix is not stored cells x genes as CSR or dense "
                            "rows (CSC, an old layout, or genes as rows)",
                            "re-save it with adata.X = scipy.sparse.csr_matrix(adata.X); adata.write_h5ad(...), "
                            "or read it in memory (--in-memory)")
        return None
    source, cells, genes = located
    forced = True if (out_of_core or client is not None) else None
    chosen, reason = choose_out_of_core(source.nnz, forced)
    if chosen or in_memory_estimate_mb(source.nnz) > SAY_CHOICE_ABOVE_MB:  # the choice matters: say it
        with step(f"{Path(path).name}: {reason}", min_seconds=0):
            pass
    if not chosen:
        return None
    source.raw_counts = bool(raw_counts)
    expression = StreamedExpression(source=source, obs_names=cells, var_names=genes, path=str(path), client=client,
                                    chunk_values=chunk_values)
    if raw_counts:
        expression.uns["normalisation"] = "log1p(counts per 10,000)"
    return expression


def _spill_file(source: Source) -> str | None:
    """A temporary file for the normalised values of a sparse raw-count matrix (4 bytes per stored value),
    so later passes skip the normalisation; None for other matrices, or when the disk lacks twice that."""
    import shutil
    import tempfile

    if not (source.sparse and source.raw_counts) or os.environ.get(NO_SPILL_ENV):
        return None
    folder = os.environ.get(SPILL_DIR_ENV) or tempfile.gettempdir()
    size = 4 * source.nnz
    try:
        if shutil.disk_usage(folder).free < 2 * size + (1 << 30):
            return None
        handle, name = tempfile.mkstemp(prefix="grnlib-normalised-", suffix=".f32", dir=folder)
        os.ftruncate(handle, size)
        os.close(handle)
    except OSError:
        return None
    return name


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _first_pass(source: Source, cells, genes, path, client, chunk_values, spill=None):
    parts = run_pass(source, _scan_chunk, source.chunks(chunk_values), client=client,
                     desc=f"read {Path(path).name}", cells=None if client else cells, genes=None if client else genes,
                     path=None if client else str(path), spill=spill)
    stats = None
    for _, part_stats in parts:
        stats = part_stats if stats is None else merge_stats(stats, part_stats)
    notes = finish_scans(source, [part_scan for part_scan, _ in parts], cells, genes, path)
    count, mean, m2 = stats
    std = np.sqrt(np.maximum(m2 / count, 0.0))
    bad = ~(np.isfinite(mean) & np.isfinite(std))
    if bad.any():  # values finite in float32 whose squares overflow: as gene_stats reports it
        raise DataError(path, f"expression of {int(bad.sum())} gene(s) holds NaN/inf (e.g. {list(genes[bad][:3])})",
                        "drop or impute those genes before building features")
    return mean, std, notes


def _scan_chunk(source: Source, start: int, stop: int, cells=None, genes=None, path=None, spill=None):
    """The checks (a partial :class:`grnlib.data.expression._Scan`) and the gene statistics of one chunk."""
    scan, raw = checked_chunk(source, start, stop, cells, genes, path)
    if spill is not None:  # later passes read these values instead of normalising the counts again
        import h5py

        with _lock(source.path), h5py.File(source.path, "r") as handle:
            offset = int(handle[source.element]["indptr"][start])
        out = np.memmap(spill, dtype=np.float32, mode="r+", offset=4 * offset, shape=(raw.nnz,))
        out[:] = raw.data
        out.flush()
        del out
    return scan, chunk_stats(raw)


def checked_chunk(source: Source, start: int, stop: int, cells=None, genes=None, path=None):
    """``(partial scan, normalised block)`` of rows ``start:stop``: the checks on the stored values, then
    the normalisation (``cells``, ``genes``, ``path`` name a bad value; None on a worker)."""
    from grnlib.data.expression import _Scan
    from grnlib.data.validate import float32_block

    raw = source.read_raw(start, stop)
    names = cells[start:stop] if cells is not None else pd.Index([f"row {i}" for i in range(start, stop)])
    raw = float32_block(raw, path, names, genes if genes is not None else pd.RangeIndex(source.n_genes))
    scan = _Scan(stop - start, source.n_genes, source.raw_counts)
    (scan.sparse if source.sparse else scan.dense)(raw, start)
    if source.raw_counts:
        from grnlib.data.expression import _log_cp10k_dense, _log_cp10k_sparse

        if source.sparse:
            raw.data = _log_cp10k_sparse(raw)
        else:
            raw = _log_cp10k_dense(raw)
    return scan, raw


def new_scan(source: Source):
    """An empty whole-matrix scan that :func:`merge_scan` folds the chunks' partial scans into."""
    from grnlib.data.expression import _Scan

    return _Scan(source.n_cells, source.n_genes, source.raw_counts)


def finish_scans(source: Source, scans, cells, genes, path) -> list[str]:
    """Merge the partial scans of every chunk (in row order): raise the first problem as a DataError,
    return the warnings to give."""
    scan = new_scan(source)
    for part in scans:
        merge_scan(scan, part)
    return scan.finish(cells, genes, path)


def merge_scan(total, part) -> None:
    """Fold the partial scan of the next chunk into ``total`` (chunks come in row order)."""
    total.lo, total.hi = np.fmin(total.lo, part.lo), np.fmax(total.hi, part.hi)
    with np.errstate(invalid="ignore"):  # a NaN chunk keeps NaN bounds, reported by finish
        total.lo = np.where(np.isnan(part.lo), part.lo, total.lo)
        total.hi = np.where(np.isnan(part.hi), part.hi, total.hi)
    total.stored += part.stored
    total.n_nan += part.n_nan
    total.n_inf += part.n_inf
    total.n_negative += part.n_negative
    total.first_bad = total.first_bad or part.first_bad
    total.first_negative = total.first_negative or part.first_negative
    total.fractional = total.fractional or part.fractional


def chunk_stats(x, rows: np.ndarray | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """``(cells, mean, sum of squared deviations)`` per gene over the rows of a chunk (float64);
    ``rows`` selects some rows (None: all)."""
    if rows is not None:
        x = x[rows]
    n = x.shape[0]
    n_genes = x.shape[1]
    if n == 0:
        return 0.0, np.zeros(n_genes), np.zeros(n_genes)
    if sp.issparse(x):
        x = sp.csr_matrix(x)
        values = x.data.astype(np.float64)
        total = np.bincount(x.indices, weights=values, minlength=n_genes)
        count = np.bincount(x.indices, minlength=n_genes)
        mean = total / n
        m2 = np.bincount(x.indices, weights=(values - mean[x.indices]) ** 2, minlength=n_genes)
        m2 += (n - count) * mean ** 2  # the cells where the gene is not stored hold 0
        return float(n), mean, m2
    values = np.asarray(x, dtype=np.float64)
    mean = values.mean(axis=0)
    return float(n), mean, ((values - mean) ** 2).sum(axis=0)


def merge_stats(a, b):
    """Chan, Golub & LeVeque's pairwise update of (count, mean, M2)."""
    na, mean_a, m2_a = a
    nb, mean_b, m2_b = b
    if nb == 0:
        return a
    if na == 0:
        return b
    n = na + nb
    delta = mean_b - mean_a
    return n, mean_a + delta * (nb / n), m2_a + m2_b + delta ** 2 * (na * nb / n)


# -- running a pass ----------------------------------------------------------------------------
def run_pass(source: Source, kernel, chunks, *, client=None, desc: str = "pass", threads: int | None = None,
             per_chunk=None, **shared):
    """``[kernel(source, start, stop, **shared, **per_chunk(i)) for each chunk]`` in chunk order.

    With a Dask ``client`` each chunk is a task on the cluster (``shared`` values are scattered once);
    else a local thread pool (``threads``, default the cores; 1: a plain loop). At most
    :data:`WINDOW_PER_WORKER` chunks per worker are in flight, so results waiting to be combined stay few.
    The list holds every chunk's result; callers that need bounded memory pass small results."""
    return list(iter_pass(source, kernel, chunks, client=client, desc=desc, threads=threads, per_chunk=per_chunk,
                          **shared))


def iter_pass(source: Source, kernel, chunks, *, client=None, desc: str = "pass", threads: int | None = None,
              per_chunk=None, **shared):
    """:func:`run_pass` as a generator: one result per chunk, in chunk order, as they complete
    (fold them as they come and memory holds only the window of chunks in flight)."""
    per_chunk = per_chunk or (lambda i: {})
    chunks = list(chunks)
    pool = None
    if client is not None:
        submit, workers = _dask_submitter(client, kernel, source, shared)
    else:
        workers = max(1, threads or _threads())
        if workers == 1:
            for i, (start, stop) in enumerate(bar(chunks, desc=desc, unit="chunk")):
                yield kernel(source, start, stop, **shared, **per_chunk(i))
            return
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(workers)

        def submit(i, start, stop, extra):
            return pool.submit(kernel, source, start, stop, **shared, **extra)
    window = max(1, WINDOW_PER_WORKER * workers)
    pending = []
    try:
        with bar(total=len(chunks), desc=desc, unit="chunk") as progress:
            for i, (start, stop) in enumerate(chunks):
                pending.append(submit(i, start, stop, per_chunk(i)))
                if len(pending) >= window:
                    yield pending.pop(0).result()
                    progress.update(1)
            while pending:
                yield pending.pop(0).result()
                progress.update(1)
    finally:
        for future in pending:
            future.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _threads() -> int:
    """The cores, or fewer when ``--threads`` lowered torch's count (the process-wide choice)."""
    import sys

    torch = sys.modules.get("torch")
    cores = os.cpu_count() or 1
    return max(1, min(cores, torch.get_num_threads())) if torch is not None else cores


def _dask_submitter(client, kernel, source, shared):
    """(submit(i, start, stop) -> future, workers): tasks on the cluster, retried when a worker dies."""
    scattered = {k: (client.scatter(v, broadcast=True) if isinstance(v, np.ndarray) and v.nbytes > 1 << 16 else v)
                 for k, v in shared.items()}
    workers = max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))
    token = hashlib.blake2b(f"{id(shared)}-{os.getpid()}-{np.random.default_rng().integers(1 << 62)}".encode(),
                            digest_size=6).hexdigest()

    def submit(i, start, stop, extra):
        # a task whose worker died is rescheduled by the scheduler anyway; retries cover a failed read too
        return client.submit(kernel, source, start, stop, **scattered, **extra, key=f"grnlib-chunk-{token}-{i}",
                             retries=2, pure=False)
    return submit, workers


def connect(address: str, timeout: float = 20.0):
    """A ``dask.distributed.Client`` of the scheduler at ``address`` (``tcp://host:port``)."""
    try:
        from dask.distributed import Client
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise DataError(None, "--scheduler needs dask.distributed", "pip install 'dask[distributed]'") from exc
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise DataError(None, f"cannot reach the Dask scheduler at {address} ({type(exc).__name__}: {exc})",
                        "start one (dask scheduler; dask worker ADDRESS) or leave out --scheduler") from None
