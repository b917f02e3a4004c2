#!/usr/bin/env python
"""Phase-4 fit: the previous recipe against the current ``preset("phase4")``, paired over seeds.

For every seed ``s`` (released split sample ``s + 1``, training seed ``s``) both recipes are fitted
to convergence (early stopping as in ``grnlib.evaluation.experiment.train_run``), interleaved
(A, B, A, B, ...) so that other people's load on a shared machine hits both alike, and each fit
is scored on the validation and test pairs. Printed: wall and CPU seconds of every fit, the
time ratio per seed (``previous / current``: the speed-up) with its spread, and the paired AUROC
differences (``current - previous``) with their mean, min and max.

    python benchmarks/phase4_speed.py                        # seeds 0-4, 1 thread
    python benchmarks/phase4_speed.py --seeds 0 --json /tmp/p4.json
    python benchmarks/phase4_speed.py --candidate '{"batch_size": 1024, "lr": 0.04}'   # try a recipe

``--candidate`` replaces the current preset by ``preset("phase4")`` with those training
overrides (to explore a recipe before changing the preset).
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # spinning OpenMP threads distort shared-machine timings

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.ab import paired_summary, summary_lines  # noqa: E402

DATASET = "beeline/Specific/hHEP/500"
# The phase-4 training recipe before the speed change (grnlib at commit 54ed94a): phase 3's SGD
# recipe with focal loss, batch 256. Kept here verbatim so the comparison survives preset edits.
PREVIOUS_TRAIN = {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4,
                  "scheduler": "warmup_cosine", "warmup_epochs": 10, "clip_norm": 1.0,
                  "early_stopping_patience": 15, "epochs": 80, "batch_size": 256,
                  "loss": "focal", "loss_kwargs": {"alpha": 0.25, "gamma": 2.0}}


def recipes(candidate: dict | None = None, epochs: int | None = None) -> dict:
    """``{"previous": spec, "current": spec}``: full run specs for ``train_run`` (``epochs``
    caps both, for smoke runs)."""
    from grnlib.evaluation.spec import preset

    train = {k: v for k, v in PREVIOUS_TRAIN.items() if k != "epochs"}
    # Epochs go through preset(epochs=...), which shortens the warm-up of both recipes alike.
    previous = preset("phase4", epochs=epochs or PREVIOUS_TRAIN["epochs"], **train).replace(name="phase4_previous")
    current = preset("phase4", epochs=epochs, **(candidate or {}))
    return {"previous": previous, "current": current}


def load(dataset: str, seed: int):
    """``(ds, split)``: released split sample ``seed + 1``, or a seeded split of the toy dataset."""
    if dataset == "toy":
        from grnlib.data import make_toy
        from grnlib.evaluation.protocols import make_split

        ds = make_toy(n_genes=120, n_tfs=12, n_cells=80, seed=0)
        return ds, make_split(ds, "seed", seed=seed)
    from grnlib.data import load_dataset, load_split

    return load_dataset(dataset), load_split(dataset, sample=seed + 1)


def fit_once(ds, split, spec, seed: int) -> dict:
    """Train ``spec`` on ``split`` with ``seed``; seconds, epochs and validation/test AUROC."""
    from grnlib.evaluation.experiment import train_run
    from grnlib.evaluation.metrics import auroc
    from grnlib.training.loop import predict_logits

    wall, cpu = time.perf_counter(), time.process_time()
    result = train_run(ds, split, spec, seed=seed).result
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    scores = {part: auroc(split[part]["label"].to_numpy(), predict_logits(result.model, split[part]))
              for part in ("val", "test")}
    return {"seconds": wall, "cpu_seconds": cpu, "epochs": len(result.history),
            "best_epoch": result.best_epoch, "val_auroc": scores["val"], "test_auroc": scores["test"]}


def compare(dataset: str = DATASET, seeds=(0, 1, 2, 3, 4), candidate: dict | None = None,
            repeats: int = 1, epochs: int | None = None, log=print) -> dict:
    """Fit both recipes on every seed, interleaved (``repeats`` times each, for the timing
    spread; a repeat reproduces the same metrics); the paired summary as a JSON-ready dict."""
    from grnlib.evaluation.spec import resolve_spec

    specs = recipes(candidate, epochs)
    # One short fit first: imports, thread pools and the allocator's first growth are not a recipe's cost.
    ds, split = load(dataset, seeds[0])
    fit_once(ds, split, resolve_spec(specs["previous"], epochs=1), seeds[0])
    rows = []
    for seed in seeds:
        ds, split = load(dataset, seed)
        for repeat in range(repeats):
            for name in ("previous", "current"):
                row = {"seed": seed, "repeat": repeat, "recipe": name, **fit_once(ds, split, specs[name], seed)}
                rows.append(row)
                log(f"seed {seed} {name:8s} {row['seconds']:6.1f} s wall {row['cpu_seconds']:6.1f} s cpu "
                    f"{row['epochs']:3d} epochs (best {row['best_epoch']}) val {row['val_auroc']:.4f} "
                    f"test {row['test_auroc']:.4f}", flush=True)
    pairs = list(zip(rows[0::2], rows[1::2]))
    first = [(a, b) for a, b in pairs if a["repeat"] == 0]  # a repeat reproduces the same metrics
    return {"dataset": dataset, "seeds": list(seeds), "repeats": repeats, "threads": _threads(),
            "previous_train": specs["previous"]["train"], "current_train": specs["current"]["train"],
            "fits": rows, **paired_summary(pairs, "fit_seconds", quality_pairs=first)}


def bench_job(dataset: str = DATASET, seeds=(0,), repeats: int = 2, epochs: int | None = None) -> dict:
    """The ``phase4_recipe`` section of ``benchmarks/run.py``: :func:`compare` without the per-fit log."""
    return compare(dataset, tuple(seeds), repeats=repeats, epochs=epochs, log=lambda *a, **k: None)


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def print_summary(result: dict) -> None:
    print(f"\nphase-4 fit on {result['dataset']}, seeds {result['seeds']}, {result['threads']} thread(s)")
    print("\n".join(summary_lines(result, "fit_seconds")))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/phase4_speed.py", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=DATASET)
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated; seed s uses released sample s + 1")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as the report runs)")
    parser.add_argument("--repeats", type=int, default=1, help="fits of each recipe per seed (timing spread)")
    parser.add_argument("--candidate", help="JSON training overrides of preset('phase4') to compare instead")
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(max(1, args.threads))
    result = compare(args.dataset, [int(s) for s in args.seeds.split(",")],
                     json.loads(args.candidate) if args.candidate else None, repeats=args.repeats)
    print_summary(result)
    if args.json:
        from grnlib.io import write_json

        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
