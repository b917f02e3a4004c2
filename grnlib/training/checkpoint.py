"""Checkpoints that rebuild themselves (nanoGPT style) and load with ``weights_only=True``.

A checkpoint is a dict of tensors and plain values only: the model config, the training
config and the history are JSON strings, so ``torch.load(path, weights_only=True)`` reads it
without unpickling arbitrary objects. Written atomically (:func:`grnlib.io.write_torch`), so an
interrupted save never leaves a half-written checkpoint.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn as nn

from grnlib.errors import DataError
from grnlib.io import write_torch
from grnlib.models import build_model

FORMAT = "grnlib-checkpoint-v1"


def save_checkpoint(path: str | Path, model: nn.Module, **state) -> Path:
    """Write ``model`` (config + state dict) and any extra plain/tensor ``state`` to ``path``.

    Args:
        path: file to write (parent folders are created).
        model: a grnlib model (has ``.config``).
        **state: extra entries (optimizer/scheduler state dicts, RNG states, epoch, JSON
            strings...). They must be tensors or plain Python values so weights-only loading works.
    """
    payload = {"format": FORMAT, "model_config": json.dumps(model.config),
               "model_state": model.state_dict(), **state}
    return write_torch(path, payload)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint with ``weights_only=True``; ``model_config`` is decoded to a dict."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "checkpoint file not found",
                        "pass the path of a file written by grnlib.training.loop.fit or save_checkpoint")
    ckpt = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise DataError(path, f"not a grnlib checkpoint (expected format {FORMAT!r})",
                        "pass a file written by grnlib.training.loop.fit or grnlib.training.checkpoint.save_checkpoint")
    ckpt["model_config"] = json.loads(ckpt["model_config"])
    return ckpt


def load_model(path: str | Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the model stored in a checkpoint (architecture from its config, then weights),
    in eval mode."""
    ckpt = load_checkpoint(path, map_location)
    model = build_model(**ckpt["model_config"])
    model.load_state_dict(ckpt["model_state"])
    return model.to(map_location).eval()
