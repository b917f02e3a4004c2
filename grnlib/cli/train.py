"""``grnlib train``: train a link-prediction model on your data: prior TF->target edges are the positives, a
part of them (with sampled negatives) is held out, and the model and the degree baseline are scored on it
(your expression matrix and prior edges in, a trained model folder out).

The folder (``--out``) holds ``model.pt`` (weights, model config, gene list, candidate TFs,
prior edges and the fitted feature recipe; loads with ``torch.load(weights_only=True)``),
``params.yaml`` (every resolved setting; pass it back with ``--params`` to repeat the run),
``metrics.tsv`` (held-out metrics of the model and the degree baseline), ``history.tsv`` and
``pairs.tsv`` (the train/val/test pairs). It is written to a hidden temporary folder that is
renamed at the end, so a failed run leaves nothing behind.

Resuming: while the model trains, its training state is saved after every epoch in
``<out>.partial/`` (``last.pt``, and ``run.json`` with the run's settings and the SHA-256 of its
input files). A finished run deletes it; a run stopped by Ctrl-C, SIGTERM, SIGKILL or a crash
leaves it, and ``grnlib train --resume <out>`` continues from the last epoch to the result the
uninterrupted run would have written (same inputs, settings and seed; the inputs are checked).
"""
from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from grnlib.cli.common import (Console, add_command, add_expression_options, add_priors_options, add_run_options,
                               check_device, scheduler_client, set_threads)
from grnlib.entry import Terminated
from grnlib.errors import check_seed

