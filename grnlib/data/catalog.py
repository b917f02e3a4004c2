"""Human-readable dataset ids, the dataset families behind them, the dataset table, and the
id -> GRNDataset / split loaders. (One class per family, registered once, all in this file so a new
family is read beside the others; hence its length.)

Ids, one family each:

- ``beeline/<Network>/<Cell>/<500|1000>``, e.g. ``beeline/Specific/hHEP/500``
  (networks: Specific, Non-Specific, STRING, Lofgof; see :mod:`grnlib.data.beeline`);
- ``dream4/<1..5>`` (DREAM4 in-silico size-100 networks);
- ``stone-roy/hESC``, ``stone-roy/mESC`` (Stone & Roy ESC data);
- ``seed/<resources>/<hESC|hHEP|none>``: human literature priors as positives (resources
  ``trrust``, ``dorothea``, ``collectri`` joined by ``+``), with an expression matrix or none,
  e.g. ``seed/trrust+dorothea/hESC`` (see :mod:`grnlib.data.seed`).
- ``subsample/<Network>/<Cell>/<500|1000>/<edges>-<draw>``: a BEELINE setting whose network is
  subsampled to ``edges`` edges (draw ``draw``, seeded), e.g. ``subsample/STRING/hHEP/500/150-0``:
  the small networks users bring (see :class:`SubsampleFamily`).

Every family is registered once in :data:`FAMILIES`: one :class:`DatasetFamily` subclass says
how its ids parse and print, which of them ``grnlib datasets`` lists, which files they need,
how they load, their released split samples and whether they are reserved. Adding a family is
adding one class here; every command then takes its ids.

The listed ids are those whose files are in the shipped download manifest. Reserved for final evaluation
(never for model selection): cell mHSC-L in every BEELINE network, and Lofgof.
"""
from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from grnlib.data import beeline, dream4, seed, stoneroy
from grnlib.data.dataset import GRNDataset
from grnlib.data.download import _resolve, fetch
from grnlib.errors import DataError
from grnlib.data.manifest import load_manifest
from grnlib.registry import Registry

RESERVED_CELLS = ("mHSC-L",)
RESERVED_NETWORKS = ("Lofgof",)
LIST_COLUMNS = ("id", "family", "network", "cell", "size", "n_genes", "n_tfs", "n_edges",
                "has_expression", "n_splits", "reserved")


@dataclass(frozen=True)
class FamilyInfo:
    """What a dataset family declares when registered."""

    title: str  # for messages
    order: int  # listing order
    ships_splits: bool = False  # the family ships published train/val/test splits (GENELink's BEELINE samples)


FAMILIES = Registry("dataset family", info=FamilyInfo)
"""Dataset family name -> its :class:`DatasetFamily` subclass, registered with its :class:`FamilyInfo`."""


@dataclass(frozen=True)
class DatasetId:
    """A parsed dataset id. ``size`` is the BEELINE gene budget (500/1000), 100 for DREAM4.

    For ``seed`` ids, ``network`` is the resources (``trrust+dorothea``) and ``cell`` the
    expression (``hESC``, ``hHEP`` or ``none``)."""

    family: str
    network: str
    cell: str
    size: int | None = None
    variant: str | None = None  # derived ids: ``<edges>-<draw>`` of a ``subsample/...`` id

    def __str__(self) -> str:
        return FAMILIES[self.family].format(self)

    @property
    def reserved(self) -> bool:
        return FAMILIES[self.family].reserved(self)

    def relpaths(self) -> dict[str, str]:
        """Files a full load needs (expression included where the mirror has it)."""
        return FAMILIES[self.family].relpaths(self)


def register_family(name: str, **info):
    """Class decorator: register a :class:`DatasetFamily` under ``name`` (its id prefix)."""
    def decorator(cls):
        cls.name = name
        return FAMILIES.register(name, **info)(cls)
    return decorator


