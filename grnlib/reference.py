"""Numbers reported elsewhere, shown in the book as context and always labelled as such.

Nothing here is a result of this project; every result the book shows is computed by a notebook.
"""
import pandas as pd

#: The earlier Rust code's report: measured baseline, and the phase targets it set but never measured.
HISTORICAL = pd.DataFrame([
    {"phase": "baseline (embedding two-tower, SGD, BCE)", "accuracy": "56.92% (reported, measured there)"},
    {"phase": "phase 1: expression features", "accuracy": "75% (target)"},
    {"phase": "phase 2: architecture", "accuracy": "85–90% (target)"},
    {"phase": "phase 3: training techniques", "accuracy": "85–90% (target)"},
    {"phase": "phase 4: focal loss", "accuracy": "95% (target)"},
]).set_index("phase")

#: Mean AUROC / AUPRC over the TFs+500 settings on the released splits, as reported by their authors.
PUBLISHED_RELEASED = pd.DataFrame([
    {"method": "scUniGP", "auroc": 0.911, "auprc": 0.522},
    {"method": "scGREAT", "auroc": 0.892, "auprc": 0.463},
    {"method": "GENELink", "auroc": 0.865, "auprc": 0.445},
]).set_index("method")


def historical_context() -> pd.DataFrame:
    """The old code's reported accuracy and phase targets (context only, not comparable test pairs)."""
    return HISTORICAL.copy()
