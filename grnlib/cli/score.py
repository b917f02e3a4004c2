"""``grnlib score``: pooled and per-TF AUROC, AUPRC and early precision (BEELINE's EPR) of a ranked
edge list you already have (from grnlib, BEELINE, arboreto/pySCENIC, GENIE3, decoupler ...) against a
reference network, beside the degree and edge-prior floors, with intervals from resampling the TFs
(:func:`grnlib.user.scoring.score_network`)."""
from __future__ import annotations

import argparse

from grnlib.cli.common import Console, add_command, add_edge_format_option

EXAMPLES = """\
examples:
  grnlib score --network rankedEdges.csv --reference refNetwork.csv --train-reference 0.5
  grnlib score --network adjacencies.tsv --reference chip.csv --prior collectri.csv --expression cells.h5ad \\
      --out scores.json

Scored pairs: every TF of the reference x every gene of the universe (the genes of --expression,
else those the network or the reference name), self-pairs excluded; pairs the network does not
list rank last, tied. Weights are read as BEELINE reads them (absolute value), grnlib's score as
it is, a table without weights by its row order. auprc is average precision, auprc_dg the
Davis-Goadrich area BEELINE reports, early_precision_ratio BEELINE's EPR. Intervals resample TFs.
"""


def add_score_parser(subparsers) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "score", "score a ranked network against a reference, beside the degree floor", __doc__, EXAMPLES)
    group = parser.add_argument_group("networks")
    group.add_argument("--network", required=True, metavar="FILE",
                       help="ranked edges: grnlib (tf target score), BEELINE rankedEdges (Gene1 Gene2 EdgeWeight), "
                            "arboreto/pySCENIC (TF target importance), decoupler (source target weight), or "
                            "source,target in rank order")
    add_edge_format_option(group, "--network-format", "--network")
    group.add_argument("--reference", required=True, metavar="FILE",
                       help="true edges (source,target; BEELINE refNetwork Gene1,Gene2; any layout above)")
    add_edge_format_option(group, "--reference-format", "--reference")
    floors = group.add_mutually_exclusive_group()
    floors.add_argument("--train-reference", type=float, metavar="FRACTION",
                        help="compute the floors from this seeded fraction of the reference edges, which then "
                             "leave the scored pairs (e.g. 0.5)")
    floors.add_argument("--prior", metavar="FILE", help="compute the floors from this separate prior network")
    group = parser.add_argument_group("gene universe")
    group.add_argument("--expression", metavar="FILE",
                       help="the genes of this expression matrix (.h5ad, CSV/TSV) are the universe "
                            "(default: the genes the network or the reference name)")
    group.add_argument("--genes-as", choices=("auto", "rows", "columns"), default="auto",
                       help="where the genes are in a text expression file (auto: rows for text, columns for .h5ad)")
    group = parser.add_argument_group("output")
    group.add_argument("--seed", type=int, default=0, help="seeds the training part, the edge prior and the bootstrap")
    group.add_argument("--n-boot", type=int, default=200, help="TF resamples for the intervals (0: none)")
    group.add_argument("--out", metavar="FILE", help="also write the table: .json (with the settings), .tsv, .csv")
    group.add_argument("--overwrite", action="store_true", help="replace an existing --out file (never an input)")
    group.add_argument("--quiet", action="store_true", help="print only the table (warnings and errors still print)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from grnlib.errors import check_seed
    from grnlib.io import check_output_file
    from grnlib.user.scoring import describe, score_network, score_output, scoring_universe

    console = Console("score", args.quiet)
    check_seed(args.seed, "--seed")
    if args.out is not None:
        check_output_file(args.out, overwrite=args.overwrite,
                          inputs=(args.network, args.reference, args.prior, args.expression))
    with console.capturing_warnings():
        genes, source = None, None
        if args.expression is not None:
            from grnlib.user import read_user_expression

            genes, source = scoring_universe(read_user_expression(args.expression, args.genes_as, cli=True))
            source = f"{source} in {args.expression}"
        table = score_network(args.network, args.reference, genes=genes, genes_source=source,
                              train_reference=args.train_reference, prior=args.prior,
                              network_format=args.network_format, reference_format=args.reference_format,
                              seed=args.seed, n_boot=args.n_boot,
                              paths={"network": args.network, "reference": args.reference, "prior": args.prior})
        if args.out is not None:
            score_output(table, args.out)
    for line in describe(table).splitlines():
        console.info(line)
    shown = table.set_index("scorer").astype(object)
    for column in shown.columns:  # counts as integers, metrics to 4 decimals
        shown[column] = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in shown[column]]
    print(shown.T.to_string())
    if args.out is not None:
        console.info(f"wrote {args.out}")
    return 0