class DatasetFamily:
    """What one family of dataset ids needs; subclasses override what differs. Class methods
    only: a family holds no state. ``folder`` arguments are resolved data roots."""

    name = ""

    @classmethod
    def ids(cls) -> list[DatasetId]:
        """The ids ``grnlib datasets`` lists (those whose files the download manifest has), in order."""
        raise NotImplementedError

    @classmethod
    def parse(cls, text: str) -> DatasetId | None:
        """The id ``text`` names, or None when it is not one of this family's."""
        return {str(d): d for d in cls.ids()}.get(text)

    @classmethod
    def format(cls, did: DatasetId) -> str:
        raise NotImplementedError

    @classmethod
    def reserved(cls, did: DatasetId) -> bool:
        return False

    @classmethod
    def relpaths(cls, did: DatasetId) -> dict[str, str]:
        """Every file of the id; an ``"expression"`` entry is the expression matrix."""
        raise NotImplementedError

    @classmethod
    def listing_files(cls, did: DatasetId) -> list[str]:
        """Files that must be present for the id to be listed (default: all but expression)."""
        return [rel for name, rel in cls.relpaths(did).items() if name != "expression"]

    @classmethod
    def has_expression(cls, did: DatasetId, available) -> bool:
        files = cls.relpaths(did)
        return "expression" in files and available(files["expression"])

    @classmethod
    def load(cls, did: DatasetId, folder: Path, downloadable: bool, with_expression: bool,
             missing_genes: str) -> GRNDataset:
        raise NotImplementedError

    @classmethod
    def counts(cls, did: DatasetId, folder: Path) -> tuple[int, int, int]:
        """(genes, TFs, positive edges), for the listing; expression is not read."""
        ds = cls.load(did, folder, False, False, "zeros")
        return ds.n_genes, ds.n_tfs, ds.n_edges

    @classmethod
    def split_relpaths(cls, did: DatasetId, sample: int) -> dict[str, str] | None:
        """Files of released split ``sample`` (1-based); None: the family has no released splits.
        Families registered with ``ships_splits=True`` also define ``read_split(did, folder, files)``."""
        return None


@register_family("beeline", title="BEELINE", order=0, ships_splits=True)
class BeelineFamily(DatasetFamily):
    """BEELINE settings in the GENELink layout, with released splits where expression exists."""

    @classmethod
    def ids(cls) -> list[DatasetId]:
        found = set()
        for key in load_manifest():
            parts = key.split("/")  # beeline/<network>/<cell>/TFs+<size>/Label.csv.gz
            if len(parts) == 5 and parts[0] == "beeline" and parts[4] == "Label.csv.gz" \
                    and parts[3].startswith("TFs+") and parts[3][4:].isdigit():
                found.add(DatasetId("beeline", parts[1], parts[2], int(parts[3][4:])))
        network_order = {n: i for i, n in enumerate(beeline.NETWORKS)}
        cell_order = {c: i for i, c in enumerate(beeline.CELLS)}
        return sorted(found, key=lambda d: (network_order.get(d.network, 99), cell_order.get(d.cell, 99),
                                            d.cell, d.size))

    @classmethod
    def format(cls, did):
        return f"beeline/{did.network}/{did.cell}/{did.size}"

    @classmethod
    def reserved(cls, did):
        return did.cell in RESERVED_CELLS or did.network in RESERVED_NETWORKS

    @classmethod
    def relpaths(cls, did):
        folder = beeline.setting_dir(did.network, did.cell, did.size)
        files = {name: f"{folder}/{name}.csv.gz" for name in ("Target", "TF", "Label", "BL--network")}
        files["expression"] = beeline.expression_relpath(did.network, did.cell, did.size)
        return files

    @classmethod
    def load(cls, did, folder, downloadable, with_expression, missing_genes):
        files = cls.relpaths(did)
        for name in ("Target", "TF", "Label", "BL--network"):
            local = fetch(files[name], folder)
        expression = None
        meta = {}
        if with_expression and _available(files["expression"], folder, downloadable):
            expression = fetch(files["expression"], folder)
            meta["expression_from"] = files["expression"]
        return beeline.read_beeline_folder(local.parent, id=str(did), expression=expression,
                                           with_expression=expression is not None,
                                           missing_genes=missing_genes, meta=meta)

    @classmethod
    def counts(cls, did, folder):
        files = {k: folder / v for k, v in cls.relpaths(did).items()}
        genes = beeline.read_genes(files["Target"])
        tf_ids = beeline.read_tf_ids(files["TF"], genes)
        edges, _ = beeline.read_label_edges(files["Label"], genes, tf_ids)
        return len(genes), len(tf_ids), len(edges)

    @classmethod
    def split_relpaths(cls, did, sample):
        return beeline.split_relpaths(did.network, did.cell, did.size, sample)

    @classmethod
    def read_split(cls, did, folder, files):
        n_genes = len(beeline.read_genes(fetch(cls.relpaths(did)["Target"], folder)))
        return {part: beeline.read_split_file(path, n_genes) for part, path in files.items()}


