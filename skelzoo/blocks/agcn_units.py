"""Pieces shared by the 2s-AGCN family (AGCN in :mod:`skelzoo.backbones.agcn`, AAGCN in
:mod:`skelzoo.backbones.aagcn`): the embedded (data-dependent) graph, row = source aggregation, the
``down`` shortcut of the graph unit and the ``gcn -> tcn (+ residual) -> ReLU`` block.

Own implementation following the operation order of lshiwjx/2s-AGCN (CC BY-NC 4.0) so converted
checkpoints give the same numbers.

Letters: N batch (persons folded in), C channels, T frames, V joints, C_e embedding channels.
"""
from __future__ import annotations

from typing import Callable, Literal

import torch
from torch import nn

from .channels_last import (
    fast_paths_enabled,
    fold_into,
    foldable,
    graph_bn,
    has_fast,
    linear_bn,
    tconv_bn,
    to_nchw,
    to_nhwc,
)
from .common import TemporalConvBN
from .context import ContextUnit
from .derived import derived, module_tensors
from .gemm import pointwise_conv

__all__ = ["embedded_affinity", "embedded_sum", "embedded_sum_fast", "embedded_sum_nhwc", "streamed_affinity",
           "graph_unit_fast",
           "graph_unit_nhwc", "tconv_fast", "aggregate", "make_down", "AGCNBlock", "AGCNBlockNHWC", "ResidualKind"]

ResidualKind = Literal["none", "identity", "conv"]

#: samples per aggregate + GEMM round of :func:`graph_unit_fast` without autograd (its ``K·C·T·V`` buffer
#: then stays in cache; 4 measured best on 2 AVX-512 cores for C = 64 .. 256)
SAMPLE_GROUP = 4


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


