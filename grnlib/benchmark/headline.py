"""The book's first table and figure: per protocol and network type, the model chosen on validation against
both floors (degree and edge prior), pooled and per-TF AUROC with 95 % intervals, read from the committed
sweep summaries in ``results/benchmark/``.

``python -m grnlib.benchmark.headline --out book/_generated`` writes ``headline.md`` (the table and a
paragraph for users) and ``headline.png``; ``python -m grnlib.report`` runs it before each book build, so
the first page follows whatever summaries are committed. ``--readme README.md`` rewrites the same table
between the README's headline markers (``tests/test_headline.py`` re-derives it).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from grnlib.benchmark.summary import FLOORS, bounded_ci, higher_floor, load_summaries, select_by_validation, t_half_width
from grnlib.entry import run_main
from grnlib.evaluation.presets import BEST_CANDIDATES, BEST_PROTOCOLS, CHOICE_SWEEP

#: The sweep that scores every alias candidate beside both floors on the same splits, pooled and per TF (the
#: development settings and their subsampled networks): the one the aliases are chosen from, on validation.
HEADLINE_SWEEPS = (CHOICE_SWEEP,)
METRICS = {"auroc": "pooled AUROC", "per_tf_auroc": "per-TF AUROC"}
PROTOCOL_ORDER = ("released", "heldout-tf", "degree-matched")
README_MARKERS = ("<!-- headline:start (python -m grnlib.benchmark.headline --readme README.md) -->",
                  "<!-- headline:end -->")


def chosen_models(summary: pd.DataFrame) -> dict[str, str]:
    """Protocol -> the model its alias stands for (``BEST_SELECTED``: chosen on validation for its worst
    development setting, re-derived from the choice sweep by ``tests/test_presets_selection.py``), where it
    ran in ``summary``; where it did not, the candidate with the highest mean validation AUROC over the
    alias's protocols (:func:`select_by_validation`). Test numbers play no part."""
    from grnlib.evaluation.presets import BEST_SELECTED

    chosen = {}
    for alias, protocols in BEST_PROTOCOLS.items():
        present = set(summary.loc[summary["protocol"].isin(protocols), "model"])
        candidates = [c for c in BEST_CANDIDATES[alias] if c in present]
        if BEST_SELECTED[alias] in present:
            chosen.update({protocol: BEST_SELECTED[alias] for protocol in protocols})
        elif candidates:
            best = select_by_validation(summary, protocols, candidates).index[0]
            chosen.update({protocol: best for protocol in protocols})
    return chosen


def headline_frame(summary: pd.DataFrame, models: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per protocol, network and metric (pooled and per-TF AUROC) over the settings where the
    chosen model and both floors ran: each one's mean with its 95 % interval (logit-scale t interval over
    settings, :func:`bounded_ci`), and the paired gap to the floor with the higher validation AUROC in each
    setting (:func:`higher_floor`), with its t interval. ``models``: protocol -> model (default
    :func:`chosen_models`)."""
    keys = ["dataset", "protocol"]
    choice = higher_floor(summary)
    rows = []
    for protocol, model in (models or chosen_models(summary)).items():
        part = summary[summary["protocol"] == protocol]
        table = {name: part[part["model"] == name].set_index(keys) for name in (model, *FLOORS)}
        common = table[model].index
        for name in FLOORS:
            common = common.intersection(table[name].index)
        for network in dict.fromkeys(table[model].loc[common, "network"]):
            settings = [k for k in common if table[model].at[k, "network"] == network]
            for metric, label in METRICS.items():
                column = f"{metric}_mean"
                values = {name: table[name].loc[settings, column].to_numpy(dtype=float) for name in (model, *FLOORS)}
                higher = np.array([table[choice[k]].at[k, column] for k in settings], dtype=float)
                gap = values[model] - higher
                row = {"protocol": protocol, "network": network, "metric": label, "model": model,
                       "settings": len(settings)}
                for name, v in values.items():
                    low, high = bounded_ci(v)
                    tag = "chosen" if name == model else name
                    row.update({tag: v.mean(), f"{tag}_low": low, f"{tag}_high": high})
                half = t_half_width(gap)
                row.update(gap=gap.mean(), gap_low=gap.mean() - half, gap_high=gap.mean() + half)
                rows.append(row)
    frame = pd.DataFrame(rows)
    order = {p: i for i, p in enumerate(PROTOCOL_ORDER)}
    metric_order = {label: i for i, label in enumerate(METRICS.values())}
    ranks = {"protocol": order, "metric": metric_order}
    return frame.sort_values(["protocol", "network", "metric"], key=lambda s: s.map(ranks[s.name]) if s.name in ranks
                             else s, kind="stable").reset_index(drop=True)


def as_verdicts(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`headline_frame` in the columns of :func:`grnlib.evaluation.verdicts.against_floor` (for
    :func:`grnlib.evaluation.verdicts.conclusion`): one chosen model per protocol, network and metric."""
    from grnlib.evaluation.verdicts import verdict as paired_verdict

    higher = np.where(frame["edge_prior"] > frame["degree"], "edge_prior", "degree")
    return pd.DataFrame({"protocol": frame["protocol"], "network": frame["network"], "metric": frame["metric"],
                         "model": frame["model"], "n": frame["settings"], "mean": frame["chosen"],
                         "floor": higher, "floor_mean": np.maximum(frame["edge_prior"], frame["degree"]),
                         "gap": frame["gap"], "half": frame["gap_high"] - frame["gap"],
                         "verdict": [paired_verdict(g, h) for g, h in zip(frame["gap"], frame["gap_high"] - frame["gap"])],
                         "chosen": True, "units": "settings", "metric_label": frame["metric"]})


