"""Chapter conclusions written from the chapter's own numbers: is the model chosen on validation above the
floor on the same test pairs? The text is computed (``display(Markdown(conclusion(...)))``), so it follows
the numbers whenever a chapter runs again.

A verdict compares paired differences (model - the floor with the higher validation AUROC, on the same test
pairs of each seed or setting) with their 95 % t interval: ``above`` or ``below`` when the interval excludes 0,
``tie`` when it does not; with one run, the sign marked ``(one run)``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

FLOORS = ("degree", "edge_prior")
LABELS = {"auroc": "AUROC", "auprc": "AUPRC", "per_tf_auroc": "per-TF AUROC", "accuracy": "accuracy"}
VERDICT_TEXT = {"above": "**above the floor**", "below": "**below the floor**",
                "tie": "**level with the floor** (the interval of Δ includes 0)",
                "above (one run)": "**above the floor** in one run (no interval: a direction, not a result)",
                "below (one run)": "**below the floor** in one run (no interval: a direction, not a result)"}


def _t_half(values: np.ndarray) -> float:
    from scipy import stats

    values = values[np.isfinite(values)]
    if len(values) < 2:
        return float("nan")
    return float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))


def verdict(gap: float, half: float) -> str:
    """``above`` / ``below`` when ``gap ± half`` excludes 0, ``tie`` when it holds 0; without ``half`` (one run)
    the sign, marked ``(one run)``."""
    if not np.isfinite(half):
        return f"{'above' if gap > 0 else 'below'} (one run)"
    return "above" if gap - half > 0 else "below" if gap + half < 0 else "tie"


def against_floor(metrics: pd.DataFrame, by=(), metric: str = "auroc", floors=FLOORS, unit: str = "seed",
                  models=None) -> pd.DataFrame:
    """Per group of ``by`` and trained model (``kind`` != baseline, or ``models``): the paired gap of test
    ``metric`` to the floor of ``floors`` with the higher validation AUROC in each ``unit`` (seed, sample or
    setting), its mean, 95 % t half-width and :func:`verdict`; ``chosen`` marks the model with the highest mean
    validation AUROC of its group (test numbers play no part in the choice)."""
    by = [by] if isinstance(by, str) else list(by)
    floors = [f for f in floors if f in set(metrics["name"])]
    if models is None:
        trained = metrics[metrics["kind"] != "baseline"] if "kind" in metrics else metrics[~metrics["name"].isin(floors)]
        models = list(dict.fromkeys(trained["name"]))
    rows = []
    for group, part in metrics.groupby(by, sort=False) if by else [((), metrics)]:
        group = group if isinstance(group, tuple) else (group,)
        keys = [unit] if unit in part else []
        floor_rows = part[part["name"].isin(floors)]
        if keys:
            val = floor_rows.pivot_table(index=keys, columns="name", values="val_auroc")
            test = floor_rows.pivot_table(index=keys, columns="name", values=metric)
            higher = val.idxmax(axis=1)
            floor_test = pd.Series([test.at[k, f] for k, f in higher.items()], index=higher.index)
            floor_name = higher.mode().iloc[0]
        else:
            means = floor_rows.groupby("name")[["val_auroc", metric]].mean()
            floor_name = means["val_auroc"].idxmax()
            floor_test = pd.Series([means.at[floor_name, metric]])
        for model in models:
            own = part[part["name"] == model]
            if own.empty:
                continue
            values = own.set_index(keys)[metric] if keys else pd.Series([own[metric].mean()])
            gaps = (values - floor_test.reindex(values.index)).dropna().to_numpy(dtype=float)
            gap, half = float(np.mean(gaps)), _t_half(gaps)
            rows.append({**dict(zip(by, group)), "model": model, "n": len(gaps), "mean": float(values.mean()),
                         "floor": floor_name, "floor_mean": float(floor_test.mean()), "gap": gap, "half": half,
                         "verdict": verdict(gap, half), "val_auroc": float(own["val_auroc"].mean())})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    # one chosen model per group: the first with the highest validation AUROC (ties go to the earlier model)
    first = table.groupby(by, sort=False)["val_auroc"].idxmax() if by else [table["val_auroc"].idxmax()]
    table["chosen"] = table.index.isin(list(first))
    return table


def found_line(row, metric: str = "auroc", group: str = "") -> str:
    """One sentence: the chosen model's test number against the floor, the gap with its interval, the verdict."""
    units = row.get("units", "paired runs")
    interval = f"± {row['half']:.3f} over {row['n']} {units}" if np.isfinite(row["half"]) else "one run"
    where = f"{group}: t" if group else "T"
    label = row.get("metric_label", LABELS.get(metric, metric))
    return (f"{where}he model chosen on validation, `{row['model']}`, reaches test {label} {row['mean']:.3f} against the "
            f"{row['floor'].replace('_', '-')} floor's {row['floor_mean']:.3f} on the same pairs (Δ {row['gap']:+.3f}, "
            f"{interval}): {VERDICT_TEXT[row['verdict']]}.")


