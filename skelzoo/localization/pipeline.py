"""The straight data path of ``skelzoo localize`` / ``skelzoo extract``.

file -> :class:`SkeletonSequence` -> layout conversion + preprocessing of the checkpoint ->
tensor ``(1, C, T, V, M)`` -> model -> segments / per-frame features.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..io.sequence import SkeletonSequence

__all__ = ["prepare_input", "LocalizationResult", "localize_sequence", "extract_features"]


def model_fps(name: str, default: float | None = 30.0) -> float | None:
    """Frame rate the registered checkpoint ``name`` (``arch.tag`` or ``arch``) was trained at (its weights'
    ``fps``), else ``default``; ``local-dir:`` / ``hf-hub:`` names give ``default``."""
    if not name.startswith(("local-dir:", "hf-hub:")):
        from ..zoo import model_info
        try:
            fps = model_info(name).get("fps")
        except (ValueError, KeyError):
            fps = None
        if fps:
            return float(fps)
    return default


def prepare_input(seq: SkeletonSequence, model: nn.Module) -> torch.Tensor:
    """Bring a sequence into the form ``model`` expects: ``(1, C, T, V, M)`` float32.

    Converts the layout when it differs (``skelzoo.io.mapping``), fills missing joints from their
    neighbours, applies the checkpoint's preprocessing (``model.preprocess``, e.g. ``"ntu"`` for the
    NTU pre-normalisation) and selects / pads persons to the model's ``num_person``.
    """
    from ..data import transforms

    layout = getattr(model, "layout", seq.layout)
    if seq.layout != layout:
        from ..io.mapping import convert_layout
        seq = convert_layout(seq, layout, fill="neighbour")
    data = seq.data
    if not np.isfinite(data).all():
        data = transforms.fill_missing(data)
    m = getattr(model, "num_person", None) or data.shape[1]
    data = transforms.select_persons(data, m)
    preprocess = getattr(model, "preprocess", "") or ""
    if preprocess == "ntu":
        data = transforms.pre_normalize(data)
    elif preprocess == "pyskl_ntu3d":  # PreNormalize3D centring + rotations, every frame kept
        data = transforms.ntu_pre_normalise(data, pad_null_frames=False, center="first_frame")
    elif preprocess not in ("", "none"):
        raise ValueError(f"unknown preprocessing {preprocess!r} requested by the model "
                         f"(known: 'ntu', 'pyskl_ntu3d', '')")
    c = getattr(model, "in_channels", data.shape[-1])
    if data.shape[-1] != c:
        raise ValueError(f"the model expects C={c} channels per joint, the sequence has {data.shape[-1]}")
    return torch.from_numpy(np.ascontiguousarray(data.transpose(3, 0, 2, 1)))[None].float()


@dataclass
class LocalizationResult:
    """Segments of one recording plus what is needed to report and plot them."""

    input: str
    num_frames: int
    fps: float
    segments: list  # list[Segment]
    class_names: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input, "num_frames": self.num_frames, "fps": self.fps,
                "duration_s": self.num_frames / self.fps,
                "segments": [s.to_dict() for s in self.segments]}


@torch.inference_mode()
def localize_sequence(model: nn.Module, seq: SkeletonSequence, *, name: str = "", method: str = "official",
                      **postprocess: Any) -> LocalizationResult:
    """Localize actions in one recording with a localization model."""
    if getattr(model, "task", None) != "localization":
        raise ValueError(f"{type(model).__name__} is not a localization model (task="
                         f"{getattr(model, 'task', None)!r}); pick one from `skelzoo list '*_ufusion'`")
    x = prepare_input(seq, model)
    segs = model.localize(x, fps=seq.fps, method=method, **postprocess)[0]
    return LocalizationResult(name, x.shape[2], seq.fps, list(segs), tuple(model.class_names))


@torch.inference_mode()
def extract_features(model: nn.Module, seq: SkeletonSequence) -> np.ndarray:
    """Per-frame features ``(T, D)`` of one recording (localizers: ``frame_features``; backbones: the
    last feature map averaged over joints and over the persons present in the recording (the empty,
    zero-padded person slots of the model's ``num_person`` are left out), nearest-upsampled to ``T``)."""
    x = prepare_input(seq, model)
    with torch.inference_mode():
        if hasattr(model, "frame_features"):
            return model.frame_features(x)[0].cpu().numpy()
        fmap = model.forward_features(x).mean(dim=3)  # (1, D, T', M)
    present = x.abs().sum(dim=(0, 1, 2, 3)) > 0  # (M,)
    if not bool(present.any()):
        present = torch.ones_like(present)
    feat = fmap[..., present].mean(dim=-1)  # (1, D, T')
    idx = (torch.arange(x.shape[2]) * feat.shape[-1]) // x.shape[2]
    return feat[0, :, idx].T.cpu().numpy()
