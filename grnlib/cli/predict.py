"""``grnlib predict``: score every candidate TF x gene pair (or the pairs of --pairs) with a model
trained by grnlib train, and write them ranked by score (``tf, target, score, rank, in_prior, sign,
sign_confidence``, best first).

``score`` is the model's logit (``sigmoid(score)`` is the probability; ranking on logits keeps
confident predictions apart where probabilities would round to 1.0). ``in_prior`` is 1 for a
prior edge of training (or of ``--priors``). ``--format`` writes the same ranking as BEELINE's
``rankedEdges.csv``, arboreto/pySCENIC adjacencies or a decoupler network instead
(:func:`grnlib.user.as_format`). All TF x gene pairs are scored in TF chunks; with
``--top-k`` only a running top-k is kept, so genome-scale runs stay in memory. The output is
written to a temporary file beside ``--out`` and renamed when complete.
"""
from __future__ import annotations

import argparse
import math
import time

from grnlib.cli.common import (Console, add_command, add_expression_options, add_priors_options, add_run_options,
                               check_device, scheduler_client, set_threads)
from grnlib.errors import check_seed
from grnlib.formats import format_help, format_names

EXAMPLES = """\
examples:
  grnlib predict --model my_model --expression expr.csv.gz --top-k 1000 --out ranked.tsv
  grnlib predict --model my_model --expression expr.csv.gz --pairs candidates.tsv --out scored.tsv
  grnlib predict --model my_model --expression expr.csv.gz --tfs tfs.txt --min-score 0 --out ranked.tsv
  grnlib predict --model my_model --expression cells.h5ad --top-k 5000 --format decoupler --out network.csv
  grnlib predict --model my_model --expression cells.h5ad --top-k 1000 --groupby cell_type --out per_type.tsv
  grnlib predict --model my_model --expression cells.h5ad --top-k 500 --format graphml --out network.graphml

The expression may hold the training cells (their features are rebuilt exactly) or any other cells
sharing the genes: a subset, a cluster, another sample (the features travel to them in the training
basis). --refit-features fits new features on these cells instead (exploratory scores).
"""


