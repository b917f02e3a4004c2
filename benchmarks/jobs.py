"""The measurements of the benchmark suite, one function per job.

Each job returns a JSON-ready dict. ``benchmarks/run.py`` runs every job in a fresh Python
process (``run.py --worker NAME``), so each peak RSS is that job's own high-water mark and no
job inherits another's allocations or warm caches. All times are wall-clock seconds
(``time.perf_counter``) with the process CPU seconds (``time.process_time``) beside them:
on a shared machine wall time grows with other people's load, CPU time much less.
"""
from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SMOKE_DATASET = "toy"
PRIMARY_DATASET = "beeline/Specific/hHEP/500"
# Which preset trains each registered model (the first preset naming the model otherwise).
# deep_two_tower: phase3 trains at batch 256 like the GENELink reference it is compared with epoch for
# epoch (phase4 is phase3 + focal loss at batch 4096; its fit time has its own sections).
PREFERRED_PRESET = {"deep_two_tower": "phase3"}
from grnlib.features import DEFAULT_FEATURES
TF_LIST = "tf-lists/human_tfs_lambert2018.csv"


# -- process measurements -------------------------------------------------------------------
def peak_rss_mb() -> float:
    """High-water resident set size of this process in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def current_rss_mb() -> float | None:
    """Resident set size now, in MiB (None where /proc is unavailable)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class Clock:
    """Wall and CPU seconds since construction (synchronising CUDA first when given)."""

    def __init__(self, device=None):
        self.device = device
        self._sync()
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def _sync(self):
        if self.device is not None and getattr(self.device, "type", None) == "cuda":
            import torch
            torch.cuda.synchronize(self.device)

    def stop(self) -> tuple[float, float]:
        self._sync()
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def device_info(device) -> dict:
    import torch

    info = {"device": str(device)}
    if device.type == "cuda":
        info["device_name"] = torch.cuda.get_device_name(device)
        info["peak_gpu_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return info


# -- data -----------------------------------------------------------------------------------
def load(dataset: str, seed: int = 0):
    """``(ds, split)``: the released split sample 1 of a BEELINE id, or a seeded split of the
    toy dataset (``"toy"``, used by ``--smoke``: no data files needed)."""
    if dataset == SMOKE_DATASET:
        from grnlib.data import make_toy
        from grnlib.evaluation.protocols import make_split

        ds = make_toy(n_genes=120, n_tfs=12, n_cells=80, seed=seed)
        return ds, make_split(ds, "seed", seed=seed)
    from grnlib.data import load_dataset, load_split

    return load_dataset(dataset), load_split(dataset, sample=1)


def spec_for(model_name: str, epochs: int):
    """``(preset name, RunSpec)`` that trains ``model_name``: its preset (phase 3 for deep_two_tower),
    or plain AdamW on PCA-64 features when no preset names the model; resolved like every run spec."""
    from grnlib.evaluation.presets import PRESETS
    from grnlib.evaluation.spec import preset, resolve_spec

    name = PREFERRED_PRESET.get(model_name) or next(
        (p for p, spec in PRESETS.items() if spec.get("model") == model_name), None)
    if name is not None:
        return name, preset(name, epochs=epochs)
    return "(none)", resolve_spec({"model": model_name, "features": dict(DEFAULT_FEATURES),
                                   "train": {"optimizer": "adamw", "lr": 1e-3, "scheduler": "constant",
                                             "epochs": epochs, "batch_size": 256, "loss": "bce"}})


def build(ds, split, spec, seed: int, device):
    """Model (seeded, prepared on the training graph when it reads one) and features, built as
    :func:`grnlib.evaluation.experiment.build_run` builds every trained run."""
    import torch

    from grnlib.evaluation.experiment import build_run
    from grnlib.evaluation.spec import Runtime

    built = build_run(ds, split, spec, Runtime(seed=seed, device=str(device)))
    features = None if built.features is None else torch.from_numpy(built.features)
    return built.model.to(device), features


def _fit_epochs(model, split, features, spec: dict, seed: int, device) -> dict:
    """Train for spec's epochs without validation; wall and CPU seconds of every epoch."""
    from grnlib.training.loop import TrainConfig, fit

    config = TrainConfig(**{**spec.train, "seed": seed, "progress": False, "device": str(device),
                            "early_stopping_patience": None, "checkpoint_dir": None})
    cpu_marks = [time.process_time()]
    result = fit(model, split["train"], None, features=features, config=config,
                 on_epoch_end=lambda row: cpu_marks.append(time.process_time()))
    walls = result.history["time_s"].tolist()
    cpus = list(np.diff(cpu_marks))
    return {"walls": walls, "cpus": cpus, "timed": _steady(walls), "timed_cpu": _steady(cpus)}


def _steady(values: list[float]) -> float:
    """Best epoch after the first (which pays one-off allocation); the first when it is the only one.
    The minimum, because other people's load only ever adds time."""
    return float(min(values[1:] if len(values) > 1 else values))


# -- jobs -----------------------------------------------------------------------------------
def train_job(dataset: str, model: str, epochs: int = 3, seed: int = 0, naive: bool = True) -> dict:
    """Epoch time and labelled pairs per second of one registered model on one split; for
    two-tower models also the same training with ``forward_per_pair`` (towers run per pair)."""
    from grnlib.models import count_parameters
    from grnlib.training.loop import resolve_device

    device = resolve_device("auto")
    ds, split = load(dataset, seed)
    preset_name, spec = spec_for(model, epochs)
    net, features = build(ds, split, spec, seed, device)
    n_train = len(split["train"])
    timing = _fit_epochs(net, split, features, spec, seed, device)
    row = {"dataset": dataset, "model": model, "preset": preset_name,
           "features": f"{spec.features['kind']}-{features.shape[1]}" if features is not None else None,
           "n_train": n_train, "batch_size": spec.train["batch_size"], "epochs_run": epochs,
           "parameters": count_parameters(net), "epoch_s": timing["timed"], "epoch_cpu_s": timing["timed_cpu"],
           "epoch_s_all": timing["walls"], "pairs_per_s": n_train / timing["timed"],
           "peak_rss_mb": peak_rss_mb(), **device_info(device)}
    if naive and net.is_two_tower:
        per_pair, _ = build(ds, split, spec, seed, device)
        per_pair.forward = per_pair.forward_per_pair  # same weights, same batches, towers per pair
        slow = _fit_epochs(per_pair, split, features, spec, seed, device)
        row.update(naive_epoch_s=slow["timed"], naive_epoch_cpu_s=slow["timed_cpu"],
                   speedup_vs_naive=slow["timed"] / timing["timed"],
                   speedup_vs_naive_cpu=slow["timed_cpu"] / timing["timed_cpu"])
    return row


def genelink_job(dataset: str, epochs: int = 1, seed: int = 0) -> dict:
    """Epoch time of the GENELink-style reference on the same split (cells features)."""
    from benchmarks.genelink_ref import time_epochs
    from grnlib.features import gene_features
    from grnlib.training.loop import resolve_device

    device = resolve_device("auto")
    ds, split = load(dataset, seed)
    features = gene_features(ds, kind="cells")
    result = time_epochs(features, split["train"], split["val"], epochs=epochs, seed=seed, device=device)
    return {"dataset": dataset, "model": "genelink_style_gat", "features": f"cells-{features.shape[1]}",
            "n_train": len(split["train"]), "epoch_s": _steady(result["epoch_wall_s"]),
            "epoch_cpu_s": _steady(result["epoch_cpu_s"]), "epoch_s_all": result["epoch_wall_s"],
            "steps_per_epoch": result["steps_per_epoch"], "parameters": result["parameters"],
            "val_auroc_after": result["val_auroc"], "peak_rss_mb": peak_rss_mb(), **device_info(device)}


def phase4_job(dataset: str, epochs: int | None = None, seed: int = 0) -> dict:
    """Time to convergence of ``preset('phase4')``: the full run with early stopping, as
    ``grnlib.evaluation.experiment.train_run`` does it; the degree baseline's validation AUROC beside it."""
    from grnlib.evaluation.baselines import score_baseline
    from grnlib.evaluation.experiment import train_run
    from grnlib.evaluation.metrics import auroc
    from grnlib.evaluation.spec import Runtime, preset
    from grnlib.training.loop import resolve_device

    device = resolve_device("auto")
    ds, split = load(dataset, seed)
    spec = preset("phase4", epochs=epochs)
    clock = Clock(device)
    result = train_run(ds, split, spec, Runtime(seed=seed)).result
    wall, cpu = clock.stop()
    history = result.history
    best = result.best_epoch or len(history)
    degree = score_baseline("degree", ds, split["train"], split["val"], seed=seed)
    return {"dataset": dataset, "preset": "phase4", "max_epochs": spec.train["epochs"],
            "fit_seconds": wall, "fit_cpu_seconds": cpu, "epochs": len(history), "best_epoch": best,
            "seconds_to_best_epoch": float(history["time_s"].iloc[:best].sum()),
            "stopped_early": bool(result.stopped_early), "mean_epoch_s": float(history["time_s"].mean()),
            "best_val_auroc": result.best_value, "degree_val_auroc": float(auroc(split["val"]["label"].to_numpy(), degree)),
            "n_train": len(split["train"]), "peak_rss_mb": peak_rss_mb(), **device_info(device)}


def profile_job(dataset: str, seed: int = 0, rows: int = 12) -> dict:
    """Where one phase-4 training epoch spends its time (torch profiler, self CPU time per op)."""
    from torch.profiler import ProfilerActivity, profile

    from grnlib.training.loop import resolve_device

    device = resolve_device("auto")
    ds, split = load(dataset, seed)
    _, spec = spec_for("deep_two_tower", epochs=1)
    net, features = build(ds, split, spec, seed, device)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        _fit_epochs(net, split, features, spec, seed, device)
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    return {"dataset": dataset, "model": "deep_two_tower", "preset": "phase4", "epochs": 1,
            "top_ops": [{"op": e.key, "self_cpu_ms": e.self_cpu_time_total / 1e3,
                         "share": e.self_cpu_time_total / total, "calls": e.count} for e in events[:rows]]}


def tf_symbols(n_tfs: int | None, smoke: bool) -> list[str]:
    """Human TF symbols (Lambert 2018) via grnlib.data.fetch; synthetic names in smoke runs."""
    if smoke:
        return [f"TF{i:04d}" for i in range(n_tfs or 16)]
    from grnlib.data import fetch

    names = pd.read_csv(fetch(TF_LIST), header=None)[0].astype(str).tolist()  # no header line
    return names[:n_tfs] if n_tfs else names


def scoring_job(n_genes: int, n_tfs: int | None = None, top_k: int = 100_000, chunk: int = 2048,
                naive_pairs: int = 0, smoke: bool = False, tsv: str | None = None, seed: int = 0) -> dict:
    """Score every TF x every gene of a human-scale universe with the phase-4 architecture
    (``deep_two_tower``; random weights = synthetic embeddings of the trained model's size) and
    write the top-k edges as TSV. Time and peak RSS cover encoding, chunked scoring, the
    running top-k and the TSV. With ``naive_pairs`` > 0 also times ``forward_per_pair`` on that
    many random pairs of the same universe, the per-pair reference."""
    import torch

    from grnlib.models import build_model, count_parameters
    from grnlib.training.loop import resolve_device, score_all_pairs

    device = resolve_device("auto")
    tfs = tf_symbols(n_tfs, smoke)
    # Gene ids 0..n_tf-1 are the TFs; candidate targets are the first n_genes ids (TFs included).
    # With fewer genes than TFs the id space still holds every TF: only the targets shrink.
    universe = max(n_genes, len(tfs))
    names = np.asarray(tfs + [f"GENE{i:05d}" for i in range(universe - len(tfs))], dtype=object)
    torch.manual_seed(seed)
    model = build_model("deep_two_tower", n_genes=universe).to(device).eval()
    baseline_rss = current_rss_mb()
    baseline_peak = peak_rss_mb()
    out = Path(tsv) if tsv else Path(tempfile.mkdtemp(prefix="grnlib-bench-")) / "top_edges.tsv"
    clock = Clock(device)
    top = score_all_pairs(model, np.arange(len(tfs)), np.arange(n_genes), top_k=top_k, chunk=chunk)
    pd.DataFrame({"tf": names[top["tf"].to_numpy()], "target": names[top["target"].to_numpy()],
                  "score": top["score"].to_numpy()}).to_csv(out, sep="\t", index=False, float_format="%.5g")
    wall, cpu = clock.stop()
    row = {"tfs": len(tfs), "genes": n_genes, "gene_id_space": universe, "pairs": len(tfs) * n_genes, "top_k": int(top_k),
           "chunk": chunk, "seconds": wall, "cpu_seconds": cpu, "peak_rss_mb": peak_rss_mb(),
           "rss_before_mb": baseline_rss, "peak_rss_before_mb": baseline_peak,
           "tsv_bytes": out.stat().st_size, "edges_written": len(top), "model": "deep_two_tower",
           "parameters": count_parameters(model), "tf_source": "synthetic" if smoke else TF_LIST,
           **device_info(device)}
    if not tsv:
        out.unlink()
        out.parent.rmdir()
    if naive_pairs:
        row.update(_naive_scoring(model, len(tfs), n_genes, naive_pairs, row["pairs"] / wall, device, seed))
    return row


def _naive_scoring(model, n_tfs: int, n_genes: int, n_pairs: int, fast_rate: float, device, seed: int,
                   batch: int = 8192) -> dict:
    """Pairs per second of the per-pair forward on random pairs; the genome-wide time it implies."""
    import torch

    rng = np.random.default_rng(seed)
    tf = torch.as_tensor(rng.integers(0, n_tfs, n_pairs), device=device)
    gene = torch.as_tensor(rng.integers(0, n_genes, n_pairs), device=device)
    clock = Clock(device)
    with torch.no_grad():
        for start in range(0, n_pairs, batch):
            model.forward_per_pair(tf[start:start + batch], gene[start:start + batch])
    wall, _ = clock.stop()
    naive_rate = n_pairs / wall
    return {"naive_sample_pairs": n_pairs, "naive_pairs_per_s": naive_rate, "pairs_per_s": fast_rate,
            "naive_seconds_estimated": n_tfs * n_genes / naive_rate,
            "speedup_vs_naive": fast_rate / naive_rate}


JOBS = {"train": train_job, "genelink": genelink_job, "phase4": phase4_job, "profile": profile_job,
        "scoring": scoring_job}