def embedded_sum_fast(conv_a: nn.ModuleList, conv_b: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
    """:func:`embedded_sum` of all subsets on NCHW ``x`` ``(N, C, T, V)`` without reorders: ``(N, K, V, V)``.

    One batched GEMM computes every θ_k, φ_k with output rows ordered ``(k, θ/φ, c_e)``, so subset k's θ
    and φ are ``(C_e·T, V)`` matrices at a common batch stride; one bmm ``θ_kᵀ φ_k`` contracts
    ``(c_e, t)`` reading them in place (:func:`_affinity_of_embeddings`).
    """
    n, c, t, v = x.shape
    k, ce = len(conv_a), conv_a[0].out_channels
    w = _embedding_weights(conv_a, conv_b)                                             # (K, 2, C_e, C)
    q = pointwise_conv(x, w.view(-1, c))                                               # (N, K·2·C_e, T, V)
    return _affinity_of_embeddings(conv_a, conv_b, w, q.view(n * k, 2, ce * t, v), x.sum(2), t)


def embedded_sum_nhwc(conv_a: nn.ModuleList, conv_b: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
    """:func:`embedded_sum` on channels-last ``x`` ``(N, T, V, C)``: ``Σ_t θ_tᵀφ_t / C_e`` of all subsets,
    ``(N, K, V, V)`` (the same canonical layout, so streamed values are shared with the NCHW paths).

    The same products as :func:`embedded_sum_fast`, reading ``x`` as its NCHW view ``(N, C, T·V)`` (a
    transposed operand of the batched GEMM, no copy): θ and φ come out as ``(N, K·2·C_e, T·V)``, where each
    subset's θ_k, φ_k are ``(C_e·T, V)`` matrices read in place by one bmm. (Computing them channels-last
    instead, ``(N, T, V, 2·K·C_e)``, needs a reordering copy of each before the bmm: 7 % of 2s-AGCN's CPU
    forward.)"""
    n, t, v, c = x.shape
    k, ce = len(conv_a), conv_a[0].out_channels
    w = _embedding_weights(conv_a, conv_b)                                             # (K, 2, C_e, C)
    q = torch.bmm(w.view(1, -1, c).expand(n, -1, -1), x.view(n, t * v, c).transpose(1, 2))  # (N, K·2·C_e, T·V)
    return _affinity_of_embeddings(conv_a, conv_b, w, q.view(n * k, 2, ce * t, v), x.sum(1).transpose(1, 2), t)


def _embedding_weights(conv_a: nn.ModuleList, conv_b: nn.ModuleList) -> torch.Tensor:
    """The θ (``conv_a``) and φ (``conv_b``) 1×1 conv weights of all subsets: ``(K, 2, C_e, C)``; flattened,
    the rows are ordered ``(k, θ/φ, c_e)``."""
    return torch.stack([torch.stack([a.weight.flatten(1), b.weight.flatten(1)]) for a, b in zip(conv_a, conv_b)])


def _affinity_of_embeddings(conv_a: nn.ModuleList, conv_b: nn.ModuleList, w: torch.Tensor, q: torch.Tensor,
                            xs: torch.Tensor, t: int) -> torch.Tensor:
    """``Σ_t θ_kᵀφ_k / C_e`` ``(N, K, V, V)`` from the bias-free embeddings ``q`` ``(N·K, 2, C_e·T, V)``
    (θ at ``[:, 0]``, φ at ``[:, 1]``) computed with the weights ``w`` ``(K, 2, C_e, C)``, and the frame sum
    ``xs = Σ_t x_t`` ``(N, C, V)``; ``conv_a`` / ``conv_b`` give the biases.

    The biases enter analytically (no pass over θ, φ): with ``θ = θ₀ + b_a``, ``φ = φ₀ + b_b``,
    ``Σ_t θᵀφ = Σ_t θ₀ᵀφ₀ + (b_bᵀ W_a S)ᵀ 1ᵀ + 1 (b_aᵀ W_b S) + T·b_a·b_b`` where ``S = xs``."""
    k, ce = len(conv_a), conv_a[0].out_channels
    n, v = xs.shape[0], xs.shape[-1]
    e = torch.bmm(q[:, 0].transpose(1, 2), q[:, 1]).view(n, k, v, v)
    if conv_a[0].bias is not None:
        wa, wb = w[:, 0], w[:, 1]                                                     # (K, C_e, C)
        ba = torch.stack([m.bias for m in conv_a])                                   # (K, C_e)
        bb = torch.stack([m.bias for m in conv_b])
        ra = torch.matmul(torch.matmul(bb.unsqueeze(1), wa), xs.unsqueeze(1))        # (N, K, 1, V): row term
        rb = torch.matmul(torch.matmul(ba.unsqueeze(1), wb), xs.unsqueeze(1))        # (N, K, 1, V): column term
        e = e + ra.transpose(-1, -2) + (rb + t * (ba * bb).sum(-1).view(k, 1, 1))
    return e / ce


def streamed_affinity(unit: ContextUnit, x: torch.Tensor, time_dim: int) -> torch.Tensor:
    """The ``"affinity"`` statistic ``θᵀφ / (C_e·T)`` ``(N, K, V, V)`` of a 2s-AGCN-family graph unit (with
    ``conv_a`` / ``conv_b``) on its fast path: NCHW ``x`` (``time_dim`` 2, :func:`embedded_sum_fast`) or
    channels-last ``x`` (``time_dim`` 1, :func:`embedded_sum_nhwc`); the streamed whole-sequence value when a
    stream is attached (:meth:`~skelzoo.blocks.context.ContextUnit.context_stat`)."""
    fn = embedded_sum_nhwc if time_dim == 1 else embedded_sum_fast

    def frame_sum(z: torch.Tensor) -> torch.Tensor:
        return fn(unit.conv_a, unit.conv_b, z)
    e = unit.context_stat("affinity", x, time_dim, frame_sum)
    return frame_sum(x) / x.shape[time_dim] if e is None else e


def graph_unit_nhwc(x: torch.Tensor, g: torch.Tensor, conv_d: nn.ModuleList, bn: nn.Module,
                    down: nn.Module | None) -> torch.Tensor:
    """:func:`graph_unit_fast` on channels-last ``x`` ``(N, T, V, C)`` -> ``(N, T, W, O)``: the K
    ``conv_d`` and aggregations over the per-sample graphs ``g`` ``(N, K, V, W)`` are one
    :func:`~skelzoo.blocks.channels_last.graph_bn` (the ``conv_d`` biases added after the aggregation, the
    BN folded in eval), the shortcut one GEMM."""
    w = torch.stack([m.weight.flatten(1) for m in conv_d])                            # (K, O, C)
    post = sum(m.bias for m in conv_d) if conv_d[0].bias is not None else None
    y = graph_bn(x, g, w, None, bn, post_bias=post)
    res = x if down is None else linear_bn(x, down[0], down[1])
    return torch.relu_(y.add_(res))


def graph_unit_fast(x: torch.Tensor, g: torch.Tensor, conv_d: nn.ModuleList, bn: nn.Module,
                    down: nn.Module | None) -> torch.Tensor:
    """``ReLU(BN(Σ_k conv_d_k(aggregate(x, g_k))) + down(x))`` on NCHW ``x`` ``(N, C, T, V)``, ``g``
    ``(N, K, V, W)`` (row = source): the 2s-AGCN / AAGCN graph unit body, fast.

    The aggregations are K bmm's ``(C·T, V) @ (V, W)`` per sample writing into one ``(N, K·C, T·W)``
    buffer, the K ``conv_d`` one GEMM contracting ``K·C``; in eval the BNs are folded (the unit's into
    ``conv_d``, ``down``'s into its conv) and the GEMM accumulates onto the residual + shift. Without
    autograd the samples go through in groups of :data:`SAMPLE_GROUP`, so the aggregated buffer the GEMM
    reads back (K times the input) stays in cache.
    """
    n, c, t, v = x.shape
    k, wv = g.shape[1], g.shape[-1]
    o = conv_d[0].out_channels
    xv = x.reshape(n, c * t, v)
    records = torch.is_grad_enabled() and (x.requires_grad or g.requires_grad
                                           or any(m.weight.requires_grad for m in conv_d))
    if records or not foldable(bn):
        xa = torch.stack([torch.bmm(xv, g[:, i]) for i in range(k)], 1).view(n, k * c, t * wv)
    if not foldable(bn):
        y = pointwise_conv(xa.view(n, k * c, t, wv), *_summed_convs(conv_d))
        return torch.relu_(bn(y) + (x if down is None else down(x)))
    w, shift = derived(bn, "graph_unit_fast", lambda: [*module_tensors(conv_d), *module_tensors(bn)],
                       lambda: _fold_sum(conv_d, bn))
    if down is None:
        acc = (x + shift.view(o, 1, 1)).view(n, o, t * wv)
    elif foldable(down[1]):
        wd, bd, _ = fold_into(down[0].weight.flatten(1), down[0].bias, down[1])
        acc = pointwise_conv(x, wd, shift if bd is None else bd + shift).view(n, o, t * wv)
    else:
        acc = down(x).add_(shift.view(o, 1, 1)).view(n, o, t * wv)
    if records:
        return torch.relu_(acc.baddbmm_(w.expand(n, -1, -1), xa).view(n, o, t, wv))
    m = min(n, SAMPLE_GROUP)
    buf = x.new_empty(m, k, c * t, wv)
    for s in range(0, n, m):
        e = min(n, s + m)
        for i in range(k):  # bmm(out=) does not record autograd: only used when nothing is recorded
            torch.bmm(xv[s:e], g[s:e, i], out=buf[:e - s, i])
        acc[s:e].add_(pointwise_conv(buf[:e - s].view(e - s, k * c, t, wv), w).view(e - s, o, t * wv))
    return torch.relu_(acc.view(n, o, t, wv))


def _summed_convs(conv_d: nn.ModuleList) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The K subsets' 1×1 convs as one contraction over ``K·C``: weight ``(O, K·C)``, the biases summed ``(O,)``."""
    w = torch.cat([m.weight.flatten(1) for m in conv_d], 1)
    return w, (sum(m.bias for m in conv_d) if conv_d[0].bias is not None else None)


def _fold_sum(conv_d: nn.ModuleList, bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`_summed_convs` with the eval BN folded in: ``(w·scale, b·scale + shift)``."""
    w, b, _ = fold_into(*_summed_convs(conv_d), bn, cache=False)  # cached as a whole by graph_unit_fast
    return w, b


def aggregate(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Row = source graph aggregation ``y[..., w] = Σ_v x[..., v] · a[v, w]``.

    ``x``: ``(N, C, T, V)``; ``a``: ``(V, V)`` or ``(N, V, V)``. Returns ``(N, C, T, V)``.
    """
    n, c, t, v = x.shape
    return torch.matmul(x.reshape(n, c * t, v), a).view(n, c, t, v)


def tconv_fast(x: torch.Tensor, conv: nn.Conv2d, bn: nn.Module) -> torch.Tensor:
    """``bn(conv(x))`` for a ``(k, 1)`` conv on NCHW ``x`` (BN folded in eval; a 1×1 conv as one GEMM).
    Returns a fresh tensor whose backward does not need it (safe for in-place ops)."""
    if conv.kernel_size == (1, 1) and conv.padding == (0, 0) and conv.groups == 1:
        w, b, rest = fold_into(conv.weight.flatten(1), conv.bias, bn)
        y = pointwise_conv(x, w, b, conv.stride[0])
    else:
        w, b, rest = fold_into(conv.weight, conv.bias, bn)
        y = torch.nn.functional.conv2d(x, w, b, conv.stride, conv.padding, conv.dilation, conv.groups)
    return y if rest is None else rest(y)


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

    def _fused(self, x: torch.Tensor, unit: Callable[[torch.Tensor], torch.Tensor],
               tconv: Callable[..., torch.Tensor]) -> torch.Tensor:
        """``ReLU(tconv(unit(x)) + residual(x))`` with the fast path's ``unit`` and ``tconv`` (BNs folded in
        eval), accumulating in place: shared by the NCHW and the channels-last fast paths."""
        y = tconv(unit(x), self.tcn.conv, self.tcn.bn)
        if self.residual_kind == "identity":
            y = y.add_(x)
        elif self.residual is not None:
            y = y.add_(tconv(x, self.residual.conv, self.residual.bn))
        return torch.relu_(y)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if fast_paths_enabled() and hasattr(self.gcn, "forward_fast"):
            return self._fused(x, self.gcn.forward_fast, tconv_fast)  # NCHW fast path
        y = self.tcn(self.gcn(x))
        if self.residual_kind == "identity":
            y = y + x
        elif self.residual is not None:
            y = y + self.residual(x)
        return torch.relu(y)


class AGCNBlockNHWC(AGCNBlock):
    """:class:`AGCNBlock` with a channels-last fast path (``forward_nhwc``, ``(N, T, V, C)`` tensors), for graph
    units that have one: the backbone then runs every stage channels-last, where oneDNN's convolutions run
    up to twice as fast as on NCHW tensors (docs/performance.md). Same parameters and state dict."""

    def forward_nhwc(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, T, V, C_in) -> (N, ⌈T/s⌉, V, C_out)``."""
        return self._fused(x, self.gcn.forward_nhwc, tconv_bn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if has_fast(self):
            return to_nchw(self.forward_nhwc(to_nhwc(x)))
        return super().forward(x)
