#!/usr/bin/env python
"""Knowledge beyond expression (issue 19): annotation evidence for held-out TFs, with its controls.

Runs :func:`grnlib.benchmark.knowledge.run_study` on the development settings (Non-Specific, STRING,
Specific at hHEP/mESC/mDC TFs+500; never mHSC-L or Lofgof) and writes to ``--out``:
``runs.csv`` (one row per setting, seed, fold and method), ``per_setting.csv``, ``summary.csv`` (paired
differences over settings with t intervals), ``goals.csv``, ``chosen.csv`` and ``README.md`` (the tables
and the command that made them).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/knowledge.py --seeds 0,1,2 --out results/knowledge

``--models`` runs the knowledge evidence as features of ``pair_evidence`` instead (the presets of
:data:`grnlib.benchmark.knowledge.MODEL_LEADS`: the model, its two controls and the model without knowledge,
trained on each split beside the floors and the ``knowledge`` baseline); ``--run-folds 0`` runs one TF fold a seed.
``--motif`` runs the motif study instead (:data:`grnlib.benchmark.knowledge.MOTIF_VARIANTS`: the JASPAR motif
similarity added to the TF-TF sources, in place of the JASPAR family, and shuffled across genes) and writes
``motif_verdict.csv``:

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/knowledge.py --motif --seeds 0,1,2 --out results/knowledge_motif
"""
from __future__ import annotations

import argparse
import re
import shlex
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    from grnlib.benchmark.knowledge import (CONTRASTS, DEVELOPMENT, METHODS, MODEL_LEADS, MOTIF_CONTRASTS,
                                            MOTIF_METHODS, chosen_combinations, goals, model_contrasts,
                                            model_methods, motif_verdict, per_setting, run_study, summarise)
    from grnlib.io import write_table, write_text

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default=",".join(DEVELOPMENT))
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", default="results/knowledge")
    parser.add_argument("--protocol", default="heldout-tf", choices=("heldout-tf", "released"))
    parser.add_argument("--run-folds", default=None, help="comma-separated TF folds to run (default: all)")
    parser.add_argument("--models", action="store_true",
                        help="the knowledge evidence as features of pair_evidence, with its controls (MODEL_LEADS)")
    parser.add_argument("--motif", action="store_true",
                        help="the motif study: the knowledge score with and without the JASPAR motif source, and "
                             "with the motifs shuffled (MOTIF_VARIANTS)")
    parser.add_argument("--from-runs", action="store_true",
                        help="recompute the summaries from <out>/runs.csv instead of running the study")
    parser.add_argument("--add-runs", metavar="DIR", action="append", default=[],
                        help="with --from-runs: add the runs of another output folder of this script (e.g. more "
                             "settings run separately); its command joins the README's")
    args = parser.parse_args(argv)
    command = "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/knowledge.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    started = time.time()
    if args.from_runs:
        import pandas as pd

        folders = [Path(args.out), *map(Path, args.add_runs)]
        runs = pd.concat([pd.read_csv(f / "runs.csv") for f in folders], ignore_index=True).drop_duplicates(
            ["setting", "seed", "fold", "method"], keep="last")
        previous = "\n".join((f / "README.md").read_text() for f in folders)
        commands = [line.split("      #")[0] for line in previous.splitlines() if line.startswith("OMP_NUM_THREADS")]
        merge = [command] if args.add_runs else []  # the merge itself is part of how the summaries were made
        command = "\n".join(dict.fromkeys(commands + merge)) or command
        minutes = sum(float(m) for m in re.findall(r"# (\d+) minutes", previous))
    else:
        methods = model_methods(args.protocol) if args.models else MOTIF_METHODS if args.motif else METHODS
        runs = run_study(args.settings.split(","), seeds=[int(s) for s in args.seeds.split(",")], n_folds=args.folds,
                         protocol=args.protocol, methods=methods,
                         folds=None if args.run_folds is None else [int(f) for f in args.run_folds.split(",")])
    lead = MODEL_LEADS[args.protocol] if args.models else {"lead": "knowledge", "shuffled": "knowledge_shuffled",
                                                           "blind": "knowledge_blind"}
    summary = summarise(runs, model_contrasts(args.protocol) if args.models
                        else MOTIF_CONTRASTS if args.motif else CONTRASTS)
    table = per_setting(runs)
    verdicts = goals(summary, args.protocol, lead["lead"], lead["shuffled"], lead["blind"])
    chosen = chosen_combinations(runs)
    if not args.from_runs:
        minutes = (time.time() - started) / 60
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    motif = motif_verdict(summary) if args.motif else None
    for name, frame in (("runs", runs), ("per_setting", table), ("summary", summary), ("goals", verdicts),
                        ("chosen", chosen), ("motif_verdict", motif)):
        if frame is None:
            continue
        write_table(frame, folder / f"{name}.csv")  # each file atomic
    write_text(folder / "README.md", _readme(command, minutes, summary, verdicts, chosen, runs, args.protocol,
                                             args.models, motif))
    print(summary.round(3).to_string(index=False))
    print(verdicts.round(3).to_string(index=False))
    if motif is not None:
        print(motif.round(4).to_string(index=False))
    return 0


