"""Human-readable dataset ids, the dataset table, and the id -> GRNDataset / split loaders.

Ids:

- ``beeline/<Network>/<Cell>/<500|1000>``, e.g. ``beeline/Specific/hHEP/500``
  (networks: Specific, Non-Specific, STRING, Lofgof; see :mod:`grnlib.data.beeline`);
- ``dream4/<1..5>`` (DREAM4 in-silico size-100 networks);
- ``stone-roy/hESC``, ``stone-roy/mESC`` (Stone & Roy ESC data).

The catalog is the shipped registry: an id is listed when its files are in it. Reserved
for final evaluation (never for model selection): cell mHSC-L in every network, and Lofgof.
"""
from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from grnlib.data import beeline, dream4, stoneroy
from grnlib.data.dataset import GRNDataset
from grnlib.data.errors import DataError
from grnlib.data.download import _resolve, fetch
from grnlib.data.registry import load_registry

RESERVED_CELLS = ("mHSC-L",)
RESERVED_NETWORKS = ("Lofgof",)
LIST_COLUMNS = ("id", "family", "network", "cell", "size", "n_genes", "n_tfs", "n_edges",
                "has_expression", "n_splits", "reserved")


@dataclass(frozen=True)
class DatasetId:
    """A parsed dataset id. ``size`` is the BEELINE gene budget (500/1000), 100 for DREAM4."""

    family: str
    network: str
    cell: str
    size: int | None = None

    def __str__(self) -> str:
        if self.family == "beeline":
            return f"beeline/{self.network}/{self.cell}/{self.size}"
        if self.family == "dream4":
            return f"dream4/{self.cell}"
        return f"stone-roy/{self.cell}"

    @property
    def reserved(self) -> bool:
        return self.family == "beeline" and (self.cell in RESERVED_CELLS or self.network in RESERVED_NETWORKS)

    def relpaths(self) -> dict[str, str]:
        """Files a full load needs (expression included where the mirror has it)."""
        if self.family == "beeline":
            folder = beeline.setting_dir(self.network, self.cell, self.size)
            files = {name: f"{folder}/{name}.csv.gz" for name in ("Target", "TF", "Label", "BL--network")}
            files["expression"] = beeline.expression_relpath(self.network, self.cell, self.size)
            return files
        if self.family == "dream4":
            folder = dream4.network_dir(int(self.cell))
            return {name: f"{folder}/{name}" for name in dream4.FILES}
        return stoneroy.relpaths(self.cell)


_BEELINE_KEY = re.compile(r"^beeline/([^/]+)/([^/]+)/TFs\+(\d+)/Label\.csv\.gz$")
_DREAM4_KEY = re.compile(r"^dream4/insilico_size100_(\d+)/goldstandard\.tsv$")
_STONE_KEY = re.compile(r"^stone-roy/(\w+)_ground_truth\.tsv\.gz$")


def known_ids() -> list[DatasetId]:
    """Every dataset id of the registry, in a stable order (BEELINE, DREAM4, Stone & Roy)."""
    found = []
    for key in load_registry():
        if m := _BEELINE_KEY.match(key):
            found.append(DatasetId("beeline", m[1], m[2], int(m[3])))
        elif m := _DREAM4_KEY.match(key):
            found.append(DatasetId("dream4", "insilico", m[1], 100))
        elif (m := _STONE_KEY.match(key)) and m[1] in stoneroy.SETTINGS:
            found.append(DatasetId("stone-roy", "ChIP+perturbation", m[1]))
    family_order = {"beeline": 0, "dream4": 1, "stone-roy": 2}
    network_order = {n: i for i, n in enumerate(beeline.NETWORKS)}
    cell_order = {c: i for i, c in enumerate(beeline.CELLS)}
    return sorted(found, key=lambda d: (family_order[d.family], network_order.get(d.network, 99),
                                        cell_order.get(d.cell, 99), d.cell, d.size or 0))


def parse_id(text: str | DatasetId) -> DatasetId:
    """Parse and check a dataset id; DataError with close matches when it is unknown."""
    if isinstance(text, DatasetId):
        return text
    wanted = str(text).strip().strip("/")
    ids = {str(d): d for d in known_ids()}
    if wanted in ids:
        return ids[wanted]
    close = difflib.get_close_matches(wanted, list(ids), n=3, cutoff=0.5)
    hint = f"did you mean {close}?" if close else "run `grnlib datasets` for the list"
    raise DataError(None, f"unknown dataset id {wanted!r}", f"use an id such as beeline/Specific/hHEP/500; {hint}")


def is_reserved(id: str | DatasetId) -> bool:
    """True for the final-evaluation sets (mHSC-L, Lofgof)."""
    return parse_id(id).reserved


def _available(relpath: str, folder: Path, downloadable: bool) -> bool:
    return (folder / relpath).is_file() or (downloadable and relpath in load_registry())


