"""The knowledge study: annotation evidence for held-out TFs, beside the floors and the two controls.

For every development setting, seed and TF fold of the ``heldout-tf`` protocol, the test pairs are
scored by the floors (``degree``, ``edge_prior``), ``knowledge`` and its controls
(``knowledge_shuffled``, ``knowledge_blind``), all fitted on the training pairs only. Per-TF AUROC is
averaged over the held-out TFs of a fold, pooled AUROC taken over the fold's test pairs; both are then
averaged per setting, and differences are paired over settings with a t interval
(:func:`grnlib.evaluation.metrics.paired_ci`, df = settings - 1).

``python benchmarks/knowledge.py`` runs it and writes ``results/knowledge/``.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from grnlib.data import is_reserved, load_dataset
from grnlib.data.knowledge import KNOWLEDGE_SOURCES
from grnlib.evaluation.baselines import score_baseline
from grnlib.evaluation.knowledge import fitted_scorer
from grnlib.evaluation.metrics import auroc, paired_ci, per_tf_auroc
from grnlib.evaluation.protocols import make_split

NETWORKS = ("Non-Specific", "STRING", "Specific")
CELLS = ("hHEP", "mESC", "mDC")
DEVELOPMENT = tuple(f"beeline/{net}/{cell}/500" for net in NETWORKS for cell in CELLS)
METHODS = ("degree", "edge_prior", "knowledge", "knowledge_shuffled", "knowledge_blind")
#: The comparisons of the summary: (method, reference).
CONTRASTS = (("knowledge", "degree"), ("knowledge", "floor"), ("knowledge", "knowledge_shuffled"),
             ("knowledge", "knowledge_blind"), ("knowledge_blind", "degree"))
#: The knowledge evidence as features of pair_evidence (grnlib.evaluation.presets), per protocol: the lead model,
#: its shuffled-annotation and identity-blind controls, and the same model without knowledge.
MODEL_LEADS = {
    "heldout-tf": {"lead": "pair_evidence_knowledge_heldout", "shuffled": "pair_evidence_knowledge_shuffled_heldout",
                   "blind": "pair_evidence_knowledge_blind_heldout", "without": "pair_evidence_heldout"},
    "released": {"lead": "pair_evidence_knowledge", "shuffled": "pair_evidence_knowledge_shuffled",
                 "blind": "pair_evidence_knowledge_blind", "without": "pair_evidence_residual"}}


#: The motif study: the knowledge score with the JASPAR motif similarity as a further TF-TF source, with it in
#: place of the JASPAR family, and with the motifs shuffled across genes (the other sources intact). Each is
#: the keyword arguments of :func:`grnlib.evaluation.knowledge.fitted_scorer`.
MOTIF_VARIANTS = {
    "knowledge_motif": {"sources": (*KNOWLEDGE_SOURCES, "motif")},
    "knowledge_motif_shuffled": {"sources": (*KNOWLEDGE_SOURCES, "motif"), "control": "shuffled",
                                 "shuffle": ("motif",)},
    "knowledge_motif_not_family": {"sources": tuple(s for s in KNOWLEDGE_SOURCES if s != "jaspar") + ("motif",)},
}
MOTIF_METHODS = ("degree", "edge_prior", "knowledge", *MOTIF_VARIANTS)
MOTIF_CONTRASTS = (("knowledge_motif", "knowledge"), ("knowledge_motif", "knowledge_motif_shuffled"),
                   ("knowledge_motif_shuffled", "knowledge"), ("knowledge_motif_not_family", "knowledge"),
                   ("knowledge_motif", "degree"), ("knowledge", "degree"))


def motif_verdict(summary: pd.DataFrame) -> pd.DataFrame:
    """Whether the motif source earns its place, per network type and metric: ``knowledge_motif`` beats
    ``knowledge`` (the same sources without motifs) and the shuffled-motif control, each with the whole
    t interval above 0."""
    rows = []
    for (network, metric), part in summary.groupby(["network", "metric"], sort=False):
        def gain(reference):
            hit = part[(part["method"] == "knowledge_motif") & (part["reference"] == reference)]
            return hit.iloc[0] if len(hit) else None
        without, shuffled = gain("knowledge"), gain("knowledge_motif_shuffled")
        if without is None or shuffled is None:
            continue
        rows.append({"network": network, "metric": metric, "vs_without": without["delta"],
                     "vs_without_ci": f"[{without['ci_low']:+.4f}, {without['ci_high']:+.4f}]",
                     "vs_shuffled": shuffled["delta"],
                     "vs_shuffled_ci": f"[{shuffled['ci_low']:+.4f}, {shuffled['ci_high']:+.4f}]",
                     "earns_its_place": bool(without["ci_low"] > 0 and shuffled["ci_low"] > 0)})
    return pd.DataFrame(rows)


def model_contrasts(protocol: str) -> tuple:
    """The summary's comparisons for the pair_evidence knowledge study of ``protocol`` (:data:`MODEL_LEADS`)."""
    lead = MODEL_LEADS[protocol]
    return ((lead["lead"], "degree"), (lead["lead"], "floor"), (lead["lead"], lead["shuffled"]),
            (lead["lead"], lead["blind"]), (lead["lead"], lead["without"]), (lead["lead"], "knowledge"),
            (lead["blind"], "degree"), ("knowledge", "degree"))


