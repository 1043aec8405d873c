"""The straight data path of ``skelzoo localize`` / ``skelzoo extract``.

file -> :class:`SkeletonSequence` -> resampling to the model's frame rate (:func:`to_model_rate`) ->
layout conversion + preprocessing of the checkpoint -> tensor ``(1, C, T, V, M)`` -> model ->
segments / per-frame features, mapped back to the recording's frames and seconds.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..io.sequence import SkeletonSequence
from .rate import ModelRate, RateChange, expected_fps, needs_resampling, resolve_model_fps, to_model_rate

_log = logging.getLogger("skelzoo")

__all__ = ["expected_fps", "resolve_model_fps", "RateChange", "needs_resampling", "to_model_rate",
           "prepare_input", "LocalizationResult", "localize_sequence", "extract_features"]

def prepare_input(seq: SkeletonSequence, model: nn.Module) -> torch.Tensor:
    """Bring a sequence into the form ``model`` expects: ``(1, C, T, V, M)`` float32 (at the sequence's own
    frame rate: :func:`to_model_rate` resamples first; :func:`skelzoo.prepare` does both).

    Converts the layout when it differs (``skelzoo.io.layout_conversion``), fills missing joints from their
    neighbours, applies the checkpoint's preprocessing (``model.preprocess``, e.g. ``"ntu"`` for the
    NTU pre-normalisation) and selects / pads persons to the model's ``num_person``.
    """
    from .input_spec import get_input_spec, to_model_tensor

    return to_model_tensor(seq, get_input_spec(model))


@dataclass
class LocalizationResult:
    """Segments of one recording plus what is needed to report and plot them."""

    input: str
    num_frames: int  # of the recording
    fps: float  # the recording's
    segments: list  # list[Segment], in the recording's frames and seconds
    class_names: tuple[str, ...]
    model_fps: float | None = None  # rate the model ran at (None: the recording's)
    format: str | None = None  # the recording's file format (detected or given)
    layout: str | None = None  # the recording's joint layout
    num_persons: int | None = None  # persons in the recording
    problems: tuple[str, ...] = ()  # what looked implausible about the recording (warned)

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input, "format": self.format, "layout": self.layout, "num_persons": self.num_persons,
                "num_frames": self.num_frames, "fps": self.fps,
                "model_fps": float(self.model_fps or self.fps), "duration_s": self.num_frames / self.fps,
                "warnings": list(self.problems), "segments": [s.to_dict() for s in self.segments]}


@torch.inference_mode()
def localize_sequence(model: nn.Module, seq: Any, *, name: str = "", method: str | None = None,
                      model_fps: ModelRate = "auto", fps: float | None = None, check: bool = True,
                      chunk: int | None = None, overlap: int | None = None, exact: bool | None = None,
                      **postprocess: Any) -> LocalizationResult:
    """Localize actions in one recording (a :class:`SkeletonSequence` or a file path) with a localization model:
    the one path of ``model.localize(recording)`` and ``skelzoo localize``.

    The recording goes through :func:`skelzoo.prepare` (resampled to ``model_fps``: ``"auto"``, the rate the
    weights expect; ``None`` / ``0``: keep the recording's rate; layout, persons, preprocessing); decoder
    parameters in frames (``smoothing``, ``min_duration``) count frames at that rate; ``method`` defaults to
    :data:`~skelzoo.localization.decode.DEFAULT_METHOD` with its default parameters. Segments are reported in
    the recording's frames and seconds.
    """
    from .decode import DEFAULT_METHOD, decoder_params
    from .input_spec import prepare

    if getattr(model, "task", None) != "localization":
        raise ValueError(f"{type(model).__name__} is not a localization model (task="
                         f"{getattr(model, 'task', None)!r}); pick one from `skelzoo list '*_ufusion'`")
    method = method or DEFAULT_METHOD
    postprocess = decoder_params(method, postprocess)
    p = prepare(seq, model, fps=fps, model_fps=model_fps, check=check)
    rec = p.sequence
    x = p.x
    segs = model.localize(x, fps=p.rate.model_fps, method=method, check=False, chunk=chunk, overlap=overlap,
                          exact=exact, **postprocess)[0]
    _log.info("%s: %d segment(s) (decoder %s %s)", name or rec.meta.get("source", "recording"), len(segs), method,
              postprocess or "paper defaults")
    return LocalizationResult(name or str(rec.meta.get("source", "")), rec.num_frames, rec.fps,
                              p.rate.segments_to_recording(segs), tuple(model.class_names), p.rate.model_fps,
                              format=rec.meta.get("format"), layout=rec.layout, num_persons=rec.num_persons,
                              problems=p.problems)


def _frame_features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``model.frame_features(x)``, chunked like ``predict_logits`` above its threshold (bounded memory on
    long recordings; chunked inference equals whole-sequence inference)."""
    from . import chunked

    if x.shape[2] > chunked.CHUNK_THRESHOLD and hasattr(model, "features_from_taps"):
        from .chunked import chunked_forward

        return chunked_forward(model, x, chunk=chunked.DEFAULT_CHUNK, features=True)
    return model.frame_features(x, check=False)  # the input was prepared (and checked) by the caller


@torch.inference_mode()
def extract_features(model: nn.Module, seq: Any, *, model_fps: ModelRate = "auto", fps: float | None = None,
                     check: bool = True) -> np.ndarray:
    """Per-frame features ``(T, D)`` of one recording (a :class:`SkeletonSequence` or a file path), one row per
    frame of the recording.

    The recording goes through :func:`skelzoo.prepare` (as in :func:`localize_sequence`). Localizers give
    their ``frame_features``; backbones the last feature map averaged over joints and over the persons
    present in the recording (the empty, zero-padded person slots of the model's ``num_person`` are left
    out), nearest-upsampled to the model input's frames. Features at the model's rate are then held over
    the recording frames each model frame stands for.
    """
    from .input_spec import prepare

    x, rate = prepare(seq, model, fps=fps, model_fps=model_fps, check=check)
    if hasattr(model, "frame_features"):
        feats = _frame_features(model, x)[0].cpu().numpy()
    else:
        fmap = model.forward_features(x).mean(dim=3)  # (1, D, T', M)
        present = x.abs().sum(dim=(0, 1, 2, 3)) > 0  # (M,)
        if not bool(present.any()):
            present = torch.ones_like(present)
        feat = fmap[..., present].mean(dim=-1)  # (1, D, T')
        idx = (torch.arange(x.shape[2], device=feat.device) * feat.shape[-1]) // x.shape[2]
        feats = feat[0, :, idx].T.cpu().numpy()
    return rate.features_to_recording(feats)