@register_family("dream4", title="DREAM4", order=1)
class Dream4Family(DatasetFamily):
    """DREAM4 in-silico size-100 networks; expression is in the network's own files."""

    @classmethod
    def ids(cls):
        numbers = sorted({int(key.split("/")[1].rsplit("_", 1)[1]) for key in load_manifest()
                          if key.startswith("dream4/insilico_size100_") and key.endswith("/goldstandard.tsv")})
        return [DatasetId("dream4", "insilico", str(n), 100) for n in numbers]

    @classmethod
    def format(cls, did):
        return f"dream4/{did.cell}"

    @classmethod
    def relpaths(cls, did):
        folder = dream4.network_dir(int(did.cell))
        return {name: f"{folder}/{name}" for name in dream4.FILES}

    @classmethod
    def has_expression(cls, did, available):
        return True  # the experiments are part of the listed files

    @classmethod
    def load(cls, did, folder, downloadable, with_expression, missing_genes):
        paths = {name: fetch(rel, folder) for name, rel in cls.relpaths(did).items()}
        return dream4.read_dream4_folder(paths["goldstandard.tsv"].parent, id=str(did),
                                         with_expression=with_expression)


@register_family("stone-roy", title="Stone & Roy", order=2)
class StoneRoyFamily(DatasetFamily):
    """Stone & Roy hESC/mESC data with ChIP + perturbation gold standards."""

    @classmethod
    def ids(cls):
        manifest = load_manifest()
        return [DatasetId("stone-roy", "ChIP+perturbation", cell) for cell in stoneroy.SETTINGS
                if stoneroy.relpaths(cell)["truth"] in manifest]

    @classmethod
    def format(cls, did):
        return f"stone-roy/{did.cell}"

    @classmethod
    def relpaths(cls, did):
        return stoneroy.relpaths(did.cell)

    @classmethod
    def load(cls, did, folder, downloadable, with_expression, missing_genes):
        paths = {name: fetch(rel, folder) for name, rel in cls.relpaths(did).items()
                 if name != "expression" or with_expression}
        return stoneroy.read_stone_roy(paths["genes"], paths["tfs"], paths["truth"], paths.get("expression"),
                                       id=str(did), missing_genes=missing_genes)


@register_family("seed", title="seed (literature priors)", order=3)
class SeedFamily(DatasetFamily):
    """Merged human literature priors as positives (:func:`grnlib.data.seed.seed_dataset`).

    Any non-empty set of resources parses (written in the order of ``grnlib.data.priors.RESOURCES``,
    so one dataset has one id); ``LISTED`` are the combinations ``grnlib datasets`` shows."""

    LISTED = (("trrust+dorothea", "hESC"), ("trrust+dorothea", "hHEP"),
              ("collectri", "hESC"), ("collectri", "hHEP"))

    @classmethod
    def ids(cls):
        manifest = load_manifest()
        ids = [DatasetId("seed", resources, expression) for resources, expression in cls.LISTED]
        return [d for d in ids if all(rel in manifest for rel in cls.relpaths(d).values())]

    @classmethod
    def parse(cls, text):
        parts = text.split("/")
        if len(parts) != 3 or parts[0] != "seed":
            return None
        resources = parts[1].split("+")
        expressions = (*seed.EXPRESSION_SOURCES, seed.NO_EXPRESSION)
        if not resources or len(set(resources)) != len(resources) or not set(resources) <= set(seed.RESOURCES) \
                or parts[2] not in expressions:
            raise DataError(None, f"unknown dataset id {text!r}",
                            f"seed ids are seed/<resources>/<expression>: resources from {list(seed.RESOURCES)} "
                            f"joined by '+', expression one of {list(expressions)}, e.g. seed/trrust+dorothea/hESC")
        ordered = "+".join(r for r in seed.RESOURCES if r in resources)
        return DatasetId("seed", ordered, parts[2])

    @classmethod
    def format(cls, did):
        return f"seed/{did.network}/{did.cell}"

    @classmethod
    def relpaths(cls, did):
        files = {name: seed.RESOURCES[name] for name in did.network.split("+")}
        if did.cell != seed.NO_EXPRESSION:
            files["expression"] = seed.EXPRESSION_SOURCES[did.cell]
        return files

    @classmethod
    def listing_files(cls, did):
        return list(cls.relpaths(did).values())  # the matrix's genes define the universe

    @classmethod
    def load(cls, did, folder, downloadable, with_expression, missing_genes):
        return seed.seed_dataset(did.network.split("+"), did.cell, root=folder, with_expression=with_expression)