def model_methods(protocol: str) -> tuple:
    """The floors and every model of :data:`MODEL_LEADS` for ``protocol`` (the ``knowledge`` score itself has its
    own, larger study; add it to compare on the same splits)."""
    return ("degree", "edge_prior", *MODEL_LEADS[protocol].values())


def run_study(settings=DEVELOPMENT, seeds=(0,), n_folds: int = 5, methods=METHODS, log=print,
              protocol: str = "heldout-tf", folds=None) -> pd.DataFrame:
    """One row per (setting, seed, fold, method): ``per_tf_auroc`` (mean over the test TFs),
    ``pooled_auroc``, the test TFs and the knowledge combination chosen on training TFs.

    ``protocol``: ``heldout-tf`` (folds over TFs) or ``released`` (the published splits: seed k is
    sample k + 1, one "fold"). ``folds``: which of the ``n_folds`` TF folds run (default all).
    ``methods`` may name trained presets (e.g. :func:`model_methods`): they are trained on the split's
    training pairs through :func:`grnlib.evaluation.experiment.evaluate_split` (and its run cache), or the
    knowledge variants of :data:`MOTIF_VARIANTS` (:data:`MOTIF_METHODS`)."""
    from grnlib.evaluation.baselines import BASELINES
    from grnlib.evaluation.experiment import evaluate_split

    trained = [m for m in methods if m not in BASELINES and m not in MOTIF_VARIANTS]
    rows = []
    for setting in settings:
        if is_reserved(setting):
            raise ValueError(f"{setting} is reserved for the final evaluation; the knowledge study never runs on it")
        ds = load_dataset(setting)
        started = time.time()
        for seed in seeds:
            for fold in (range(n_folds) if folds is None else folds) if protocol != "released" else (0,):
                split = make_split(ds, protocol, seed=seed, fold=fold, n_folds=n_folds)
                test = split["test"]
                # the knowledge score's combination, chosen on inner splits of the training TFs (when it runs)
                chosen = fitted_scorer(ds, split["train"], seed=seed) if "knowledge" in methods else None
                models = evaluate_split(ds, split, trained, baselines=(), seed=seed).test_scores if trained else {}
                for method in methods:
                    if method in MOTIF_VARIANTS:
                        scorer = fitted_scorer(ds, split["train"], seed=seed, **MOTIF_VARIANTS[method])
                        scores = scorer.score(test["tf"].to_numpy(), test["target"].to_numpy())
                    else:
                        scores = (models[method] if method in models
                                  else score_baseline(method, ds, split["train"], test, seed=seed))
                    per_tf = per_tf_auroc(test, scores)
                    rows.append({"setting": setting, "network": setting.split("/")[1],
                                 "cell": setting.split("/")[2], "protocol": protocol, "seed": seed, "fold": fold,
                                 "method": method,
                                 "per_tf_auroc": float(per_tf["auroc"].mean()),
                                 "pooled_auroc": auroc(test["label"], scores), "n_tfs": len(per_tf),
                                 **({"lam": chosen.lam, "mu": chosen.mu, "real_only": chosen.real_only}
                                    if chosen is not None else {})})
        runs_of = (f"{n_folds if folds is None else len(folds)} of {n_folds} TF folds" if protocol != "released"
                   else "1 released split")
        log(f"knowledge study: {setting}, {protocol} ({len(seeds)} seed(s) x {runs_of}) in {time.time() - started:.0f} s")
    return pd.DataFrame(rows)


