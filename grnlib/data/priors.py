"""Human literature TF->target priors (TRRUST v2, DoRothEA, CollecTRI) as one tidy edge table."""
from __future__ import annotations

import numpy as np
import pandas as pd

from grnlib.errors import DataError
from grnlib.data.download import fetch
from grnlib.data.symbols import normalise_symbols
from grnlib.data.validate import read_table, require_no_missing

RESOURCES = {
    "trrust": "priors/human/trrust_rawdata.human.tsv.gz",
    "dorothea": "priors/human/dorothea.csv.gz",
    "collectri": "priors/human/collectri.csv.gz",
}
PRIOR_COLUMNS = ("source", "target", "sign", "resource", "confidence")
DOROTHEA_LEVELS = "ABCDE"
TRRUST_MODES = {"Activation": 1, "Repression": -1, "Unknown": 0}
# CollecTRI (as decoupler's get_collectri(split_complexes=False) writes it) names two
# regulators by their complex: AP-1 dimers of the JUN/FOS families and NF-kB dimers.
COMPLEXES = {
    "AP1": ("FOS", "FOSB", "FOSL1", "FOSL2", "JUN", "JUNB", "JUND"),
    "NFKB": ("NFKB1", "NFKB2", "REL", "RELA", "RELB"),
}
COMPLEX_MODES = ("drop", "expand", "keep")


def load_priors(resources=("trrust", "dorothea"), dorothea_levels: str = "ABC", root=None,
                complexes: str = "drop") -> pd.DataFrame:
    """Literature priors as one table with columns ``source, target, sign, resource, confidence``.

    Args:
        resources: any of ``"trrust"``, ``"dorothea"``, ``"collectri"``.
        dorothea_levels: DoRothEA confidence letters to keep (subset of ``"ABCDE"``; the
            shipped table holds A–C).
        root: data root (see :func:`grnlib.data.data_root`).
        complexes: CollecTRI regulators that are complexes (``AP1``, ``NFKB``, or OmniPath
            ``COMPLEX:A_B`` names). ``"drop"`` (default) removes their edges: a complex is not
            a gene, has no expression profile, and crediting every subunit with every edge would
            invent edges no study reported. ``"expand"`` gives each member gene (``COMPLEXES``)
            the complex's edges, like decoupler's ``split_complexes=True``; ``"keep"`` leaves the
            complex name as the source. The count is in ``attrs["report"]``.

    Symbols are stripped and upper-cased. Within a resource, self-loops are dropped and
    duplicated ``(source, target)`` rows merged (sign kept when they agree, else 0; best
    confidence kept). ``sign``: +1 activation, -1 repression, 0 unknown/conflicting (TRRUST
    mode; sign of the DoRothEA/CollecTRI weight). ``confidence``: the DoRothEA level, empty
    for the other resources. ``attrs["report"][resource]`` has the raw row count and what
    was dropped or merged.

    Returns:
        DataFrame, resources in the order given, each sorted by source, target; ``sign`` int8.
    """
    if isinstance(resources, str):
        resources = (resources,)
    unknown = [r for r in resources if r not in RESOURCES]
    if unknown or not resources:
        raise DataError(None, f"unknown prior resource(s) {unknown or '(none given)'}",
                        f"choose from {list(RESOURCES)}")
    levels = str(dorothea_levels).upper()
    if not levels or set(levels) - set(DOROTHEA_LEVELS):
        raise DataError(None, f"dorothea_levels={dorothea_levels!r} must be letters from {DOROTHEA_LEVELS}",
                        "pass e.g. 'ABC'")
    if complexes not in COMPLEX_MODES:
        raise DataError(None, f"complexes={complexes!r} is not one of {COMPLEX_MODES}", "pass 'drop' or 'expand'")
    tables, report = [], {}
    for resource in dict.fromkeys(resources):
        path = fetch(RESOURCES[resource], root)
        raw = _READERS[resource](path)
        info = {"rows": len(raw)}
        if resource == "dorothea":
            keep = raw["confidence"].isin(list(levels))
            info["below_level"] = int((~keep).sum())
            raw = raw[keep]
        if resource == "collectri":
            raw, info["complex_rows"] = _handle_complexes(raw, complexes)
        table, merged, loops = _tidy(raw)
        info.update(self_loops=loops, duplicates_merged=merged, edges=len(table))
        table.insert(3, "resource", resource)
        tables.append(table)
        report[resource] = info
    out = pd.concat(tables, ignore_index=True)[list(PRIOR_COLUMNS)]  # resources in the order asked
    out["sign"] = out["sign"].astype(np.int8)
    out.attrs["report"] = report
    return out


