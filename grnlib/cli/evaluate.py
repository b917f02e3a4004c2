"""``grnlib evaluate``: train/score every --models name on the same split of one dataset under one
protocol for each seed (and fold) and write all metrics per model, seed and fold, plus the configuration,
to --out (atomically). Names: registered models, presets (baseline, phase1, ..., best when defined) and
baselines (degree, correlation, spearman, genie3, random).

Example::

    grnlib evaluate --dataset beeline/Specific/hHEP/500 --protocol heldout-tf \\
        --models degree,baseline,phase1 --seeds 0,1,2 --out results/eval/hhep.json

The file holds ``config`` (the command's options, resolved run specs, git commit, host) and
``results``: one record per (model, seed, fold) with ``split`` = "test", every metric of
:func:`grnlib.evaluation.metrics.evaluate_scores` (auroc, auprc, pos_rate, n, ...) and ``n_test``.
"""
from __future__ import annotations

import argparse
import time

from grnlib.cli.common import add_command, add_root_option


def add_evaluate_parser(subparsers) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "evaluate", "score models and baselines on one dataset and protocol into a JSON file", __doc__)
    parser.add_argument("--dataset", required=True, help="dataset id, e.g. beeline/Specific/hHEP/500")
    parser.add_argument("--protocol", default="released", help="released, seed, heldout-tf or degree-matched")
    parser.add_argument("--models", default="degree,baseline", help="comma-separated names")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds, e.g. 0,1,2,3,4")
    parser.add_argument("--folds", default="0",
                        help="comma-separated test folds of the TF protocols (ignored by seed/released)")
    parser.add_argument("--n-folds", type=int, default=5, help="TF folds for heldout-tf/degree-matched")
    parser.add_argument("--epochs", type=int, help="override the training epochs of every model")
    parser.add_argument("--device", help="torch device for training: auto (default), cpu, cuda")
    add_root_option(parser)
    parser.add_argument("--out", required=True, help="JSON file to write (never inside a grnlib model folder)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    parser.add_argument("--quiet", action="store_true", help="print nothing but warnings and errors")
    parser.add_argument("--no-cache", action="store_true",
                        help="train every run afresh and store nothing in the run cache (see README)")
    parser.set_defaults(func=run)
    return parser


def _int_list(text: str, option: str) -> list[int]:
    """The integers of a comma-separated option, each once (a repeat is dropped with a warning:
    running a seed twice would count the same result twice in every mean and interval)."""
    import warnings

    from grnlib.errors import DataError, DataWarning

    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise DataError(None, f"{option} {text!r} is not a comma-separated list of integers",
                        f"write e.g. {option} 0,1,2") from None
    if not values:
        raise DataError(None, f"{option} {text!r} names nothing to run", f"write e.g. {option} 0,1,2")
    unique = list(dict.fromkeys(values))
    if len(unique) < len(values):
        repeated = sorted({v for v in values if values.count(v) > 1})
        warnings.warn(f"{option} {text} repeats {repeated}; each runs once ({option} "
                      f"{','.join(map(str, unique))})", DataWarning, stacklevel=2)
    return unique


def run(args: argparse.Namespace) -> int:
    from grnlib.evaluation.cache import disabled
    from grnlib.io import output_lock

    with disabled(args.no_cache), output_lock(args.out):
        return _evaluate(args)


def _evaluate(args: argparse.Namespace) -> int:
    import warnings

    from grnlib.cli.common import Console
    from grnlib.data import load_dataset
    from grnlib.errors import DataError, DataWarning, check_seed
    from grnlib.io import check_output_file, write_json
    from grnlib.evaluation.cells import Cell, environment_info, evaluate_cell
    from grnlib.evaluation.protocols import PROTOCOLS, check_protocol_seed
    from grnlib.evaluation.spec import check_expression, resolve_specs

    console = Console("evaluate", args.quiet)  # --quiet also silences the library's timed step lines
    check_output_file(args.out, overwrite=args.overwrite, make_parents=True)  # before any work
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    if not names:
        raise DataError(None, "--models is empty", "give at least one name, e.g. --models degree,baseline")
    if len(set(names)) < len(names):
        warnings.warn(f"--models {args.models} names a model twice; each runs once", DataWarning, stacklevel=1)
        names = list(dict.fromkeys(names))
    if args.protocol not in PROTOCOLS:
        raise DataError(None, f"unknown protocol {args.protocol!r}", f"use one of {PROTOCOLS.names()}")
    seeds, folds = _int_list(args.seeds, "--seeds"), _int_list(args.folds, "--folds")
    for seed in seeds:
        check_seed(seed, "--seeds")
        check_protocol_seed(args.protocol, seed)
    if args.epochs is not None and args.epochs < 1:
        raise DataError(None, f"--epochs must be at least 1, got {args.epochs}", "pass a positive number of epochs")
    if not PROTOCOLS.info(args.protocol).hides_tfs:
        folds = [0]  # only the TF protocols have folds
    elif args.n_folds < 2:
        raise DataError(None, f"--n-folds must be at least 2, got {args.n_folds}",
                        "pass --n-folds 5 (each fold holds out a fifth of the TFs)")
    elif any(not 0 <= fold < args.n_folds for fold in folds):
        raise DataError(None, f"--folds {args.folds} names a fold outside 0..{args.n_folds - 1}",
                        f"pass folds from 0 to {args.n_folds - 1}, or raise --n-folds")
    specs = resolve_specs(names, epochs=args.epochs)  # resolved once, here: unknown names fail here
    ds = load_dataset(args.dataset, args.root)  # unknown ids fail here, with close matches
    check_expression(ds, specs)
    say = console.info
    records = []
    started = time.perf_counter()
    for seed in seeds:
        for fold in folds:
            cell = Cell(ds.id, args.protocol, seed, fold, tuple(names), args.epochs, args.n_folds)
            cell_records = evaluate_cell(cell, device=args.device, single_thread=False, dataset=ds, specs=specs)
            records += cell_records
            for r in cell_records:
                say(f"seed {seed} fold {fold} {r['model']:>22}: AUROC {r['auroc']:.3f}  AUPRC {r['auprc']:.3f}")
    config = {"dataset": ds.id, "protocol": args.protocol, "models": names, "seeds": seeds, "folds": folds,
              "n_folds": args.n_folds, "epochs": args.epochs, "device": args.device,
              "specs": [s.to_dict() for s in specs], "seconds": round(time.perf_counter() - started, 2),
              **environment_info()}
    path = write_json(args.out, {"config": config, "results": records})
    say(f"wrote {len(records)} records to {path}")
    return 0