def per_setting(runs: pd.DataFrame) -> pd.DataFrame:
    """Metrics averaged over seeds and folds: one row per (setting, method), plus the ``floor`` (the
    better of degree and edge_prior on each fold's pooled AUROC; degree per TF)."""
    means = runs.groupby(["setting", "network", "cell", "method"], as_index=False)[
        ["per_tf_auroc", "pooled_auroc"]].mean()
    folds = runs.pivot_table(index=["setting", "network", "cell", "seed", "fold"], columns="method",
                             values=["per_tf_auroc", "pooled_auroc"])
    floors = [name for name in ("degree", "edge_prior") if ("pooled_auroc", name) in folds.columns]
    floor = pd.DataFrame({"per_tf_auroc": folds[[("per_tf_auroc", n) for n in floors]].max(axis=1),
                          "pooled_auroc": folds[[("pooled_auroc", n) for n in floors]].max(axis=1)})
    floor = floor.groupby(level=["setting", "network", "cell"]).mean().reset_index().assign(method="floor")
    return pd.concat([means, floor], ignore_index=True).sort_values(["setting", "method"], ignore_index=True)


def summarise(runs: pd.DataFrame, contrasts=CONTRASTS) -> pd.DataFrame:
    """Paired differences over settings (t interval), per network type and over all of them."""
    table = per_setting(runs)
    rows = []
    for network in [*NETWORKS, "all"]:
        part = table if network == "all" else table[table["network"] == network]
        if part.empty:
            continue
        wide = part.pivot_table(index="setting", columns="method", values=["per_tf_auroc", "pooled_auroc"])
        for metric in ("per_tf_auroc", "pooled_auroc"):
            for method, reference in contrasts:
                if (metric, method) not in wide or (metric, reference) not in wide:
                    continue
                ci = paired_ci(wide[(metric, method)].to_numpy(), wide[(metric, reference)].to_numpy())
                rows.append({"network": network, "metric": metric, "method": method, "reference": reference,
                             "method_mean": float(wide[(metric, method)].mean()),
                             "reference_mean": float(wide[(metric, reference)].mean()),
                             "delta": ci["delta"], "ci_low": ci["ci_low"], "ci_high": ci["ci_high"],
                             "n_settings": ci["n"]})
    return pd.DataFrame(rows)