@register_family("subsample", title="subsampled BEELINE", order=4)
class SubsampleFamily(DatasetFamily):
    """A BEELINE network subsampled to a few hundred edges: the regime of a user's small prior network
    (tens of TFs, a few hundred edges), drawn from the development settings.

    ``edges`` edges are drawn uniformly without replacement from the setting's network with a
    generator seeded by (setting, edges, draw); TFs left without an edge are no longer TFs (a user's
    TF list is the TFs of their network); genes and expression are the setting's own. Listed: every
    non-reserved setting with expression (the development grid) at :data:`EDGES` x :data:`DRAWS`;
    any other edge count or draw parses too. A subsample of a reserved setting is reserved."""

    EDGES = (150, 300)
    DRAWS = (0, 1, 2)

    @classmethod
    def ids(cls):
        manifest = load_manifest()
        bases = [d for d in BeelineFamily.ids() if not d.reserved
                 and beeline.expression_relpath(d.network, d.cell, d.size) in manifest]
        return [DatasetId("subsample", d.network, d.cell, d.size, f"{edges}-{draw}")
                for d in bases for edges in cls.EDGES for draw in cls.DRAWS]

    @classmethod
    def parse(cls, text):
        parts = text.split("/")
        if len(parts) != 5 or parts[0] != "subsample":
            return None
        edges, _, draw = parts[4].partition("-")
        base = BeelineFamily.parse("/".join(["beeline", *parts[1:4]]))
        if base is None or not (edges.isdigit() and draw.isdigit() and int(edges) > 0):
            raise DataError(None, f"unknown dataset id {text!r}",
                            "subsample ids are subsample/<Network>/<Cell>/<500|1000>/<edges>-<draw> of a BEELINE "
                            "setting, e.g. subsample/STRING/hHEP/500/150-0")
        return DatasetId("subsample", base.network, base.cell, base.size, f"{int(edges)}-{int(draw)}")

    @classmethod
    def format(cls, did):
        return f"subsample/{did.network}/{did.cell}/{did.size}/{did.variant}"

    @staticmethod
    def base(did: DatasetId) -> DatasetId:
        return DatasetId("beeline", did.network, did.cell, did.size)

    @classmethod
    def reserved(cls, did):
        return BeelineFamily.reserved(cls.base(did))

    @classmethod
    def relpaths(cls, did):
        return BeelineFamily.relpaths(cls.base(did))

    @classmethod
    def load(cls, did, folder, downloadable, with_expression, missing_genes):
        ds = _beeline_base(cls.base(did), folder, downloadable, with_expression, missing_genes)
        edges, draw = (int(v) for v in did.variant.split("-"))
        return subsample_network(ds, edges, draw, id=str(did))

    @classmethod
    def counts(cls, did, folder):
        ds = cls.load(did, folder, False, False, "zeros")
        return ds.n_genes, ds.n_tfs, ds.n_edges


@functools.lru_cache(maxsize=2)
def _beeline_base(did: DatasetId, folder: Path, downloadable: bool, with_expression: bool,
                  missing_genes: str) -> GRNDataset:
    """The BEELINE setting behind subsamples, read once for the six subsamples a sweep runs in a row
    (never modified: :func:`subsample_network` builds a new dataset around it)."""
    return BeelineFamily.load(did, folder, downloadable, with_expression, missing_genes)


