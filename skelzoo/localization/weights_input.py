"""What every skelzoo model shares about its input: the tensor check and the weights' input spec.

Used by the backbones (:mod:`skelzoo.models`) and by :class:`~skelzoo.localization.localizer.Localizer`; it
lives in this layer so that localization does not import the model zoo above it.

Letters: N batch, C channels, T frames, V joints, M persons.
"""
from __future__ import annotations

from typing import Any

import torch

__all__ = ["WeightsInputMixin", "check_skeleton_input"]


class WeightsInputMixin:
    """``input_spec`` / ``pretrained_cfg`` of a model's weights, shared by backbones and localizers."""

    @property
    def input_spec(self) -> Any:
        """The :class:`~skelzoo.localization.input_spec.InputSpec` of these weights (layout, channels, persons,
        frame rate, preprocessing): what :func:`skelzoo.prepare` produces for this model."""
        from .input_spec import get_input_spec
        return get_input_spec(self)

    @property
    def pretrained_cfg(self) -> dict:
        """Architecture, tag, class names and :attr:`input_spec` of these weights, as a dict."""
        from .input_spec import pretrained_cfg
        return pretrained_cfg(self)


def check_skeleton_input(x: torch.Tensor, *, in_channels: int, num_joints: int, num_person: int | None,
                         min_frames: int = 1, what: str = "model") -> None:
    """Raise ``ValueError`` unless ``x`` is a finite float tensor ``(N, C, T, V, M)`` the model accepts."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{what} expects a torch.Tensor (N, C, T, V, M), got {type(x).__name__}")
    if x.dim() != 5:
        raise ValueError(f"{what} expects a 5-D tensor (N, C, T, V, M), got shape {tuple(x.shape)}")
    n, c, t, v, m = x.shape
    hint = ("; a recording is converted for you: pass the SkeletonSequence (model.localize(seq)) or use "
            "skelzoo.prepare(seq, model)")
    if c != in_channels:
        raise ValueError(f"{what} expects C={in_channels} coordinate channels, got C={c} (shape {tuple(x.shape)})"
                         + (hint if x.shape[-1] in (2, 3) else ""))
    if v != num_joints:
        raise ValueError(f"{what} expects V={num_joints} joints, got V={v} (shape {tuple(x.shape)}){hint}")
    if num_person is not None and m != num_person:
        raise ValueError(f"{what} expects M={num_person} persons, got M={m} (shape {tuple(x.shape)}); "
                         f"pad or select persons first")
    if t < min_frames:
        raise ValueError(f"{what} expects at least {min_frames} frames, got T={t}")
    if not x.is_floating_point():
        raise ValueError(f"{what} expects a floating-point tensor, got {x.dtype}")
    if not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{what} input holds {bad} NaN/inf values; fill or mask missing joints first")