def goals(summary: pd.DataFrame, protocol: str = "heldout-tf", lead: str = "knowledge",
          shuffled: str = "knowledge_shuffled", blind: str = "knowledge_blind") -> pd.DataFrame:
    """The issue's goals for ``protocol``, each with its measured value and verdict, for the ``lead`` method
    and its controls (``shuffled``, ``blind``; :data:`MODEL_LEADS` for the pair_evidence study)."""
    def value(network, metric, method, reference):
        hit = summary[(summary["network"] == network) & (summary["metric"] == metric)
                      & (summary["method"] == method) & (summary["reference"] == reference)]
        return hit.iloc[0] if len(hit) else None

    specs = [("Non-Specific per-TF AUROC >= degree + 0.05", "Non-Specific", "per_tf_auroc", "degree", 0.05),
             ("Non-Specific pooled AUROC >= floor + 0.05", "Non-Specific", "pooled_auroc", "floor", 0.05),
             ("Specific: no loss beyond noise (per-TF, vs degree)", "Specific", "per_tf_auroc", "degree", None),
             ("Non-Specific per-TF gain net of the shuffled control > 0", "Non-Specific", "per_tf_auroc",
              shuffled, 0.0),
             ("Non-Specific per-TF gain net of the identity-blind control > 0", "Non-Specific", "per_tf_auroc",
              blind, 0.0),
             ("Non-Specific pooled gain net of the identity-blind control > 0", "Non-Specific", "pooled_auroc",
              blind, 0.0)]
    if protocol == "released":
        specs = [("Released: Non-Specific per-TF AUROC >= degree + 0.06", "Non-Specific", "per_tf_auroc", "degree",
                  0.06), *specs[2:]]
    rows = []
    for goal, network, metric, reference, target in specs:
        hit = value(network, metric, lead, reference)
        if hit is None:
            continue
        if target is None:  # no loss beyond noise: the interval reaches 0
            met = hit["ci_high"] >= 0
        elif target == 0.0:  # a gain net of a control: the whole interval above 0
            met = hit["ci_low"] > 0
        else:  # a margin goal: the mean over settings
            met = hit["delta"] >= target
        rows.append({"goal": goal, "method": lead, "reference": reference, "delta": hit["delta"],
                     "ci_low": hit["ci_low"], "ci_high": hit["ci_high"], "met": bool(met)})
    if protocol != "released":  # the moonshot: the smallest per-TF gain over degree, every network type measured
        gains = summary[(summary["method"] == lead) & (summary["reference"] == "degree")
                        & (summary["metric"] == "per_tf_auroc") & summary["network"].isin(NETWORKS)]
        if len(gains):
            worst = gains.loc[gains["delta"].idxmin()]
            goal = f"Stretch goal: per-TF AUROC >= degree + 0.10 on every network type (worst: {worst['network']})"
            rows.append({"goal": goal, "method": lead, "reference": "degree", "delta": worst["delta"],
                         "ci_low": worst["ci_low"], "ci_high": worst["ci_high"],
                         "met": bool(gains["delta"].min() >= 0.10 and set(gains["network"]) == set(NETWORKS))})
    return pd.DataFrame(rows)


def chosen_combinations(runs: pd.DataFrame) -> pd.DataFrame:
    """How often each (lambda, mu, real_only) was chosen on the inner splits, per network."""
    one = runs[runs["method"] == "knowledge"]
    if one.empty or "lam" not in one:
        return pd.DataFrame(columns=["network", "lam", "mu", "real_only", "folds"])
    return (one.groupby(["network", "lam", "mu", "real_only"]).size().rename("folds").reset_index()
            .sort_values(["network", "folds"], ascending=[True, False], ignore_index=True))



def setting_margins(table: pd.DataFrame, metric: str = "per_tf_auroc", contrasts=CONTRASTS) -> pd.DataFrame:
    """Settings x contrasts: ``method - reference`` of ``metric`` per setting (from :func:`per_setting`,
    e.g. ``results/knowledge/per_setting.csv``), for a heatmap beside the summary."""
    wide = table.pivot_table(index="setting", columns="method", values=metric)
    order = [s for s in DEVELOPMENT if s in wide.index] + [s for s in wide.index if s not in DEVELOPMENT]
    return pd.DataFrame({f"{m} - {r}": wide[m] - wide[r] for m, r in contrasts
                         if m in wide and r in wide}).loc[order]


# --- the committed studies, for chapter 12 ---------------------------------------------------------------

#: The committed studies under ``results/knowledge``: label -> (sub-folder, protocol, lead method).
STUDIES = {
    "held-out TFs: knowledge score": ("", "heldout-tf", "knowledge"),
    "held-out TFs: pair_evidence + knowledge": ("pair_evidence", "heldout-tf", MODEL_LEADS["heldout-tf"]["lead"]),
    "released: knowledge score": ("released", "released", "knowledge"),
    "released: pair_evidence + knowledge": ("pair_evidence/released", "released", MODEL_LEADS["released"]["lead"]),
}