def load_dataset(id: str | DatasetId, root=None, *, with_expression: bool = True,
                 missing_genes: str = "zeros") -> GRNDataset:
    """Load a dataset by id, e.g. ``load_dataset("beeline/Specific/hHEP/500")``.

    Args:
        id: see the module docstring.
        root: data root (see :func:`grnlib.data.data_root`).
        with_expression: False skips the expression matrix (faster).
        missing_genes: for expression that lacks genes of the universe (Lofgof 1000 borrows
            the 500-gene mESC matrix): ``"zeros"`` (zero profiles + warning) or ``"raise"``.

    Settings without an expression file (e.g. hESC) load with ``expression=None``.
    """
    did = parse_id(id)
    folder, downloadable = _resolve(root)
    files = did.relpaths()
    meta = {"family": did.family, "network": did.network, "cell": did.cell, "size": did.size,
            "reserved": did.reserved}
    if did.family == "beeline":
        for name in ("Target", "TF", "Label", "BL--network"):
            local = fetch(files[name], folder)
        expression = None
        if with_expression and _available(files["expression"], folder, downloadable):
            expression = fetch(files["expression"], folder)
            meta["expression_from"] = files["expression"]
        return beeline.read_beeline_folder(local.parent, id=str(did), expression=expression,
                                           with_expression=expression is not None,
                                           missing_genes=missing_genes, meta=meta)
    if did.family == "dream4":
        paths = {name: fetch(rel, folder) for name, rel in files.items()}
        ds = dream4.read_dream4_folder(paths["goldstandard.tsv"].parent, id=str(did),
                                       with_expression=with_expression)
    else:
        paths = {name: fetch(rel, folder) for name, rel in files.items()
                 if name != "expression" or with_expression}
        ds = stoneroy.read_stone_roy(paths["genes"], paths["tfs"], paths["truth"], paths.get("expression"),
                                     id=str(did), missing_genes=missing_genes)
    ds.meta.update(meta)
    return ds


def split_samples(id: str | DatasetId, root=None) -> list[int]:
    """Released split samples (1-based) available for a BEELINE id; [] for other families."""
    did = parse_id(id)
    if did.family != "beeline":
        return []
    folder, downloadable = _resolve(root)
    samples = []
    for sample in range(1, 100):
        rels = beeline.split_relpaths(did.network, did.cell, did.size, sample)
        if not all(_available(rel, folder, downloadable) for rel in rels.values()):
            break
        samples.append(sample)
    return samples


def load_split(id: str | DatasetId, sample: int = 1, root=None) -> dict[str, pd.DataFrame]:
    """A released GENELink split: ``{"train", "val", "test"}`` -> pair table (tf, target, label).

    Ids are those of the dataset's ``Target.csv`` (checked to be in range). The published
    protocol has known flaws (see the data README); measure them with the audit tools.
    """
    did = parse_id(id)
    if did.family != "beeline":
        raise DataError(None, f"{did} has no released splits (only BEELINE settings do)",
                        "make a split with grnlib.evaluation.protocols.make_split instead")
    samples = split_samples(did, root)
    if sample not in samples:
        have = f"samples {samples}" if samples else "no released splits (only settings with expression have them)"
        raise DataError(None, f"{did} has no released split sample {sample!r}; it has {have}",
                        "pick an available sample, or another protocol" if samples else
                        "choose a setting listed with n_splits > 0 by `grnlib datasets`")
    folder, _ = _resolve(root)
    n_genes = len(beeline.read_genes(fetch(did.relpaths()["Target"], folder)))
    rels = beeline.split_relpaths(did.network, did.cell, did.size, sample)
    return {part: beeline.read_split_file(fetch(rel, folder), n_genes) for part, rel in rels.items()}


def list_datasets(root=None) -> pd.DataFrame:
    """One row per dataset id with its size, for choosing what to run.

    Columns: ``id, family, network, cell, size, n_genes, n_tfs, n_edges, has_expression,
    n_splits, reserved``. Counts come from the label/TF/gene files only (expression is never
    read; ``has_expression`` is whether its file exists). In a local data folder, ids whose
    files are absent are left out; in the download cache the small label files are fetched.
    Counts are cached per process, keyed on file modification times.
    """
    folder, downloadable = _resolve(root)
    rows = []
    for did in known_ids():
        files = did.relpaths()
        needed = [rel for name, rel in files.items() if name != "expression"]
        if not all(_available(rel, folder, downloadable) for rel in needed):
            continue
        paths = [fetch(rel, folder) for rel in needed]
        stamp = tuple(p.stat().st_mtime_ns for p in paths)
        n_genes, n_tfs, n_edges = _counts(str(folder), str(did), stamp)
        has_expression = _available(files["expression"], folder, downloadable) if "expression" in files else True
        rows.append({"id": str(did), "family": did.family, "network": did.network, "cell": did.cell,
                     "size": did.size, "n_genes": n_genes, "n_tfs": n_tfs, "n_edges": n_edges,
                     "has_expression": has_expression, "n_splits": len(split_samples(did, folder)),
                     "reserved": did.reserved})
    table = pd.DataFrame(rows, columns=list(LIST_COLUMNS))
    return table.astype({"size": "Int64", "n_genes": "int64", "n_tfs": "int64", "n_edges": "int64",
                         "n_splits": "int64", "has_expression": bool, "reserved": bool})


@functools.lru_cache(maxsize=256)
def _counts(folder: str, id: str, stamp: tuple) -> tuple[int, int, int]:
    did = parse_id(id)
    if did.family == "beeline":
        files = {k: Path(folder) / v for k, v in did.relpaths().items()}
        genes = beeline.read_genes(files["Target"])
        tf_ids = beeline.read_tf_ids(files["TF"], genes)
        edges, _ = beeline.read_label_edges(files["Label"], genes, tf_ids)
        return len(genes), len(tf_ids), len(edges)
    ds = load_dataset(did, folder, with_expression=False)
    return ds.n_genes, ds.n_tfs, ds.n_edges