def subsample_network(ds: GRNDataset, edges: int, draw: int, id: str | None = None) -> GRNDataset:
    """``ds`` with ``edges`` of its edges drawn uniformly (seeded by its id, ``edges`` and ``draw``);
    only TFs that keep an edge stay TFs. Genes, expression and source are shared with ``ds``."""
    import zlib

    import numpy as np

    if not 0 < edges <= ds.n_edges:
        raise DataError(ds.source, f"cannot subsample {ds.id} ({ds.n_edges} edges) to {edges} edges",
                        f"ask for 1 to {ds.n_edges} edges")
    rng = np.random.default_rng([zlib.crc32(str(ds.id).encode()), int(edges), int(draw)])
    keep = np.sort(rng.choice(ds.n_edges, size=edges, replace=False))
    kept = ds.edges.iloc[keep].reset_index(drop=True)
    tf_ids = np.unique(kept["tf"].to_numpy()).astype(np.int64)
    meta = {**ds.meta, "subsampled_from": ds.id, "subsample_edges": int(edges), "subsample_draw": int(draw)}
    return GRNDataset(id=id or f"{ds.id}@{edges}-{draw}", genes=ds.genes, tf_ids=tf_ids, edges=kept,
                      expression=ds.expression, source=ds.source, meta=meta)


# -- the generic part: every function below works for every registered family ---------------
def family(name: str) -> type[DatasetFamily]:
    """The registered :class:`DatasetFamily` called ``name``; DataError listing the valid ones."""
    if name not in FAMILIES:
        raise DataError(None, f"unknown dataset family {name!r}", f"use one of {family_names()}")
    return FAMILIES[name]


def family_names() -> list[str]:
    """Registered family names in listing order."""
    return sorted(FAMILIES.names(), key=lambda n: FAMILIES.info(n).order)


def known_ids(families=None) -> list[DatasetId]:
    """Every listed dataset id (of ``families``, default all), in a stable order by family."""
    return [did for name in (families or family_names()) for did in family(name).ids()]


def parse_id(text: str | DatasetId) -> DatasetId:
    """Parse and check a dataset id; DataError with close matches when it is unknown."""
    if isinstance(text, DatasetId):
        return text
    wanted = str(text).strip().strip("/")
    prefix = wanted.split("/", 1)[0]
    if prefix in FAMILIES:
        did = FAMILIES[prefix].parse(wanted)
        if did is not None:
            return did
    ids = [str(d) for d in known_ids()]
    close = difflib.get_close_matches(wanted, ids, n=3, cutoff=0.5)
    hint = f"did you mean {close}?" if close else "run `grnlib datasets` for the list"
    raise DataError(None, f"unknown dataset id {wanted!r}", f"use an id such as beeline/Specific/hHEP/500; {hint}")


def is_reserved(id: str | DatasetId) -> bool:
    """True for the final-evaluation sets (mHSC-L, Lofgof)."""
    return parse_id(id).reserved


def _available(relpath: str, folder: Path, downloadable: bool) -> bool:
    return (folder / relpath).is_file() or (downloadable and relpath in load_manifest())


def load_dataset(id: str | DatasetId, root=None, *, with_expression: bool = True,
                 missing_genes: str = "zeros") -> GRNDataset:
    """Load a dataset by id, e.g. ``load_dataset("beeline/Specific/hHEP/500")``.

    Args:
        id: see the module docstring.
        root: data root (see :func:`grnlib.data.data_root`).
        with_expression: False skips the expression matrix (faster); genes, TFs and edges
            are the same either way.
        missing_genes: for expression that lacks genes of the universe (Lofgof 1000 borrows
            the 500-gene mESC matrix): ``"zeros"`` (zero profiles + warning) or ``"raise"``.

    Settings without an expression file (e.g. hESC) load with ``expression=None``.
    """
    did = parse_id(id)
    folder, downloadable = _resolve(root)
    ds = FAMILIES[did.family].load(did, folder, downloadable, with_expression, missing_genes)
    ds.id = str(did)
    ds.meta.update({"family": did.family, "network": did.network, "cell": did.cell, "size": did.size,
                    "reserved": did.reserved})
    return ds