def conclusion(asked: str, metrics: pd.DataFrame | None = None, *, by=(), metric: str = "auroc", floors=FLOORS,
               unit: str = "seed", models=None, found: list[str] | None = None, below_reason: str | dict = "",
               if_above: str = "", if_not: str = "", takeaway: str = "", table: pd.DataFrame | None = None) -> str:
    """A chapter's closing section as Markdown: what was asked, what was found (from ``metrics`` by
    :func:`against_floor`, or a ``table`` of its columns, plus any ``found`` sentences first), the models
    below the floor named with ``below_reason``, and what a user should take from it (``if_above`` when every
    chosen model is above the floor, else ``if_not``; ``takeaway`` always)."""
    lines = list(found or [])
    if metrics is not None:
        table = against_floor(metrics, by=by, metric=metric, floors=floors, unit=unit, models=models)
    if table is not None:
        if not by:  # a table of verdicts: the columns that tell its rows apart
            by = [c for c in ("protocol", "network", "metric", "setting") if c in table and table[c].nunique() > 1]
        by_list = [by] if isinstance(by, str) else list(by)
        for _, row in table[table["chosen"]].iterrows():
            group = ", ".join(str(row[k]) for k in by_list)
            lines.append((found_line(row, metric, group) + " " + tally(table, row, by_list)).strip())
    text = f"## Conclusion\n\n**Asked.** {asked}\n\n**Found.**\n\n" + "\n".join(f"- {line}" for line in lines)
    if table is not None and not table.empty:
        below = table[table["verdict"].str.startswith("below")]
        if len(below):
            text += "\n\n**Below the floor:** " + below_text(below, by_list, below_reason)
        chosen = table[table["chosen"]]
        advice = if_above if chosen["verdict"].str.startswith("above").all() else if_not
    else:
        advice = ""
    advice = " ".join(a for a in (advice, takeaway) if a)
    return text + (f"\n\n**For a user.** {advice}" if advice else "") + "\n"


def below_text(below: pd.DataFrame, by: list, reasons) -> str:
    """The models below the floor, named with their group, then the likely reason: ``reasons`` is one text, or
    a dict from a group value (e.g. a protocol) to its text, ``""`` for the rest."""
    groups: dict[str, list[str]] = {}
    for _, row in below.iterrows():
        values = [str(row[k]) for k in by]
        if isinstance(reasons, dict):
            reason = next((reasons[v] for v in values if v in reasons), reasons.get("", ""))
        else:
            reason = reasons
        groups.setdefault(reason, []).append(f"`{row['model']}`" + (f" ({', '.join(values)})" if values else ""))
    return " ".join(f"{', '.join(names)}. {reason}".strip() for reason, names in groups.items())


def tally(table: pd.DataFrame, row, by: list) -> str:
    """``"2 of 4 trained models are above the floor here."`` for the group of ``row``."""
    part = table
    for key in by:
        part = part[part[key] == row[key]]
    above = int(part["verdict"].str.startswith("above").sum())
    if len(part) < 2:
        return ""
    return f"{above} of {len(part)} trained models are above the floor here."