def alias_models(summary: pd.DataFrame) -> dict[str, str]:
    """Protocol -> the alias a user trains for it (``best`` for the released splits, ``best_heldout`` under
    the TF protocols), for the protocols of ``summary`` where that alias ran (the reserved chapter)."""
    ran = set(map(tuple, summary[["protocol", "model"]].to_numpy()))
    return {protocol: alias for alias, protocols in BEST_PROTOCOLS.items() for protocol in protocols
            if (protocol, alias) in ran}


def verdicts(summary: pd.DataFrame, models: dict[str, str] | None = None, metrics=None) -> pd.DataFrame:
    """:func:`as_verdicts` of :func:`headline_frame`, only the rows of ``metrics`` (labels of :data:`METRICS`;
    default all) when given."""
    table = as_verdicts(headline_frame(summary, models))
    return table if metrics is None else table[table["metric"].isin(metrics)]


def verdict(row) -> str:
    """``above`` / ``below`` the higher floor when the gap's interval excludes 0, else ``tie``."""
    if np.isfinite(row["gap_low"]) and row["gap_low"] > 0:
        return "above"
    if np.isfinite(row["gap_high"]) and row["gap_high"] < 0:
        return "below"
    return "tie"


def _interval(mean: float, low: float, high: float, sign: str = "") -> str:
    if not np.isfinite(low):
        return f"{mean:{sign}.3f}"
    return f"{mean:{sign}.3f} [{low:{sign}.2f}, {high:{sign}.2f}]"


def headline_table(frame: pd.DataFrame) -> str:
    """The markdown table of :func:`headline_frame`, after a line naming the model chosen for each protocol."""
    models = dict(zip(frame["protocol"], frame["model"]))
    named = "; ".join(f"{protocol}: `{model}`" for protocol, model in models.items())
    lines = [f"Chosen on validation (the aliases `best` and `best_heldout`): {named}.", "",
             "| protocol | network | metric | chosen model | degree floor | edge-prior floor "
             "| Δ vs higher floor | verdict |", "|---|---|---|---|---|---|---|---|"]
    for _, r in frame.iterrows():
        lines.append(" | ".join([
            f"| {r['protocol']}", r["network"], r["metric"],
            _interval(r["chosen"], r["chosen_low"], r["chosen_high"]),
            _interval(r["degree"], r["degree_low"], r["degree_high"]),
            _interval(r["edge_prior"], r["edge_prior_low"], r["edge_prior_high"]),
            _interval(r["gap"], r["gap_low"], r["gap_high"], "+"), f"**{verdict(r)}** |"]))
    return "\n".join(lines)


#: Who each protocol stands for, in a user's words.
FOR_USERS = {"released": "TFs that already have known targets",
             "heldout-tf": "TFs with no known targets",
             "degree-matched": "TFs with no known targets, judged against non-targets as well studied as the targets"}


def headline_text(frame: pd.DataFrame) -> str:
    """One paragraph for a user, written from the verdicts and gaps of :func:`headline_frame`."""
    sentences = []
    for protocol in dict.fromkeys(frame["protocol"]):
        part = frame[frame["protocol"] == protocol]
        verdicts = part.apply(verdict, axis=1).value_counts().to_dict()
        above, below, n = verdicts.get("above", 0), verdicts.get("below", 0), len(part)
        best = part.loc[part["gap"].idxmax()]
        summary = (f"for {FOR_USERS.get(protocol, protocol)} (`{protocol}`), `{part['model'].iloc[0]}` is above the "
                   f"higher floor in {above} of {n} comparisons and below it in {below}, the largest gain "
                   f"{best['gap']:+.3f} ({best['metric']}, {best['network']})")
        if above > n / 2:
            advice = "use the model"
        elif below:
            advice = "it ranks no better than counting known edges, so read its scores beside the floor's"
        else:
            advice = "it ties the floor: the known-edge counts carry what it finds"
        sentences.append(f"{summary}: {advice}")
    text = "; ".join(sentences)
    return ("**What this means for a user.** " + text[:1].upper() + text[1:] + ". Intervals are 95 % over the settings "
            "of each network type (logit-scale t interval; Δ: paired t interval); a verdict is above or below only "
            "when the interval of Δ excludes 0.")


