"""The interface every skelzoo backbone implements (see ``CONTRACT.md``).

A backbone is a stem (data-BN, persons folded into the batch) followed by a list of stages, a global
pool (mean over T·V, then over persons, as in every official implementation) and an optional linear
classifier. Subclasses build ``self.stages`` (an ``nn.ModuleList``; each stage maps
``(N·M, C_in, T_in, V) -> (N·M, C_out, T_out, V)``), implement :meth:`_stem`, and describe each stage in
``self.feature_info``. Everything else — input checks, intermediates, pooling, head — lives here.

Letters: N batch, C channels, T frames, V joints, M persons, D feature width.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from ..blocks.channels_last import fast_paths_enabled, to_nchw, to_nhwc
from ..blocks.context import ContextUnit
from ..blocks.dropout import ExactDropout
from ..layouts import get_layout
from ..localization.weights_input import WeightsInputMixin, check_skeleton_input

__all__ = ["Backbone", "StageInfo"]


class StageInfo(dict):
    """``{"num_chs": int, "reduction": int, "module": str, "index": int}`` for one stage."""


class Backbone(WeightsInputMixin, nn.Module):
    """Base class of skeleton backbones. Input ``(N, C, T, V, M)``.

    Attributes set by subclasses: ``in_channels``, ``num_joints``, ``num_person``, ``layout``,
    ``num_features`` (D), ``num_classes``, ``stages``, ``feature_info`` (list of :class:`StageInfo`),
    ``head`` (``nn.Linear`` or ``nn.Identity``), ``drop`` (dropout before the head).
    """

    task_default = "classification"
    #: whether the stem's data-BN has one set of statistics per person slot (then M is fixed)
    fixed_num_person: bool = True
    #: whether some stage pools over the whole sequence (data-dependent global temporal context, e.g. an
    #: embedded graph over all frames): then windowed inference is exact only with the streamed
    #: statistics of :meth:`context_units` (see :mod:`skelzoo.blocks.context`)
    global_context: bool = False
    stages: nn.ModuleList
    feature_info: list[StageInfo]

    def __init__(self, *, in_channels: int, layout: str, num_person: int, num_classes: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if num_classes < 0:
            raise ValueError(f"num_classes must be >= 0, got {num_classes}")
        self.in_channels = in_channels
        self.layout = get_layout(layout).name
        self.num_joints = get_layout(layout).num_joints
        self.num_person = num_person
        self.num_classes = num_classes
        self.dropout_p = dropout
        self.drop = ExactDropout(dropout) if dropout > 0 else nn.Identity()

    # ------------------------------------------------------------------ hooks for subclasses
    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, T, V, M) -> (N·M, C, T, V)`` (data-BN and person folding)."""
        raise NotImplementedError

    def _run_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Apply stage ``index`` to ``(N·M, C, T, V)``."""
        return self.stages[index](x)

    def _init_head(self, num_features: int, num_classes: int) -> None:
        self.num_features = num_features
        self.num_classes = num_classes
        self.head = nn.Linear(num_features, num_classes) if num_classes > 0 else nn.Identity()
        if num_classes > 0:
            nn.init.normal_(self.head.weight, 0.0, math.sqrt(2.0 / num_classes))
            nn.init.zeros_(self.head.bias)

    # ------------------------------------------------------------------ public interface
    @property
    def task(self) -> str:
        return "classification" if self.num_classes > 0 else "features"

    @property
    def min_frames(self) -> int:
        return 1

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ``ValueError`` when ``x`` does not fit (shape, channels, joints, persons, NaN/inf)."""
        check_skeleton_input(x, in_channels=self.in_channels, num_joints=self.num_joints,
                             num_person=self.num_person if self.fixed_num_person else None,
                             min_frames=self.min_frames, what=type(self).__name__)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """The stage input: ``(N, C, T, V, M) -> (N·M, C, T, V)`` (data-BN, persons folded into the batch).

        With :meth:`forward_stages` and :meth:`unfold_persons` this is the public stage API that streaming
        (chunked) inference uses; no input checks are made here (see :meth:`check_input`)."""
        return self._stem(x)

    @staticmethod
    def unfold_persons(y: torch.Tensor, n: int, m: int) -> torch.Tensor:
        """A stage output ``(N·M, C, T, V)`` back to ``(N, C, T, V, M)`` (a view, no copy)."""
        nm, c, t, v = y.shape
        return y.view(n, m, c, t, v).permute(0, 2, 3, 4, 1)

    def forward_intermediates(self, x: torch.Tensor, indices: int | Sequence[int] | None = None,
                              *, stop_early: bool = True) -> list[torch.Tensor]:
        """Outputs of the requested stages, each ``(N, C_i, T_i, V, M)``.

        ``indices``: a list of stage indices (negative counts from the end), an int ``n`` for the last
        ``n`` stages, or ``None`` for all stages.
        """
        self.check_input(x)
        take = _take_indices(len(self.stages), indices)
        n, m = x.shape[0], x.shape[-1]
        y = self.stem(x)
        out: list[torch.Tensor] = []
        last = max(take) if (take and stop_early) else len(self.stages) - 1
        if self._fast_stages():
            # channels-last fast path (skelzoo.blocks.channels_last): stages exchange (N·M, T, V, C) tensors
            y = to_nhwc(y)
            for i in range(last + 1):
                y = self.stages[i].forward_nhwc(y)
                if i in take:
                    out.append(self.unfold_persons(to_nchw(y), n, m))
            return out
        for i in range(last + 1):
            y = self._run_stage(i, y)
            if i in take:
                out.append(self.unfold_persons(y, n, m))
        return out

    def forward_stages(self, y: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        """Stages ``start .. stop-1`` on a folded ``(N·M, C, T, V)`` tensor (e.g. a stem output or a stored
        stage output); returns stage ``stop-1``'s ``(N·M, C', T', V)`` output (channels-last memory on the
        fast path, where the input may be channels-last too). Used by streaming inference."""
        if self._fast_stages():
            z = to_nhwc(y)
            for i in range(start, stop):
                z = self.stages[i].forward_nhwc(z)
            return to_nchw(z)
        for i in range(start, stop):
            y = self._run_stage(i, y)
        return y

    def context_units(self, last_stage: int | None = None) -> list[tuple[int, int, ContextUnit]]:
        """``(stage index, input reduction, unit)`` of every unit with whole-sequence statistics in stages
        ``0..last_stage`` (default all), in forward order.

        The input reduction is the temporal reduction of the stage's input (the units of the 2s-AGCN
        family and CTR-GCN run before the stage's temporal stride).
        """
        last = len(self.stages) - 1 if last_stage is None else last_stage
        out = []
        for i in range(last + 1):
            r_in = int(self.feature_info[i - 1]["reduction"]) if i > 0 else 1
            out += [(i, r_in, m) for m in self.stages[i].modules() if isinstance(m, ContextUnit) and m.context_sites]
        return out

    def _fast_stages(self) -> bool:
        """Whether every stage runs channels-last (fast paths on, default ``_run_stage``)."""
        return (fast_paths_enabled() and type(self)._run_stage is Backbone._run_stage
                and all(hasattr(s, "forward_nhwc") for s in self.stages))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Last feature map ``(N, D, T', V, M)``."""
        return self.forward_intermediates(x, [len(self.stages) - 1])[0]

    def forward_head(self, feat: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Pool ``(N, D, T', V, M)`` over T·V then M -> ``(N, D)``; then dropout + classifier."""
        pooled = feat.mean(dim=(2, 3)).mean(dim=-1)
        if pre_logits:
            return pooled
        return self.head(self.drop(pooled))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, T, V, M)`` -> logits ``(N, num_classes)``; pooled features ``(N, D)`` if ``num_classes == 0``."""
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier (``0`` = pooled features)."""
        self._init_head(self.num_features, num_classes)

    def classifier_keys(self) -> list[str]:
        """State-dict keys of the classifier (dropped when ``num_classes`` changes)."""
        return [k for k in self.state_dict() if k.startswith("head.")]


def _take_indices(num_stages: int, indices: int | Sequence[int] | None) -> list[int]:
    if indices is None:
        return list(range(num_stages))
    if isinstance(indices, int):
        if not 0 < indices <= num_stages:
            raise ValueError(f"indices={indices}: expected 1..{num_stages} last stages")
        return list(range(num_stages - indices, num_stages))
    out = []
    for i in indices:
        j = i + num_stages if i < 0 else i
        if not 0 <= j < num_stages:
            raise ValueError(f"stage index {i} out of range for {num_stages} stages")
        out.append(j)
    return sorted(set(out))