EXAMPLES = """\
examples:
  grnlib train --expression expr.csv.gz --priors trrust.tsv.gz --model phase1 --out my_model
  grnlib train --expression cells.h5ad --layer counts --raw-counts --priors edges.csv \\
               --tfs tfs.txt --model deep_two_tower --params my.yaml --out my_model
  grnlib train --resume my_model      (continue a run that was interrupted)

--model takes a preset of grnlib.evaluation.presets (e.g. phase1, phase4, best) or a registry model (e.g.
expression_two_tower); `grnlib train --model list` describes every one, grouped. Training stops early
(--patience, default 5 where the recipe sets none) and keeps the best validation epoch. Files may be
given by their path under the data root (see grnlib datasets --paths). --params YAML keys:
model_cfg, train (TrainConfig fields), features ({kind: pca|cells, n_components}), split
({protocol: seed|heldout-tf|degree-matched, val_fraction, test_fraction, neg_ratio}), seed.
"""
SHOWN_METRICS = ["name", "auroc", "auprc", "auprc_ratio", "early_precision_ratio", "f1", "mcc", "n"]
PARTIAL_SUFFIX = ".partial"
RUN_FILE = "run.json"
RUN_FORMAT = "grnlib-train-partial-v1"
INPUT_FILES = ("expression", "priors", "tfs")


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "train", "train a model on your expression matrix and prior edges", __doc__, EXAMPLES)
    add_expression_options(parser)
    for action in parser._actions:  # --expression is not needed with --resume (checked in run)
        if action.dest == "expression":
            action.required = False
    group = parser.add_argument_group("priors and TFs")
    add_priors_options(group, "prior edges, CSV/TSV: a header with source,target (optional sign, weight), or no "
                              "header with source and target first (e.g. TRRUST's raw table)",
                       "annotation evidence for TFs with no prior edges: go, pfam, jaspar (comma-separated), or auto "
                       "(all, for human or mouse symbols); predict ranks their targets from it and adds an evidence "
                       "column")
    group.add_argument("--tfs", metavar="FILE",
                       help="TF symbols, one per line (or the first column of a CSV): only prior edges from "
                            "these TFs are used, and they are the default TFs of grnlib predict")
    group = parser.add_argument_group("model")
    group.add_argument("--model", help="preset or registry model name (may instead come from --params; default "
                                       "best); `--model list` describes them all")
    group.add_argument("--params", metavar="YAML", help="settings overriding the model's defaults")
    group.add_argument("--epochs", type=int, help="override the number of training epochs")
    group.add_argument("--patience", type=int, metavar="N",
                       help="stop after N epochs without a better validation AUROC, keeping the best epoch's "
                            "weights; 0 trains every epoch (default: the recipe's, else 5)")
    group = parser.add_argument_group("output")
    group.add_argument("--out", metavar="DIR", help="folder to write (must not exist, or be empty)")
    group.add_argument("--overwrite", action="store_true", help="replace an earlier grnlib model in --out (never a folder of other files)")
    group.add_argument("--resume", metavar="DIR",
                       help=f"continue the interrupted run whose --out was DIR (from DIR{PARTIAL_SUFFIX}/), "
                            "with its settings; only --device, --threads, --quiet and --overwrite may be added")
    add_run_options(parser, "seeds the split, the features, model init and shuffling (default: params' seed, else 0)")
    parser.set_defaults(func=run, parser=parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from grnlib.io import output_lock
    from grnlib.user.trainable import model_list

    if args.model == "list":
        print(model_list())
        return 0
    if args.resume is None:
        missing = [flag for flag in ("--expression", "--priors", "--out") if getattr(args, flag[2:]) is None]
        if missing:
            args.parser.error(f"the following arguments are required: {', '.join(missing)} (or --resume DIR)")
    # one writer per --out: a second run into it stops here, before it touches <out>.partial
    with output_lock(args.resume if args.resume is not None else args.out), \
            scheduler_client(args.scheduler) as args.client:
        return _train(args)


def _train(args: argparse.Namespace) -> int:
    from grnlib.cli.common import data_file
    from grnlib.errors import DataError
    from grnlib.io import atomic_folder, write_failure
    from grnlib.training.loop import TrainConfig
    from grnlib.user import (load_params_file, read_priors, read_tf_list, read_user_expression, resolve_user_spec,
                             train_user_model, user_dataset, write_user_model)
    from grnlib.user.reading import transposed_fix
    from grnlib.user.trainable import check_trainable

    console = Console("train", args.quiet)
    if args.epochs is not None and args.epochs < 1:
        raise DataError(None, f"--epochs must be at least 1, got {args.epochs}", "pass a positive number of epochs")
    if args.patience is not None and args.patience < 0:
        raise DataError(None, f"--patience must be 0 (off) or more, got {args.patience}",
                        "pass --patience 0 to train every epoch, or N to stop after N epochs without improvement")
    check_seed(args.seed, "--seed")
    set_threads(args.threads)
    for name in INPUT_FILES:  # data-relative ids (beeline/...) as the notebooks accept them
        setattr(args, name, data_file(getattr(args, name)))
    partial = Partial(args.resume if args.resume is not None else args.out)
    stored = partial.resume_settings(args) if args.resume is not None else None
    started = time.perf_counter()
    try:
        with console.capturing_warnings(), atomic_folder(partial.out, overwrite=args.overwrite) as tmp:
            if stored is None:
                partial.refuse_existing(args.overwrite)
                params = load_params_file(args.params) if args.params else {}
            else:
                params = stored["params"]
            check_trainable(args.model or params.get("model"), None if args.model else args.params)
            spec = resolve_user_spec(args.model, params, epochs=args.epochs, params_path=args.params)
            spec = spec.with_patience(args.patience,
                                      set_in_params="early_stopping_patience" in (params.get("train") or {}))
            from_flag = args.seed is not None
            seed = check_seed(args.seed if from_flag else (spec.seed or 0), "--seed" if from_flag else "seed",
                              source=None if from_flag else args.params)
            device = check_device(args.device)
            adata = read_user_expression(args.expression, args.genes_as, args.layer, args.raw_counts, cli=True,
                                         out_of_core=args.out_of_core, client=args.client)
            console.info(f"expression: {adata.n_obs} cells x {adata.n_vars} genes from {args.expression}")
            tfs = read_tf_list(args.tfs) if args.tfs else None
            priors = read_priors(args.priors, genes=adata.var_names, format=args.priors_format)
            ds = user_dataset(adata, priors, tfs, priors_path=args.priors, tfs_path=args.tfs,
                              expression_path=args.expression,
                              transpose_fix=transposed_fix(args.expression, args.genes_as, cli=True))
            console.info(f"priors: {ds.n_edges} edges from {ds.n_tfs} TFs among the expression's genes "
                         f"({len(ds.meta['candidate_tfs'])} candidate TFs for predict)")
            inputs = stored["inputs"] if stored else {
                "expression": str(args.expression), "genes_as": args.genes_as, "layer": args.layer,
                "raw_counts": bool(args.raw_counts), "priors": str(args.priors),
                "tfs": None if args.tfs is None else str(args.tfs)}
            if stored is None:
                partial.start(args, params, seed, inputs)
            else:
                console.info(f"resuming from epoch {stored['epoch']} of {partial.path}")
            patience = spec.run.train.get("early_stopping_patience", TrainConfig.early_stopping_patience)
            console.info(f"training {spec.run.preset or spec.run.model} (seed {seed}, split {spec.split['protocol']}, "
                         + (f"early stopping after {patience} epochs without improvement)" if patience else
                            "every epoch)"))
            try:
                um = train_user_model(ds, spec, seed=seed, device=device, progress=not args.quiet, inputs=inputs,
                                      checkpoint_dir=partial.path)
            except FloatingPointError as exc:
                raise DataError(args.params, f"training diverged ({exc})", "lower train.lr in --params") from None
            if args.knowledge:
                from grnlib.user.knowledge import attach_knowledge

                chosen = attach_knowledge(um, args.knowledge, seed=seed)
                if chosen:
                    console.info(f"knowledge: {','.join(chosen['sources'])} ({chosen['match_rate']:.0%} of genes "
                                 "matched to human symbols)")
            write_user_model(tmp, um)
    except (KeyboardInterrupt, Terminated) as exc:
        exc.outcome = partial.after_interrupt()
        raise
    except DataError:
        if stored is None:
            partial.discard()  # bad input or a diverged run: resuming would fail the same way
        raise
    except OSError as exc:
        if write_failure(exc) is None:
            partial.after_interrupt()  # a crash: keep the epochs done, if any
        elif stored is None:
            partial.discard()  # a full disk or missing permissions: leave nothing behind
        raise
    except BaseException:
        partial.after_interrupt()  # a crash (out of memory, a bug): keep the epochs done, if any
        raise
    partial.discard(force=True)
    history = um.history
    if history is not None and len(history) < int(spec.run.train.get("epochs", len(history))):
        console.info(f"stopped early after epoch {len(history)} of {spec.run.train['epochs']}; kept the weights of "
                     f"epoch {um.params['data']['best_epoch']} (best validation AUROC)")
    console.info(f"wrote {partial.out} in {time.perf_counter() - started:.1f} s")
    if not args.quiet:
        shown = um.metrics[[c for c in SHOWN_METRICS if c in um.metrics]]
        print(f"held-out pairs ({int(um.split['test']['label'].sum())} prior edges, "
              f"{int((um.split['test']['label'] == 0).sum())} sampled negatives):")
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    verdict = um.params["data"].get("verdict")
    if verdict:  # the model against the degree floor, with its interval; a warning when not above it
        from grnlib.evaluation.floor_gap import FloorVerdict

        verdict = FloorVerdict.from_dict(verdict)
        if not args.quiet:
            print(verdict.line())
        elif not verdict.above:  # --quiet still says it, as one warning line
            import warnings

            from grnlib.errors import DataWarning

            warnings.warn(verdict.line(), DataWarning, stacklevel=1)
    return 0


class Partial:
    """``<out>.partial/``: the training state of a run in progress, kept when it is interrupted.

    It holds ``run.json`` (settings, params, the input files' SHA-256, the writer's pid) and the
    ``last.pt`` that :func:`grnlib.training.loop.fit` writes after every epoch. Only a folder with
    grnlib's ``run.json`` is ever deleted.
    """

    def __init__(self, out):
        self.out = Path(out)
        # by string: "." or "/" have no name to extend (atomic_folder refuses them before any use)
        self.path = Path(str(self.out.absolute()).rstrip(os.sep) + PARTIAL_SUFFIX)
        self.created = False

    @property
    def checkpoint(self) -> Path:
        from grnlib.training.loop import CHECKPOINT_NAME

        return self.path / CHECKPOINT_NAME

    def _record(self) -> dict | None:
        import json

        try:
            record = json.loads((self.path / RUN_FILE).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("format") != RUN_FORMAT:
            return None
        settings, files = record.get("settings"), record.get("files")
        complete = (isinstance(settings, dict) and isinstance(files, dict) and isinstance(record.get("params"), dict)
                    and {"model", "epochs", "seed", "params_file", "genes_as", "layer", "raw_counts",
                         "priors_format"} <= set(settings)
                    and all(isinstance(f, dict) and "path" in f for f in files.values()))
        return record if complete else None

    def _refuse_if_running(self, record: dict) -> None:
        from grnlib.errors import DataError
        from grnlib.io import pid_alive

        pid = record.get("pid")
        if isinstance(pid, int) and pid != os.getpid() and pid_alive(pid):
            raise DataError(self.path, f"another grnlib train (pid {pid}) is writing {self.out} right now",
                            "wait for it to finish, or choose another --out")

    def refuse_existing(self, overwrite: bool) -> None:
        """Before a fresh run: an earlier interrupted run's state is resumed or replaced, never lost silently."""
        from grnlib.errors import DataError

        if not self.path.exists():
            return
        record = self._record()
        if record is None:
            what = "its run.json is damaged" if (self.path / RUN_FILE).is_file() else "no run.json"
            raise DataError(self.path, f"exists and was not written by grnlib train ({what}), so it is never "
                            "deleted", "move it away (or delete it), or choose another --out")
        self._refuse_if_running(record)
        if not overwrite:
            raise DataError(self.path, f"holds the training state of an interrupted run of {self.out}",
                            f"continue it with grnlib train --resume {self.out}, or pass --overwrite to start afresh")
        shutil.rmtree(self.path)

    def start(self, args, params: dict, seed: int, inputs: dict) -> None:
        """Create the folder with ``run.json`` (after the inputs were read and checked)."""
        from grnlib.io import write_json

        files = {name: _file_record(getattr(args, name)) for name in INPUT_FILES if getattr(args, name)}
        record = {"format": RUN_FORMAT, "pid": os.getpid(), "out": str(self.out.absolute()),
                  "settings": {"model": args.model, "epochs": args.epochs, "seed": seed,
                               "params_file": None if args.params is None else str(Path(args.params).absolute()),
                               "genes_as": args.genes_as, "layer": args.layer, "raw_counts": bool(args.raw_counts),
                               "priors_format": args.priors_format, "patience": args.patience},
                  "params": params, "inputs": inputs, "files": files}
        self.path.mkdir()
        self.created = True
        write_json(self.path / RUN_FILE, record)

    def resume_settings(self, args) -> dict:
        """Fill ``args`` from the interrupted run; DataError when there is none, it is damaged or running,
        a flag contradicts it, or an input file changed since."""
        from grnlib.errors import DataError
        from grnlib.io import write_json

        record = self._record()
        if record is None and (self.path / RUN_FILE).is_file():
            raise DataError(self.path / RUN_FILE, f"is damaged or not grnlib's, so the interrupted run of {self.out} "
                            "cannot be resumed (its settings and input checksums are unknown)",
                            f"delete {self.path} and start a new run without --resume")
        if record is None or not self.checkpoint.is_file():
            what = "no such folder" if not self.path.exists() else "no training state in it"
            raise DataError(self.path, f"no interrupted run of {self.out} to resume ({what})",
                            "train without --resume (a run that finished or failed before its first epoch "
                            "leaves nothing to resume)")
        self._refuse_if_running(record)
        settings, files = record["settings"], record["files"]
        given = {"--out": (args.out, str(self.out.absolute()))}
        given.update({f"--{name}": (getattr(args, name), files.get(name, {}).get("path")) for name in INPUT_FILES})
        given.update({"--model": (args.model, settings["model"]), "--params": (args.params, settings["params_file"]),
                      "--epochs": (args.epochs, settings["epochs"]), "--seed": (args.seed, settings["seed"]),
                      "--layer": (args.layer, settings["layer"]),
                      "--priors-format": (args.priors_format, settings["priors_format"]),
                      "--patience": (args.patience, settings.get("patience"))})
        for flag, (now, then) in given.items():
            if now is None:
                continue
            same = (Path(now).absolute() == Path(then).absolute() if flag in ("--out", "--expression", "--priors",
                                                                               "--tfs", "--params") and then else now == then)
            if not same:
                raise DataError(None, f"{flag} {now} differs from the interrupted run's ({then}); --resume continues "
                                "that run with its own settings", f"omit {flag}, or start a new run without --resume")
        if args.genes_as not in ("auto", settings["genes_as"]) or (args.raw_counts and not settings["raw_counts"]):
            raise DataError(None, "--genes-as / --raw-counts differ from the interrupted run's; --resume continues "
                            "that run with its own settings", "omit them, or start a new run without --resume")
        for name in INPUT_FILES:
            entry = files.get(name)
            setattr(args, name, entry["path"] if entry else None)
            if entry and _file_record(entry["path"], missing_ok=True) != entry:
                raise DataError(entry["path"], "changed (or disappeared) since the interrupted run, so resuming it "
                                "would not give that run's result",
                                f"restore the file, or start a new run without --resume (delete {self.path})")
        args.model, args.params, args.epochs, args.seed = (settings["model"], settings["params_file"],
                                                           settings["epochs"], settings["seed"])
        args.genes_as, args.layer, args.raw_counts = settings["genes_as"], settings["layer"], settings["raw_counts"]
        args.priors_format, args.patience = settings["priors_format"], settings.get("patience")
        args.out = str(self.out)
        record["epoch"] = _checkpoint_epoch(self.checkpoint)
        write_json(self.path / RUN_FILE, {**record, "pid": os.getpid()})
        return record

    def after_interrupt(self) -> str:
        """What an interrupted run leaves: its training state when there is one, else nothing."""
        if self.checkpoint.is_file():
            return (f"the model was not written; its training state is kept in {self.path}: "
                    f"continue with grnlib train --resume {self.out}")
        self.discard()
        return "nothing was written"

    def discard(self, force: bool = False) -> None:
        """Delete the folder if this run made it (or, with ``force``, if it is grnlib's): never one of
        an earlier interrupted run that this run refused to replace."""
        if self.created or (force and self._record() is not None):
            shutil.rmtree(self.path, ignore_errors=True)


def _file_record(path, missing_ok: bool = False) -> dict | None:
    """Absolute path and SHA-256 of an input file (None for a missing one when ``missing_ok``)."""
    import hashlib

    path = Path(path).absolute()
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError:
        if missing_ok:
            return None
        raise
    return {"path": str(path), "sha256": digest.hexdigest()}


def _checkpoint_epoch(path: Path) -> int:
    """The epoch a training state was saved at; DataError naming it when it cannot be read."""
    from grnlib.errors import DataError
    from grnlib.training.checkpoint import load_checkpoint

    try:
        return int(load_checkpoint(path)["epoch"])
    except Exception as exc:  # torch/zip raise many types for a damaged file
        raise DataError(path, f"is not a readable training state ({type(exc).__name__})",
                        f"delete {path.parent} and train again without --resume") from None