def headline_figure(frame: pd.DataFrame):
    """Rows: pooled and per-TF AUROC; panels: protocols; per network the two floors and the chosen model,
    each with its 95 % interval. The legend sits below the panels, outside the data."""
    import matplotlib.pyplot as plt

    protocols = list(dict.fromkeys(frame["protocol"]))
    networks = list(dict.fromkeys(frame["network"]))
    fig, axes = plt.subplots(len(METRICS), len(protocols), figsize=(3.6 * len(protocols), 2.9 * len(METRICS)),
                             sharey=True, squeeze=False)
    series = [("degree", "degree floor", dict(color="black", marker="s")),
              ("edge_prior", "edge-prior floor", dict(color="grey", marker="s")),
              ("chosen", "chosen model", dict(color="tab:blue", marker="o"))]
    for row, label in zip(axes, METRICS.values()):
        for ax, protocol in zip(row, protocols):
            part = frame[(frame["protocol"] == protocol) & (frame["metric"] == label)].set_index("network")
            part = part.reindex(networks)
            for i, (tag, name, style) in enumerate(series):
                x = np.arange(len(networks)) + (i - 1) * 0.22
                err = np.nan_to_num(np.vstack([part[tag] - part[f"{tag}_low"], part[f"{tag}_high"] - part[tag]]))
                ax.errorbar(x, part[tag], yerr=err, ls="none", capsize=2, label=name, **style)
            ax.axhline(0.5, color="grey", lw=0.6, ls=":")
            ax.set_xticks(np.arange(len(networks)), networks, fontsize=8)
            # protocol and model on two lines: a long model name would run into the next panel's title
            ax.set_title(f"{protocol}\n{frame.loc[frame['protocol'] == protocol, 'model'].iloc[0]}", fontsize=8)
        row[0].set_ylabel(label)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False, bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def headline_markdown(folder="results/benchmark", figure: str | None = "_generated/headline.png") -> str:
    """The headline block: table, then the paragraph for users (and the figure's image line before the
    table when ``figure`` names its path relative to the page)."""
    frame = headline_frame(load_summaries(Path(folder), HEADLINE_SWEEPS))
    image = f"![Chosen model against both floors]({figure})\n\n" if figure else ""
    source = ", ".join(f"`results/benchmark/{name}_summary.csv`" for name in HEADLINE_SWEEPS)
    return (f"{image}{headline_table(frame)}\n\n{headline_text(frame)}\n\nComputed from {source} by "
            "`python -m grnlib.benchmark.headline`.\n")


def readme_block(folder="results/benchmark") -> str:
    """What the README holds between :data:`README_MARKERS` (the table and paragraph, no figure)."""
    return f"{README_MARKERS[0]}\n{headline_markdown(folder, figure=None)}{README_MARKERS[1]}"


def update_readme(path, folder="results/benchmark") -> bool:
    """Rewrite the headline block of the README at ``path``; True when it changed."""
    from grnlib.io import write_text

    path = Path(path)
    text = path.read_text()
    start, end = text.index(README_MARKERS[0]), text.index(README_MARKERS[1]) + len(README_MARKERS[1])
    new = text[:start] + readme_block(folder) + text[end:]
    if new != text:
        write_text(path, new)
    return new != text


def write(out_dir, folder="results/benchmark") -> Path:
    """``headline.md`` and ``headline.png`` in ``out_dir`` (the md refers to the png as
    ``_generated/headline.png``, relative to the book's first page)."""
    import matplotlib

    matplotlib.use("Agg")
    from grnlib.io import write_figure, write_text

    out_dir = Path(out_dir)
    frame = headline_frame(load_summaries(Path(folder), HEADLINE_SWEEPS))
    write_figure(headline_figure(frame), out_dir / "headline.png", dpi=110, bbox_inches=None)
    return write_text(out_dir / "headline.md", headline_markdown(folder, figure=f"{out_dir.name}/headline.png"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grnlib.benchmark.headline", description=__doc__.splitlines()[0])
    parser.add_argument("--summaries", default="results/benchmark", help="folder of the committed sweep summaries")
    parser.add_argument("--out", type=Path, help="write headline.md and headline.png into this folder")
    parser.add_argument("--readme", type=Path, help="rewrite the headline block of this README")
    args = parser.parse_args(argv)
    if args.out:
        print(f"wrote {write(args.out, args.summaries)}")
    if args.readme:
        print(f"{args.readme}: " + ("updated" if update_readme(args.readme, args.summaries) else "unchanged"))
    if not (args.out or args.readme):
        print(headline_markdown(args.summaries, figure=None))
    return 0


if __name__ == "__main__":
    sys.exit(run_main("python -m grnlib.benchmark.headline", main))