def add_predict_parser(subparsers) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "predict", "rank candidate TF -> target edges with a trained model", __doc__, EXAMPLES)
    parser.add_argument("--model", required=True, metavar="DIR",
                        help="folder written by grnlib train (or its model.pt)")
    add_expression_options(parser, inherit=True)
    group = parser.add_argument_group("candidates")
    group.add_argument("--tfs", metavar="FILE", help="candidate TF symbols, one per line (default: the model's TFs)")
    group.add_argument("--pairs", metavar="FILE",
                       help="score only these pairs: CSV/TSV with source,target (or headerless, source first)")
    add_priors_options(group, "mark in_prior against these edges instead of the training priors",
                       "score TFs with no prior edges (given with --tfs) from annotations: go, pfam, jaspar or auto "
                       "(default: as in training); adds an evidence column")
    group.add_argument("--refit-features", action="store_true",
                       help="fit new expression features on this matrix instead of carrying the training basis "
                            "over to its cells (the model then reads axes it never saw: exploratory scores)")
    group.add_argument("--groupby", metavar="COL",
                       help="one ranking per group of cells in this obs column of the .h5ad (clusters, cell types); "
                            "--out is one table with a group column first, each group ranked on its own cells "
                            "(rank restarts at 1; groups under 10 cells are skipped)")
    group = parser.add_argument_group("output")
    keep = group.add_mutually_exclusive_group()
    keep.add_argument("--top-k", type=int, metavar="K", help="keep the K best pairs (recommended at genome scale)")
    keep.add_argument("--min-score", type=float, metavar="S", help="keep pairs with score >= S (logit; 0 = p 0.5)")
    group.add_argument("--out", required=True, metavar="FILE",
                       help="ranked table to write (.tsv; .csv for commas; add .gz to compress)")
    group.add_argument("--format", choices=format_names(), default="grnlib",
                       help=f"layout of --out: {format_help(None, written=True)}; grnlib's columns are tf target "
                            "score rank in_prior sign sign_confidence, graphml's edges carry them as attributes")
    group.add_argument("--overwrite", action="store_true", help="replace an existing --out file (never an input)")
    group.add_argument("--chunk", type=int, default=256, help="TFs scored per step (memory: chunk x genes scores)")
    add_run_options(parser, "seeds a refit of the features (default: the training seed)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from grnlib.io import output_lock

    with output_lock(args.out), scheduler_client(args.scheduler) as args.client:  # a second predict into the same
        return _predict(args)  # --out stops instead of replacing this one's


def _predict(args: argparse.Namespace) -> int:
    from grnlib.cli.common import data_file
    from grnlib.errors import DataError
    from grnlib.data.validate import plain_suffix
    from grnlib.io import check_output_file
    from grnlib.user import (cli_wording, load_user_model, rank_edges, read_priors, read_tf_list,
                             read_user_expression, write_ranked)
    from grnlib.user.export import write_graphml
    from grnlib.user.groups import rank_groups, stacked
    from grnlib.user.reading import check_trainable_expression

    console = Console("predict", args.quiet)
    if args.top_k is not None and args.top_k < 1:
        raise DataError(None, f"--top-k must be at least 1, got {args.top_k}",
                        "pass a positive number of edges to keep, or use --min-score")
    if args.chunk < 1:
        raise DataError(None, f"--chunk must be at least 1, got {args.chunk}", "pass a positive number of TFs")
    if args.min_score is not None and math.isnan(args.min_score):
        raise DataError(None, "--min-score nan keeps no pair (nothing compares >= NaN)",
                        "pass a number (a logit: 0 keeps pairs with probability >= 0.5), or use --top-k")
    if args.groupby and args.format == "graphml":
        raise DataError(args.out, "--format graphml writes one network, --groupby one per group",
                        "write the groups as one table (--format grnlib, a group column) or run predict per group")
    check_seed(args.seed, "--seed")
    set_threads(args.threads)
    for name in ("expression", "tfs", "pairs", "priors"):  # data-relative ids, as the notebooks accept them
        setattr(args, name, data_file(getattr(args, name)))
    started = time.perf_counter()
    check_output_file(args.out, overwrite=args.overwrite,
                      inputs=(args.expression, args.model, args.tfs, args.pairs, args.priors))
    with console.capturing_warnings():
        device = check_device(args.device)
        um = load_user_model(args.model, device=device)
        trained = um.params.get("inputs", {})
        genes_as = args.genes_as or trained.get("genes_as") or "auto"
        # the training layer applies only when this matrix is an .h5ad file too
        is_h5ad = plain_suffix(args.expression) == ".h5ad"
        layer = args.layer if args.layer is not None else (trained.get("layer") if is_h5ad else None)
        raw_counts = args.raw_counts if args.raw_counts is not None else bool(trained.get("raw_counts", False))
        adata = read_user_expression(args.expression, genes_as, layer, raw_counts, cli=True,
                                     out_of_core=args.out_of_core, client=args.client)
        console.info(f"expression: {adata.n_obs} cells x {adata.n_vars} genes from {args.expression}")
        if args.refit_features and um.recipe is not None:
            check_trainable_expression(adata, args.expression)  # the features are fitted on it
        if args.seed is not None and um.recipe is not None:
            um.recipe.seed = args.seed
        tfs = read_tf_list(args.tfs) if args.tfs else None
        if args.knowledge:
            from grnlib.user.knowledge import attach_knowledge

            attach_knowledge(um, args.knowledge, seed=args.seed or 0)
        pairs = read_priors(args.pairs, genes=um.genes) if args.pairs else None
        priors = read_priors(args.priors, genes=um.genes, format=args.priors_format) if args.priors else None
        try:
            options = dict(tfs=tfs, pairs=pairs, priors=priors, top_k=args.top_k, min_score=args.min_score,
                           refit_features=args.refit_features, progress=not args.quiet, chunk_tfs=args.chunk,
                           expression_path=args.expression, tfs_path=args.tfs, pairs_path=args.pairs)
            if args.groupby:
                ranked = stacked(rank_groups(um, adata, args.groupby, **options))
            else:
                ranked = rank_edges(um, adata, **options)
        except DataError as exc:
            raise cli_wording(exc) from None  # its fixes name Python arguments (refit_features=True)
        if args.format == "graphml":
            write_graphml(ranked, args.out)
        else:
            write_ranked(ranked, args.out, format=args.format)
    console.info(f"wrote {len(ranked)} ranked pairs ({int(ranked['in_prior'].sum())} in the priors) to "
                 f"{args.out} in {time.perf_counter() - started:.1f} s")
    if not args.quiet and len(ranked):
        print(ranked.head(10).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0
