"""Blocks shared by most GCN backbones: data-BN + person folding, temporal conv unit, init helpers.

Letters: N batch, C channels, T frames, V joints, M persons.
"""
from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

__all__ = ["DataBNKind", "make_data_bn", "fold_persons", "TemporalConvBN", "conv_init", "bn_init", "branch_init"]

DataBNKind = Literal["VC", "MVC", "none"]


def make_data_bn(kind: DataBNKind, in_channels: int, num_joints: int, num_person: int) -> nn.Module:
    """BatchNorm1d over ``V·C`` (``"VC"``, shared by persons) or ``M·V·C`` (``"MVC"``); ``"none"`` = Identity."""
    if kind == "VC":
        return nn.BatchNorm1d(num_joints * in_channels)
    if kind == "MVC":
        return nn.BatchNorm1d(num_person * num_joints * in_channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"data-BN kind must be 'VC', 'MVC' or 'none', got {kind!r}")


def fold_persons(x: torch.Tensor, data_bn: nn.Module, kind: DataBNKind) -> torch.Tensor:
    """``(N, C, T, V, M)`` -> data-BN -> ``(N·M, C, T, V)``.

    ``"VC"`` flattens each person's frame as (v, c) joint-major; ``"MVC"`` as (m, v, c) person-major,
    exactly as the official implementations do (the order matters for converted statistics).
    """
    n, c, t, v, m = x.shape
    if kind == "none":
        return x.permute(0, 4, 1, 2, 3).reshape(n * m, c, t, v)
    if kind == "VC":
        y = x.permute(0, 4, 3, 1, 2).reshape(n * m, v * c, t)
        y = data_bn(y)
        return y.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
    y = x.permute(0, 4, 3, 1, 2).reshape(n, m * v * c, t)
    y = data_bn(y)
    return y.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)


class TemporalConvBN(nn.Module):
    """``Conv2d((k, 1), stride (s, 1), padding ((k-1)/2·d, 0)) -> BN`` on ``(N·M, C, T, V)``.

    The 2s-AGCN / AAGCN / CTR-GCN ``unit_tcn`` (and, with ``kernel_size=1``, their residual branch).
    Output length ``ceil(T / stride)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 9, stride: int = 1,
                 dilation: int = 1) -> None:
        super().__init__()
        pad = (kernel_size + (kernel_size - 1) * (dilation - 1) - 1) // 2
        self.conv = nn.Conv2d(in_channels, out_channels, (kernel_size, 1), (stride, 1), (pad, 0), (dilation, 1))
        self.bn = nn.BatchNorm2d(out_channels)
        conv_init(self.conv)
        bn_init(self.bn, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


def conv_init(conv: nn.Module) -> None:
    """Kaiming-normal (fan_out) weights, zero bias: the init of the official GCN repositories."""
    nn.init.kaiming_normal_(conv.weight, mode="fan_out")
    if getattr(conv, "bias", None) is not None:
        nn.init.zeros_(conv.bias)


def bn_init(bn: nn.Module, scale: float) -> None:
    """BatchNorm weight = ``scale``, bias = 0."""
    nn.init.constant_(bn.weight, scale)
    nn.init.zeros_(bn.bias)


def branch_init(conv: nn.Conv2d, branches: int) -> None:
    """2s-AGCN init of the per-subset ``conv_d``: N(0, sqrt(2 / (out·in·k·branches)))."""
    w = conv.weight
    n, k1, k2 = w.size(0), w.size(1), w.size(2)
    nn.init.normal_(w, 0, math.sqrt(2.0 / (n * k1 * k2 * branches)))
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
