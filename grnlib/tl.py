"""Models and training, the research side (``grnlib.tl``): the model registry, the named recipes
(presets), run specs and the training loop.

>>> from grnlib import tl
>>> tl.MODELS.defaults("deep_two_tower")            # a model family's configuration, as data
>>> tl.preset("phase3", epochs=5)                   # a named recipe as a run spec
>>> tl.resolve_spec({"preset": "phase2", "train": {"lr": 1e-3}})
>>> tl.BEST_SELECTED                                # the aliases chosen on validation

A user training on their own data calls :func:`grnlib.fit` instead.
"""
from grnlib.evaluation.presets import BEST_SELECTED, PRESETS
from grnlib.evaluation.spec import RunSpec, Runtime, preset, resolve_spec, resolve_specs
from grnlib.models import MODELS, build_model, count_parameters
from grnlib.training.checkpoint import load_model, save_checkpoint
from grnlib.training.loop import TrainConfig, fit, predict_logits, predict_proba

__all__ = ["BEST_SELECTED", "MODELS", "PRESETS", "RunSpec", "Runtime", "TrainConfig", "build_model",
           "count_parameters", "fit", "load_model", "predict_logits", "predict_proba", "preset", "resolve_spec",
           "resolve_specs", "save_checkpoint"]
