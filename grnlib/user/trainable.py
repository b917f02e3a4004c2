"""The models ``grnlib train`` and :func:`grnlib.fit` can train, grouped, one line each
(``grnlib train --model list``), and the check that names only those when a name is unknown.

Baselines (``degree``, ...) need no training and are scored beside every model anyway; the
controls are study tools of the book. A stack of the floors (degree, edge prior) and models is one model
(:class:`grnlib.models.stacked.StackedModel`): its members share one folder.
"""
from __future__ import annotations

from grnlib.errors import DataError

PHASES = ("baseline", "phase1", "phase2", "phase3", "phase4", "hybrid", "cross_encoder")
CONTROL_MODELS = ("target_only",)  # registered for the controls chapter, not for users


def _preset_line(name: str) -> str:
    from grnlib.evaluation.presets import BEST_PROTOCOLS, BEST_SELECTED, PRESETS

    if name in BEST_SELECTED:
        return (f"the model whose worst development setting on validation ({'/'.join(BEST_PROTOCOLS[name])} "
                f"protocols of the benchmark) is furthest above the floors (now {BEST_SELECTED[name]})")
    spec = PRESETS[name]
    if "stack" in spec:
        return (f"blend of {', '.join(spec['stack'])} with non-negative weights fitted on validation "
                "(weight 0 on a model: the floors alone)")
    train = spec.get("train", {})
    line = f"{spec['model']}, {train.get('optimizer', 'adamw')} {train.get('loss', 'bce')}, " \
           f"up to {train.get('epochs', 50)} epochs"
    cfg = spec.get("model_cfg") or {}
    floor = cfg.get("residual_floor") or cfg.get("floor")
    if floor:
        line += f"; learns a residual over the {floor.replace('_', '-')} floor"
    if "trees" in cfg.get("evidence", ()):
        line += "; adds tree, partial-correlation and mutual-information evidence"
    return line + ("; trained hiding whole TFs, for TFs without known targets" if cfg.get("hide") == "tf" else "")


def trainable_models() -> dict[str, dict[str, str]]:
    """``{group: {name: one-line description}}`` of every name ``grnlib train --model`` accepts."""
    from grnlib.evaluation.presets import BEST_SELECTED, PRESETS
    from grnlib.models import MODELS

    from grnlib.evaluation.stacking import SAVEABLE_BASELINES

    stacks = [n for n in PRESETS if "stack" in PRESETS[n] and n not in BEST_SELECTED
              and all(m in SAVEABLE_BASELINES or m in PRESETS for m in PRESETS[n]["stack"])]
    presets = [n for n in PRESETS if "stack" not in PRESETS[n] and n not in BEST_SELECTED]
    groups = {"chosen on validation": list(BEST_SELECTED),
              "the phases of the study": [n for n in PHASES if n in presets]}
    groups["beyond the degree floor"] = [n for n in presets if n not in PHASES]
    groups["blends with the floors (weights on validation)"] = stacks
    table = {group: {name: _preset_line(name) for name in names} for group, names in groups.items()}
    table["models (default training recipe)"] = {
        name: (MODELS[name].__doc__ or name).strip().splitlines()[0].replace("``", "").rstrip(",;.")
        for name in MODELS.names() if name not in CONTROL_MODELS and name not in PRESETS}  # a preset wins
    return table


def model_list() -> str:
    """The text of ``grnlib train --model list``: a header per group, one line per model."""
    lines = []
    for group, models in trainable_models().items():
        lines.append(f"{group}:")
        width = max(map(len, models))
        lines += [f"  {name:<{width}}  {text}" for name, text in models.items()]
    return "\n".join(lines)


def check_trainable(name: str | None, source=None, listing: str = "grnlib train --model list") -> None:
    """DataError for a name that is neither trainable nor a baseline (whose own message explains it),
    listing only the trainable names, by group; ``listing`` says how the caller sees the descriptions."""
    from difflib import get_close_matches

    from grnlib.evaluation.baselines import BASELINES

    if not isinstance(name, str) or name in BASELINES:
        return  # no name, or one resolve_spec explains better (a baseline; a params value of the wrong type)
    groups = trainable_models()
    names = [n for models in groups.values() for n in models]
    if name in names:
        return
    close = get_close_matches(str(name), names, n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    grouped = "; ".join(f"{group}: {', '.join(models)}" for group, models in groups.items())
    raise DataError(source, f"unknown model {name!r}: not one grnlib can train{hint}",
                    f"choose one of {grouped} (descriptions: {listing})")
