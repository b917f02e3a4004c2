"""``grnlib train``: your expression matrix and prior edges in, a trained model folder out.

The folder (``--out``) holds ``model.pt`` (weights, model config, gene list, candidate TFs,
prior edges and the fitted feature recipe; loads with ``torch.load(weights_only=True)``),
``params.yaml`` (every resolved setting; pass it back with ``--params`` to repeat the run),
``metrics.tsv`` (held-out metrics of the model and the degree baseline), ``history.tsv`` and
``pairs.tsv`` (the train/val/test pairs). It is written to a hidden temporary folder that is
renamed at the end, so a failed run leaves nothing behind.
"""
from __future__ import annotations

import argparse
import time

from grnlib.cli.common import Console, add_expression_options, add_run_options, check_device, set_threads
from grnlib.cli.predict import FORMATS

EXAMPLES = """\
examples:
  grnlib train --expression expr.csv.gz --priors trrust.tsv.gz --model phase1 --out my_model
  grnlib train --expression cells.h5ad --layer counts --raw-counts --priors edges.csv \\
               --tfs tfs.txt --model deep_two_tower --params my.yaml --out my_model

--model takes a preset of grnlib.evaluation.presets (e.g. phase1, phase4, best) or a registry model (e.g.
expression_two_tower); an unknown name lists them all. --params YAML keys:
model_cfg, train (TrainConfig fields), features ({kind: pca|cells, n_components}), split
({protocol: seed|heldout-tf|degree-matched, val_fraction, test_fraction, neg_ratio}), seed.
"""
SHOWN_METRICS = ["name", "auroc", "auprc", "auprc_ratio", "early_precision_ratio", "f1", "mcc", "n"]


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "train", help="train a model on your expression matrix and prior edges",
        description="Train a link-prediction model on your data: prior TF->target edges are the "
                    "positives, a part of them (with sampled negatives) is held out, and the model "
                    "and the degree baseline are scored on it.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_expression_options(parser)
    group = parser.add_argument_group("priors and TFs")
    group.add_argument("--priors", required=True, metavar="FILE",
                       help="prior edges, CSV/TSV: a header with source,target (optional sign, weight), or "
                            "no header with source and target first (e.g. TRRUST's raw table)")
    group.add_argument("--priors-format", choices=FORMATS, default=None,
                       help="read --priors in this layout: grnlib, beeline (Gene1 Gene2 EdgeWeight), arboreto (TF "
                            "target importance), decoupler (source target weight; CollecTRI, DoRothEA); default: "
                            "detected from the header")
    group.add_argument("--tfs", metavar="FILE",
                       help="TF symbols, one per line (or the first column of a CSV): only prior edges from "
                            "these TFs are used, and they are the default TFs of grnlib predict")
    group = parser.add_argument_group("model")
    group.add_argument("--model", help="preset or registry model name (may instead come from --params)")
    group.add_argument("--params", metavar="YAML", help="settings overriding the model's defaults")
    group.add_argument("--epochs", type=int, help="override the number of training epochs")
    group = parser.add_argument_group("output")
    group.add_argument("--out", required=True, metavar="DIR", help="folder to write (must not exist, or be empty)")
    group.add_argument("--overwrite", action="store_true", help="replace an earlier grnlib model in --out (never a folder of other files)")
    add_run_options(parser, "seeds the split, the features, model init and shuffling (default: params' seed, else 0)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from grnlib.data import DataError
    from grnlib.io import atomic_folder
    from grnlib.user import (load_params_file, read_priors, read_tf_list, read_user_expression, resolve_user_spec,
                             train_user_model, user_dataset, write_user_model)

    console = Console("train", args.quiet)
    if args.epochs is not None and args.epochs < 1:
        raise DataError(None, f"--epochs must be at least 1, got {args.epochs}", "pass a positive number of epochs")
    set_threads(args.threads)
    started = time.perf_counter()
    with console.capturing_warnings(), atomic_folder(args.out, overwrite=args.overwrite) as tmp:
        params = load_params_file(args.params) if args.params else {}
        spec = resolve_user_spec(args.model, params, epochs=args.epochs, params_path=args.params)
        seed = args.seed if args.seed is not None else int(spec["seed"] or 0)
        device = check_device(args.device)
        adata = read_user_expression(args.expression, args.genes_as, args.layer, args.raw_counts, cli=True)
        console.info(f"expression: {adata.n_obs} cells x {adata.n_vars} genes from {args.expression}")
        tfs = read_tf_list(args.tfs) if args.tfs else None
        priors = read_priors(args.priors, genes=adata.var_names, format=args.priors_format)
        ds = user_dataset(adata, priors, tfs, priors_path=args.priors, tfs_path=args.tfs)
        console.info(f"priors: {ds.n_edges} edges from {ds.n_tfs} TFs among the expression's genes "
                     f"({len(ds.meta['candidate_tfs'])} candidate TFs for predict)")
        inputs = {"expression": str(args.expression), "genes_as": args.genes_as, "layer": args.layer,
                  "raw_counts": bool(args.raw_counts), "priors": str(args.priors),
                  "tfs": None if args.tfs is None else str(args.tfs)}
        console.info(f"training {spec['preset'] or spec['model']} (seed {seed}, split {spec['split']['protocol']})")
        try:
            um = train_user_model(ds, spec, seed=seed, device=device, progress=not args.quiet, inputs=inputs)
        except FloatingPointError as exc:
            raise DataError(args.params, f"training diverged ({exc})", "lower train.lr in --params") from None
        write_user_model(tmp, um)
    console.info(f"wrote {args.out} in {time.perf_counter() - started:.1f} s")
    if not args.quiet:
        shown = um.metrics[[c for c in SHOWN_METRICS if c in um.metrics]]
        print(f"held-out pairs ({int(um.split['test']['label'].sum())} prior edges, "
              f"{int((um.split['test']['label'] == 0).sum())} sampled negatives):")
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0