def load_studies(folder="results/knowledge") -> dict:
    """{label: {"summary", "per_setting", "goals", "lead", "protocol", "slug"}} of every study of :data:`STUDIES`
    committed under ``folder`` (relative to the project root unless absolute); a study not run yet is left out."""
    from pathlib import Path

    from grnlib.paths import project_root

    root = Path(folder) if Path(folder).is_absolute() else project_root() / folder
    studies = {}
    for label, (sub, protocol, lead) in STUDIES.items():
        where = root / sub
        if (where / "summary.csv").is_file():
            studies[label] = {name: pd.read_csv(where / f"{name}.csv") for name in ("summary", "per_setting", "goals")}
            studies[label].update(lead=lead, protocol=protocol, slug=f"{protocol}_{lead}")
    return studies


def gains_panel(summary: pd.DataFrame, lead: str, title: str = "") -> dict:
    """The figure spec (for :func:`grnlib.plots.panels`, a forest plot) of ``lead``'s paired gains per network
    type against each reference (floors, controls, the model without knowledge), per-TF and pooled AUROC, with
    their t intervals."""
    rows = summary[(summary["method"] == lead) & summary["network"].isin(NETWORKS)]
    return {"kind": "forest", "table": rows.assign(label=rows["network"] + " - " + rows["reference"]),
            "label": "label", "value": "delta", "low": "ci_low", "high": "ci_high", "group": "metric",
            "title": title, "xlabel": f"{lead} minus the reference (AUROC, 95 % t interval over settings)"}


def findings(studies: dict) -> list[str]:
    """One sentence per study: each goal of :func:`goals` with its measured gain, interval and verdict."""
    lines = []
    for label, study in studies.items():
        # four decimals, cut (not rounded), so a gain of 0.04999 never reads as the 0.05 it missed
        parts = [f"{row.goal}: {np.trunc(row.delta * 1e4) / 1e4:+.4f} [{row.ci_low:+.3f}, {row.ci_high:+.3f}], "
                 f"{'**met**' if str(row.met) == 'True' else 'missed'}" for row in study["goals"].itertuples()]
        lines.append(f"*{label}* (`{study['lead']}`): " + "; ".join(parts) + ".")
    return lines


def load_motif_study(folder="results/knowledge_motif") -> dict:
    """The committed motif study in ``folder`` (``benchmarks/knowledge.py --motif``; relative to the project root
    unless absolute): ``{"summary": its paired differences, "verdict": :func:`motif_verdict`}``.

    Raises:
        DataError when the study has not run there.
    """
    from pathlib import Path

    from grnlib.errors import DataError
    from grnlib.paths import project_root

    root = Path(folder) if Path(folder).is_absolute() else project_root() / folder
    if not (root / "summary.csv").is_file():
        raise DataError(root / "summary.csv", "the motif study has not run",
                        f"run `python benchmarks/knowledge.py --motif --seeds 0,1,2 --out {folder}`")
    summary = pd.read_csv(root / "summary.csv")
    return {"summary": summary, "verdict": motif_verdict(summary)}


def motif_findings(verdict: pd.DataFrame) -> list[str]:
    """One sentence on the motif study (:func:`motif_verdict`): where JASPAR motif similarity earns its place,
    with the per-TF gains on Non-Specific, the credible network."""
    if verdict.empty:
        return []
    earned = verdict.loc[verdict["earns_its_place"], "network"] + " " + verdict.loc[verdict["earns_its_place"], "metric"]
    row = verdict[(verdict["network"] == "Non-Specific") & (verdict["metric"] == "per_tf_auroc")]
    detail = (f" (Non-Specific per-TF: {row['vs_without'].iloc[0]:+.4f} {row['vs_without_ci'].iloc[0]} over the same "
              f"knowledge without motifs, {row['vs_shuffled'].iloc[0]:+.4f} {row['vs_shuffled_ci'].iloc[0]} over "
              "shuffled motifs)") if len(row) else ""
    where = f"it earns its place on {', '.join(earned)}" if len(earned) else "it earns its place nowhere"
    return [f"*JASPAR motif similarity* (the optional `motif` source): {where}{detail}; `auto` leaves it out."]