def _read_trrust(path) -> pd.DataFrame:
    what = "TRRUST table"
    df = read_table(path, sep="\t", header=None, names=["source", "target", "mode", "pmids"],
                    min_columns=3, what=what)
    require_no_missing(df, ["source", "target", "mode"], path, what)
    bad = ~df["mode"].isin(list(TRRUST_MODES))
    if bad.any():
        raise DataError(path, f"unknown regulation mode(s) {sorted(df.loc[bad, 'mode'].unique())[:5]}",
                        f"use one of {list(TRRUST_MODES)}")
    return pd.DataFrame({"source": df["source"], "target": df["target"],
                         "sign": df["mode"].map(TRRUST_MODES), "confidence": ""})


def _read_signed(path, what: str, with_confidence: bool) -> pd.DataFrame:
    required = ("source", "target", "weight") + (("confidence",) if with_confidence else ())
    df = read_table(path, required=required, what=what)
    require_no_missing(df, list(required), path, what)
    weight = pd.to_numeric(df["weight"], errors="coerce")
    if not np.isfinite(weight.to_numpy(dtype=float)).all():
        raise DataError(path, f"{what} has non-numeric or infinite weights", "restore the original table")
    confidence = df["confidence"].astype(str).str.strip().str.upper() if with_confidence else ""
    if with_confidence:
        bad = ~confidence.isin(list(DOROTHEA_LEVELS))
        if bad.any():
            raise DataError(path, f"confidence must be a letter A–E; found {sorted(confidence[bad].unique())[:5]}",
                            "restore the original DoRothEA table")
    return pd.DataFrame({"source": df["source"], "target": df["target"],
                         "sign": np.sign(weight).astype(int), "confidence": confidence})


_READERS = {
    "trrust": _read_trrust,
    "dorothea": lambda path: _read_signed(path, "DoRothEA table", with_confidence=True),
    "collectri": lambda path: _read_signed(path, "CollecTRI table", with_confidence=False),
}


def complex_members(name: str) -> tuple[str, ...]:
    """Member genes of a complex regulator name, or () when the name is a single gene."""
    name = name.strip().upper()
    if name in COMPLEXES:
        return COMPLEXES[name]
    if name.startswith("COMPLEX:"):
        return tuple(part for part in name.removeprefix("COMPLEX:").split("_") if part)
    return ()


def _handle_complexes(raw: pd.DataFrame, mode: str) -> tuple[pd.DataFrame, int]:
    members = raw["source"].map(complex_members)
    is_complex = members.str.len() > 0
    n = int(is_complex.sum())
    if mode == "keep" or n == 0:
        return raw, n
    if mode == "drop":
        return raw[~is_complex], n
    expanded = raw[is_complex].assign(source=members[is_complex]).explode("source")
    return pd.concat([raw[~is_complex], expanded], ignore_index=True), n


def _tidy(raw: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    """Normalise symbols, drop self-loops, merge duplicated pairs -> (table, merged, self-loops)."""
    df = raw.assign(source=normalise_symbols(raw["source"]).to_numpy(),
                    target=normalise_symbols(raw["target"]).to_numpy())
    loops = df["source"] == df["target"]
    # Sorting puts the best confidence ("A" < "B" < ...; "" when unranked) first in each pair.
    df = df[~loops].sort_values(["source", "target", "confidence"], kind="stable")
    bounds = df.groupby(["source", "target"], sort=True)["sign"].agg(["min", "max"])
    table = df.drop_duplicates(["source", "target"])[["source", "target", "confidence"]].reset_index(drop=True)
    # Agreeing signs survive a merge; disagreeing ones (activation and repression) become 0.
    signs = np.where(bounds["min"] == bounds["max"], bounds["min"], 0)
    table.insert(2, "sign", signs)
    return table, len(df) - len(table), int(loops.sum())
