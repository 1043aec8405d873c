"""How many input frames a backbone stage sees: the bound chunked inference uses to size its overlaps.

Letters: T frames; R the temporal reduction of a stage (``feature_info[i]["reduction"]``).
"""
from __future__ import annotations

from typing import Any

from torch import nn

__all__ = ["temporal_receptive_field"]


def _temporal_geometry(m: nn.Module) -> tuple[int, int, int] | None:
    """(kernel, dilation, stride) along time of a module on ``(N, C, T, V)`` / ``(N, C, T)``, or None."""
    def first(v: Any) -> int:
        return int(v[0]) if isinstance(v, (tuple, list)) else int(v)

    if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        return first(m.kernel_size), first(m.dilation), first(m.stride)
    if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)):
        stride = m.stride if m.stride is not None else m.kernel_size
        dil = getattr(m, "dilation", 1)
        return first(m.kernel_size), first(dil), first(stride)
    if isinstance(m, nn.Unfold):
        return first(m.kernel_size), first(m.dilation), first(m.stride)
    return None


def temporal_receptive_field(backbone: nn.Module, last_stage: int, first_stage: int = 0) -> int:
    """Upper bound of the temporal receptive field (input frames) of stage ``last_stage``'s output
    (with respect to the input of stage ``first_stage``, default the network input).

    Every temporal convolution / pooling / unfold window found in stages ``0..last_stage`` is counted as
    if they were chained (parallel branches add up, so this is a bound): a strided op contributes
    ``(k-1)·d·R_in``, a stride-1 op ``(k-1)·d·R_out`` (R = the stage's input / output reduction from
    ``feature_info``). Conv1d modules are counted as temporal too (over-estimate for joint-axis ones) unless
    they are marked ``joint_axis = True`` (AAGCN's spatial attention convolution over V).
    A backbone may state its own value as ``temporal_receptive_field`` (attribute or method).

    Data-dependent global operations (2s-AGCN's embedded graph, AAGCN attention, CTR-GCN's temporal mean)
    are not local: they pool over the whole sequence and are not part of this number (chunked inference
    streams them separately, :mod:`skelzoo.localization.chunked`).
    """
    own = getattr(backbone, "temporal_receptive_field", None)
    if own is not None:  # (the whole prefix: a bound for any first_stage)
        return int(own(last_stage) if callable(own) else own)
    rf = 1
    r_in = int(backbone.feature_info[first_stage - 1]["reduction"]) if first_stage > 0 else 1
    for i in range(first_stage, last_stage + 1):
        info = backbone.feature_info[i]
        r_out = int(info["reduction"])
        stage = backbone.get_submodule(info["module"]) if info.get("module") else backbone.stages[i]
        for m in stage.modules():
            if getattr(m, "joint_axis", False):
                continue
            g = _temporal_geometry(m)
            if g is None:
                continue
            k, d, s = g
            if k > 1:
                rf += (k - 1) * d * (r_in if s > 1 else r_out)
        r_in = r_out
    return rf