def _readme(command, minutes, summary, verdicts, chosen, runs, protocol, models=False, motif=None) -> str:
    from grnlib.benchmark.knowledge import MODEL_LEADS

    shown = summary.assign(**{c: summary[c].round(3) for c in ("method_mean", "reference_mean", "delta",
                                                                 "ci_low", "ci_high")})
    if protocol == "released":
        where = (f"on the published (released) splits, samples {[int(s) + 1 for s in sorted(runs['seed'].unique())]}: "
                 "the test TFs have training edges")
    else:
        where = (f"on the held-out TFs of the `heldout-tf` protocol ({runs['fold'].nunique()} folds over TFs, seeds "
                 f"{sorted(runs['seed'].unique().tolist())})")
    if models:
        names = sorted(set(runs["method"]) & {v for lead in MODEL_LEADS.values() for v in lead.values()})
        folds = sorted(runs["fold"].unique().tolist())
        if protocol != "released":
            where = (f"on the held-out TFs of the `heldout-tf` protocol (TF fold(s) {folds} of 5 at each seed, seeds "
                     f"{sorted(runs['seed'].unique().tolist())})")
        text = f"""The knowledge evidence as **features of `pair_evidence`** (`grnlib.models.knowledge.KnowledgeEvidence`,
evidence group `knowledge`: transfer from similar training TFs, all and real TFs only; GO similarity of TF and
gene, alone and times the target's leave-one-out degree; real-TF flag and degree among real TFs; GO similarity of
the gene to the TF's other training targets), added to the pair-evidence model each alias chose, scored {where},
beside the floors (`degree`, `edge_prior`; `floor` = the better of the two on each split). Trained models
(`{"`, `".join(names)}`): the model, its two controls (annotations shuffled across genes; a TF-identity-blind
transfer) and the same model without knowledge. Per-TF AUROC = mean over a split's test TFs; pooled = over its
test pairs; both averaged per setting, then paired over settings (t interval, df = settings - 1). Everything is
built from training edges and annotations only (`tests/test_knowledge.py`: held-out TFs' edges never reach the
features). STRING is partly derived from curated pathways and text mining, the same kind of knowledge as GO: its
gains are likely inflated; Non-Specific (ChIP-seq) is the credible figure. mHSC-L and Lofgof are never used.
"""
    elif motif is not None:
        text = f"""Does a **JASPAR motif similarity** earn its place as TF-TF evidence? The `knowledge` score (GO / Pfam
DNA-binding domain / JASPAR family transfer, GO function, degree among real TFs) is scored {where} as it is
(`knowledge`), with the optional `motif` source added to the TF-TF similarities (`knowledge_motif`), with the
motifs permuted across genes and the other sources intact (`knowledge_motif_shuffled`, the shuffled-motif
control), and with the motif source in place of the JASPAR family (`knowledge_motif_not_family`). Motif
similarity of two TFs (`grnlib.models.knowledge.gene_motif_similarity`): the best, over their JASPAR 2026
vertebrate CORE matrices (latest versions), of the mean column-wise Pearson correlation of base probabilities
over the ungapped alignments on either strand overlapping by >= 5 columns, rescaled above 0.5 (the 75th
percentile for TFs of different structural classes). The motif source earns its place only where
`knowledge_motif` beats both `knowledge` and the shuffled-motif control with the whole t interval above 0
(paired over settings; per-TF AUROC = mean over a fold's held-out TFs, pooled = over its test pairs).
Non-Specific (ChIP-seq) is the credible figure. mHSC-L and Lofgof are never used.
"""
    else:
        text = f"""Annotation evidence (`grnlib.evaluation.knowledge`: GO / Pfam DNA-binding domain / JASPAR family transfer
from similar training TFs, TF-target GO similarity times the degree score, degree among real TFs) scored on
{where}, beside the floors (`degree`, `edge_prior`; `floor` = the better of the
two on each fold) and two controls: `knowledge_shuffled` (annotations permuted across genes) and
`knowledge_blind` (the transfer ignores which TF it scores). Per-TF AUROC = mean over a fold's held-out TFs;
pooled = over its test pairs; both averaged per setting, then paired over settings (t interval,
df = settings - 1). Everything is fitted on training TFs' edges only; the combination (lambda, mu,
real-TF-only) is chosen on inner splits of the training TFs. STRING is partly derived from curated pathways
and text mining, the same kind of knowledge as GO: its gains are likely inflated; Non-Specific (ChIP-seq) is
the credible figure. mHSC-L and Lofgof are never used.
"""
    title = " (pair_evidence features)" if models else " (JASPAR motif similarity)" if motif is not None else ""
    return f"""# Knowledge beyond expression (issue 19): {protocol}{title}

{text}
```bash
{command}      # {minutes:.0f} minutes on the shared 2-core machine
```

## Paired differences

{shown.to_markdown(index=False)}

## Goals

{verdicts.round(3).to_markdown(index=False)}
""" + ("" if motif is None else f"""
## Does the motif source earn its place?

{motif.round(4).to_markdown(index=False)}
""") + ("" if chosen.empty else f"""
## Combinations chosen on the inner splits (folds)

{chosen.to_markdown(index=False)}
""")


if __name__ == "__main__":
    sys.exit(main())
