"""Pieces shared by the 2s-AGCN family (AGCN in :mod:`skelzoo.backbones.agcn`, AAGCN in
:mod:`skelzoo.backbones.aagcn`): the embedded (data-dependent) graph, row = source aggregation, the
``down`` shortcut of the graph unit and the ``gcn -> tcn (+ residual) -> ReLU`` block.

Own implementation following the operation order of lshiwjx/2s-AGCN (CC BY-NC 4.0) so converted
checkpoints give the same numbers.

Letters: N batch (persons folded in), C channels, T frames, V joints, C_e embedding channels.
"""
from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from .common import TemporalConvBN
from .fast import has_fast, linear_bn, tconv_bn, to_nchw, to_nhwc

__all__ = ["embedded_affinity", "embedded_affinity_nhwc", "embedded_sum", "embedded_sum_nhwc", "aggregate", "make_down",
           "AGCNBlock", "ResidualKind"]

ResidualKind = Literal["none", "identity", "conv"]


def _embedded_products(conv_a: nn.Module, conv_b: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``Σ_{t, c_e} θ[c_e, t, v] φ[c_e, t, w]`` of one subset on NCHW ``x``: ``(N, C, T, V) -> (N, V, V)``."""
    n, _, t, v = x.shape
    a1 = conv_a(x)
    ce = a1.shape[1]
    a1 = a1.permute(0, 3, 1, 2).contiguous().view(n, v, ce * t)
    a2 = conv_b(x).view(n, ce * t, v)
    return torch.matmul(a1, a2)


def embedded_affinity(conv_a: nn.Module, conv_b: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``θ(x)ᵀ φ(x) / (C_e·T)``: ``(N, C, T, V) -> (N, V, V)`` (row = source joint, column = target).

    ``θ = conv_a``, ``φ = conv_b`` are 1×1 convs to ``C_e`` channels; features are flattened over
    ``(C_e, T)``. The caller applies softmax over rows (AGCN) or ``tanh`` (AAGCN).
    """
    return _embedded_products(conv_a, conv_b, x) / (conv_a.out_channels * x.shape[2])


def embedded_sum(conv_a: nn.ModuleList, conv_b: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
    """Frame sum of the embedded affinity of all subsets, ``Σ_t θ_tᵀφ_t / C_e``: NCHW ``(N, C, T, V)``
    -> ``(N, K, V, V)``. Divided by T it is :func:`embedded_affinity` (the streamed statistic)."""
    ce = conv_a[0].out_channels
    return torch.stack([_embedded_products(a, b, x) for a, b in zip(conv_a, conv_b)], 1) / ce


def _embedded_products_nhwc(conv_a: nn.ModuleList, conv_b: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
    """``Σ_{t, c_e} θ_k φ_k`` of all subsets on NHWC ``x`` ``(N, T, V, C)``: ``(N, K, V, V)``.

    One GEMM computes every θ_k, φ_k (weights concatenated); one batched matmul contracts over (T, C_e).
    """
    n, t, v, _ = x.shape
    k = len(conv_a)
    w = torch.cat([c.weight.flatten(1) for c in (*conv_a, *conv_b)])
    b = torch.cat([c.bias for c in (*conv_a, *conv_b)])
    ce = conv_a[0].weight.shape[0]
    q = torch.nn.functional.linear(x, w, b).view(n, t, v, 2, k, ce)
    # (N, 2, K, V, T, C_e): theta / phi of every subset with (t, c_e) flattened
    q = q.permute(0, 3, 4, 2, 1, 5).reshape(n, 2, k, v, t * ce)
    return torch.matmul(q[:, 0], q[:, 1].transpose(-1, -2))


def embedded_affinity_nhwc(conv_a: nn.ModuleList, conv_b: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
    """All subsets of :func:`embedded_affinity` at once on NHWC ``x`` ``(N, T, V, C)``: ``(N, K, V, V)``."""
    return _embedded_products_nhwc(conv_a, conv_b, x) / (x.shape[1] * conv_a[0].out_channels)


def embedded_sum_nhwc(conv_a: nn.ModuleList, conv_b: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
    """:func:`embedded_sum` on NHWC ``x`` ``(N, T, V, C)``: ``(N, K, V, V)``."""
    return _embedded_products_nhwc(conv_a, conv_b, x) / conv_a[0].out_channels


def aggregate(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Row = source graph aggregation ``y[..., w] = Σ_v x[..., v] · a[v, w]``.

    ``x``: ``(N, C, T, V)``; ``a``: ``(V, V)`` or ``(N, V, V)``. Returns ``(N, C, T, V)``.
    """
    n, c, t, v = x.shape
    return torch.matmul(x.reshape(n, c * t, v), a).view(n, c, t, v)


def make_down(in_channels: int, out_channels: int) -> nn.Module | None:
    """The graph unit's shortcut: ``Conv 1×1 + BN`` when widths differ, else ``None`` (identity)."""
    if in_channels == out_channels:
        return None
    down = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
    nn.init.kaiming_normal_(down[0].weight, mode="fan_out")
    nn.init.zeros_(down[0].bias)
    nn.init.ones_(down[1].weight)
    nn.init.zeros_(down[1].bias)
    return down


class AGCNBlock(nn.Module):
    """``ReLU(tcn(gcn(x)) + residual(x))`` on ``(N, C_in, T, V) -> (N, C_out, ⌈T/s⌉, V)``.

    ``gcn``: a graph unit ``(N, C_in, T, V) -> (N, C_out, T, V)``; ``tcn``: (9, 1) conv + BN with stride
    ``s``; residual: ``"none"`` (first block), ``"identity"`` or ``"conv"`` (1×1 conv stride ``s`` + BN),
    chosen automatically from the widths and stride unless ``residual=False``.
    """

    def __init__(self, gcn: nn.Module, in_channels: int, out_channels: int, stride: int = 1,
                 residual: bool = True, kernel_size: int = 9) -> None:
        super().__init__()
        self.gcn = gcn
        self.tcn = TemporalConvBN(out_channels, out_channels, kernel_size, stride)
        self.residual: nn.Module | None
        if not residual:
            self.residual_kind: ResidualKind = "none"
            self.residual = None
        elif in_channels == out_channels and stride == 1:
            self.residual_kind = "identity"
            self.residual = None
        else:
            self.residual_kind = "conv"
            self.residual = TemporalConvBN(in_channels, out_channels, kernel_size=1, stride=stride)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride

    def forward_nhwc(self, x: torch.Tensor) -> torch.Tensor:
        """Fast path on ``(N, T, V, C)`` (see :mod:`skelzoo.blocks.fast`)."""
        y = tconv_bn(self.gcn.forward_nhwc(x), self.tcn.conv, self.tcn.bn)
        if self.residual_kind == "identity":
            y = y + x
        elif self.residual is not None:
            y = y + tconv_bn(x, self.residual.conv, self.residual.bn)
        return torch.relu_(y)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if has_fast(self) and hasattr(self.gcn, "forward_nhwc"):
            return to_nchw(self.forward_nhwc(to_nhwc(x)))
        y = self.tcn(self.gcn(x))
        if self.residual_kind == "identity":
            y = y + x
        elif self.residual is not None:
            y = y + self.residual(x)
        return torch.relu(y)
