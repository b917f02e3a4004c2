"""The one-line verdict a user sees after training: the model against the degree floor on the held-out
pairs, with the difference and its 95 % interval from a paired bootstrap over TFs (seeded).

Pairs of one TF are not independent (they share the TF's base rate and its degree), so the unit of
resampling is the TF: each bootstrap draw takes as many TFs as there are, with replacement, keeps all of
their pairs, and scores both the model and the floor on that same draw (paired). The interval is the
2.5-97.5 % percentile range of the differences. ``above`` when the interval lies above 0; otherwise the
line carries a warning: rank with the floor, or treat the model's ranking as no better than it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from grnlib.evaluation.metrics import auroc, cluster_bootstrap

N_BOOT = 1000


@dataclass
class FloorVerdict:
    """Model vs floor on held-out pairs; ``low``/``high``: 95 % paired-bootstrap interval of ``gap``."""

    model: str
    floor: str
    metric: str
    model_value: float
    floor_value: float
    gap: float
    low: float
    high: float
    n_tfs: int
    n_boot: int
    seed: int

    @property
    def above(self) -> bool:
        return bool(self.low > 0)

    @property
    def status(self) -> str:
        return "above" if self.low > 0 else "below" if self.high < 0 else "level with"

    def line(self) -> str:
        """``verdict: <model> held-out AUROC 0.912 vs degree floor 0.875: +0.037 [+0.021, +0.052] ...``;
        ends with a warning when the model is not above the floor."""
        text = (f"verdict: {self.model} held-out {self.metric.upper()} {self.model_value:.3f} vs {self.floor} floor "
                f"{self.floor_value:.3f}: {self.gap:+.3f} [95% CI {self.low:+.3f}, {self.high:+.3f}] "
                f"(paired bootstrap over {self.n_tfs} TFs, seed {self.seed}): {self.status} the floor")
        if not self.above:
            text += (f". WARNING: {self.model} is not above the {self.floor} floor on these pairs; its ranking is "
                     f"no better than ranking by {self.floor}")
        return text

    def to_dict(self) -> dict:
        return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> "FloorVerdict":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def floor_verdict(pairs: pd.DataFrame, model_scores, floor_scores, model: str, floor: str = "degree",
                  n_boot: int = N_BOOT, seed: int = 0) -> FloorVerdict:
    """Pooled held-out AUROC of ``model_scores`` and ``floor_scores`` on ``pairs`` (tf, label) and the
    paired bootstrap over TFs of their difference (see the module docstring)."""
    y, tfs = pairs["label"].to_numpy(np.int64), pairs["tf"].to_numpy()
    a, b = np.asarray(model_scores, np.float64), np.asarray(floor_scores, np.float64)
    n_tfs = int(np.unique(tfs).size)
    draws = cluster_bootstrap(y, {"model": a, "floor": b}, tfs, n_boot=n_boot, seed=seed)  # paired: shared draws
    gaps = draws["model"]["auroc"] - draws["floor"]["auroc"]
    gaps = gaps[np.isfinite(gaps)]
    low, high = np.percentile(gaps, [2.5, 97.5]) if gaps.size else (float("nan"), float("nan"))
    model_value, floor_value = auroc(y, a), auroc(y, b)
    return FloorVerdict(model=model, floor=floor, metric="auroc", model_value=model_value, floor_value=floor_value,
                        gap=model_value - floor_value, low=float(low), high=float(high), n_tfs=n_tfs,
                        n_boot=int(n_boot), seed=int(seed))