def split_samples(id: str | DatasetId, root=None) -> list[int]:
    """Released split samples (1-based) available for an id; [] for families without them."""
    did = parse_id(id)
    folder, downloadable = _resolve(root)
    samples = []
    for sample in range(1, 100):
        rels = FAMILIES[did.family].split_relpaths(did, sample)
        if rels is None or not all(_available(rel, folder, downloadable) for rel in rels.values()):
            break
        samples.append(sample)
    return samples


def load_split(id: str | DatasetId, sample: int = 1, root=None) -> dict[str, pd.DataFrame]:
    """A released GENELink split: ``{"train", "val", "test"}`` -> pair table (tf, target, label).

    Ids are those of the dataset's ``Target.csv`` (checked to be in range). The published
    protocol has known flaws (see the data README); measure them with the audit tools.
    """
    did = parse_id(id)
    fam = FAMILIES[did.family]
    if not FAMILIES.info(did.family).ships_splits:
        with_splits = [FAMILIES.info(n).title for n in family_names() if FAMILIES.info(n).ships_splits]
        raise DataError(None, f"{did} has no released splits (only {', '.join(with_splits)} settings have them)",
                        "make a split with grnlib.evaluation.protocols.make_split instead")
    samples = split_samples(did, root)
    if sample not in samples:
        have = f"samples {samples}" if samples else "no released splits (only settings with expression have them)"
        raise DataError(None, f"{did} has no released split sample {sample!r}; it has {have}",
                        "pick an available sample, or another protocol" if samples else
                        "choose a setting listed with n_splits > 0 by `grnlib datasets`")
    folder, _ = _resolve(root)
    files = {part: fetch(rel, folder) for part, rel in fam.split_relpaths(did, sample).items()}
    return fam.read_split(did, folder, files)


def describe(id: str | DatasetId, root=None) -> dict:
    """One row of :func:`list_datasets` for any id (listed or not): counts, expression, splits.

    Raises DataError when a file the id needs is absent from a local data folder."""
    did = parse_id(id)
    folder, downloadable = _resolve(root)
    fam = FAMILIES[did.family]
    paths = [fetch(rel, folder) for rel in fam.listing_files(did)]
    stamp = tuple(p.stat().st_mtime_ns for p in paths)
    n_genes, n_tfs, n_edges = _counts(str(folder), str(did), stamp)
    has_expression = fam.has_expression(did, lambda rel: _available(rel, folder, downloadable))
    return {"id": str(did), "family": did.family, "network": did.network, "cell": did.cell,
            "size": did.size, "n_genes": n_genes, "n_tfs": n_tfs, "n_edges": n_edges,
            "has_expression": has_expression, "n_splits": len(split_samples(did, folder)),
            "reserved": did.reserved}


def list_datasets(root=None, families=None) -> pd.DataFrame:
    """One row per dataset id with its size, for choosing what to run.

    Columns: ``id, family, network, cell, size, n_genes, n_tfs, n_edges, has_expression,
    n_splits, reserved``. Counts come from the label/TF/gene files only (expression values are
    never read; ``has_expression`` is whether its file exists). In a local data folder, ids whose
    files are absent are left out; in the download cache the small label files are fetched.
    Counts are cached per process, keyed on file modification times. ``families`` limits the
    table to those families (default: all, in registration order).
    """
    folder, downloadable = _resolve(root)
    rows = [describe(did, folder) for did in known_ids(families)
            if all(_available(rel, folder, downloadable) for rel in FAMILIES[did.family].listing_files(did))]
    return as_table(rows)


def as_table(rows: list[dict]) -> pd.DataFrame:
    """Rows of :func:`describe` as the typed dataset table."""
    table = pd.DataFrame(rows, columns=list(LIST_COLUMNS))
    return table.astype({"size": "Int64", "n_genes": "int64", "n_tfs": "int64", "n_edges": "int64",
                         "n_splits": "int64", "has_expression": bool, "reserved": bool})


@functools.lru_cache(maxsize=256)
def _counts(folder: str, id: str, stamp: tuple) -> tuple[int, int, int]:
    did = parse_id(id)
    return FAMILIES[did.family].counts(did, Path(folder))
