"""Fast (channels-last) execution of the backbones: same function, fewer copies, fused weights.

Every backbone keeps its plain, official-structure ``forward`` (per-subset convolutions, ``(N, C, T, V)``
tensors). With fast paths enabled (the default) the backbones run their blocks on ``(N, T, V, C)``
("NHWC") tensors instead:

- 1×1 convolutions are one GEMM over the channel axis (no reorders), by oneDNN where available
  (:func:`skelzoo.blocks.gemm.linear`);
- temporal ``(k, 1)`` convolutions run as channels-last ``conv2d`` (oneDNN's native layout) or, for wide layers,
  as the real-DFT bilinear algorithm of :mod:`skelzoo.blocks.spectral` (about a fifth of the multiplications;
  :func:`~skelzoo.blocks.spectral.temporal_conv` picks the kernel);
- in eval mode every BatchNorm that follows a convolution (or a linear graph aggregation) is folded
  into its weights *on the fly* (computed in each forward from the current parameters and running
  statistics, so a weight update or ``load_state_dict`` can never leave a stale cache);
- per-subset convolutions are concatenated into one weight and the graph aggregations of all subsets
  become one batched matmul whose operand order makes every result land in the layout the next GEMM
  reads (no permute copies).

The 2s-AGCN family (AGCN, AGCN-10, AAGCN) runs channels-last too (per-sample graphs through
:func:`graph_bn`, :class:`~skelzoo.blocks.agcn_units.AGCNBlockNHWC`); it also keeps an NCHW fast path
(:func:`~skelzoo.blocks.agcn_units.graph_unit_fast`) for graph units without a channels-last one. CTR-GCN
keeps NCHW tensors on its fast path: its channel-wise graph aggregations are large GEMMs only on
``(N, C·T, V)`` views (channels-last makes them N·T tiny matmuls plus permute copies); its units'
``forward_fast`` fuse the subsets into a few batched GEMMs whose operand layouts need no copies, fold the BNs
in eval and accumulate in place (:class:`~skelzoo.models.ctrgcn.CTRGCUnit`,
:meth:`~skelzoo.blocks.mstcn.MultiScaleTCN.forward_fast`).

All of it is ordinary differentiable PyTorch, so training uses the same code (BatchNorms are then
applied, not folded). Results equal the plain path up to float32 rounding (tests/test_fast_paths.py
checks <= 1e-5 on logits and gradients).

Switch: :func:`set_fast_paths` / :func:`plain_paths` (context manager) / ``SKELZOO_FAST=0``.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ..runtime import env_flag
from .derived import derived, is_parameter
from .gemm import linear
from .spectral import temporal_conv

__all__ = ["fast_paths_enabled", "set_fast_paths", "plain_paths", "to_nhwc", "to_nchw", "bn_fold",
           "apply_bn", "linear_bn", "tconv_bn", "graph_linear", "graph_bn", "stride_t", "sum_t", "is_nhwc_view",
           "has_fast"]

Tensor = torch.Tensor
_ENABLED = env_flag("SKELZOO_FAST")


def fast_paths_enabled() -> bool:
    """Whether backbones use their fast (channels-last, fused) forward."""
    return _ENABLED


def set_fast_paths(enabled: bool) -> bool:
    """Enable / disable the fast paths globally; returns the previous setting."""
    global _ENABLED
    old, _ENABLED = _ENABLED, bool(enabled)
    return old


@contextlib.contextmanager
def plain_paths() -> Iterator[None]:
    """Run the plain, official-structure forward inside the ``with`` block (reference / checks)."""
    old = set_fast_paths(False)
    try:
        yield
    finally:
        set_fast_paths(old)


# ---------------------------------------------------------------------------------------------- layout
def to_nhwc(x: Tensor) -> Tensor:
    """``(N, C, T, V)`` -> contiguous ``(N, T, V, C)`` (free for a channels-last tensor)."""
    return x.permute(0, 2, 3, 1).contiguous()


def to_nchw(y: Tensor) -> Tensor:
    """``(N, T, V, C)`` -> ``(N, C, T, V)`` view (channels-last memory; no copy)."""
    return y.permute(0, 3, 1, 2)


def is_nhwc_view(x: Tensor) -> bool:
    """Whether NCHW ``x`` ``(N, C, T, V)`` is a view of channels-last memory (``x.permute(0, 2, 3, 1)``
    contiguous) and not also plain contiguous."""
    return x.dim() == 4 and not x.is_contiguous() and x.permute(0, 2, 3, 1).is_contiguous()


def sum_t(x: Tensor) -> Tensor:
    """``x.sum(2)`` of NCHW ``x`` ``(N, C, T, V)`` -> ``(N, C, V)``, read in memory order when ``x`` is a
    channels-last view: PyTorch's reduction over dim 2 of such a view runs 7-14x slower than the same sum
    over dim 1 of its ``(N, T, V, C)`` form (measured at AAGCN's sizes, 0.53-0.85 ms vs 0.06-0.08 ms)."""
    if is_nhwc_view(x):
        return x.permute(0, 2, 3, 1).sum(1).permute(0, 2, 1)
    return x.sum(2)


def stride_t(x: Tensor, s: int) -> Tensor:
    """Every ``s``-th frame of an NHWC tensor (a 1×1 conv with temporal stride ``s`` reads these)."""
    return x if s == 1 else x[:, ::s]


# ---------------------------------------------------------------------------------------------- BN
def foldable(bn: nn.Module | None) -> bool:
    return (isinstance(bn, nn.modules.batchnorm._BatchNorm) and not bn.training
            and bn.running_mean is not None and bn.running_var is not None)


def _bn_tensors(bn: nn.Module) -> tuple[Tensor | None, ...]:
    return bn.weight, bn.bias, bn.running_mean, bn.running_var


def bn_fold(bn: nn.Module, cache: bool = True) -> tuple[Tensor, Tensor]:
    """Eval BatchNorm as ``y = x·scale + shift`` (the same affine form PyTorch's CPU kernel uses); kept
    between calls inside :func:`~skelzoo.blocks.derived.cached_weights` unless ``cache=False`` (the call is
    part of a larger derivation that is cached as a whole)."""
    if not cache:
        return _bn_fold(bn)
    return derived(bn, ("bn_fold", bn.eps), lambda: _bn_tensors(bn), lambda: _bn_fold(bn))


def _bn_fold(bn: nn.Module) -> tuple[Tensor, Tensor]:
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight
    shift = -bn.running_mean * scale
    if bn.bias is not None:
        shift = shift + bn.bias
    return scale, shift


def apply_bn(y: Tensor, bn: nn.Module | None) -> Tensor:
    """Apply a BatchNorm module to an NHWC tensor (training statistics / non-foldable BN)."""
    if bn is None or isinstance(bn, nn.Identity):
        return y
    return bn(y.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


def fold_into(w: Tensor, b: Tensor | None, bn: nn.Module | None,
              cache: bool = True) -> tuple[Tensor, Tensor | None, nn.Module | None]:
    """Fold an eval BN into ``(w, b)`` (output channels first); else return the BN to apply after. When ``w``
    and ``b`` are parameters or views of them, the folded pair is kept between calls inside
    :func:`~skelzoo.blocks.derived.cached_weights` (a tensor computed per call is never a cache source), unless
    ``cache=False`` (the call is part of a larger derivation that is cached as a whole)."""
    if bn is None or isinstance(bn, nn.Identity):
        return w, b, None
    if not foldable(bn):
        return w, b, bn

    def fold() -> tuple[Tensor, Tensor]:
        scale, shift = _bn_fold(bn)
        return w * scale.view(-1, *([1] * (w.dim() - 1))), (shift if b is None else b * scale + shift)
    if not (cache and is_parameter(w) and (b is None or is_parameter(b))):
        wf, bf = fold()
    else:
        wf, bf = derived(bn, ("fold_into", w.shape, bn.eps), lambda: (w, b, *_bn_tensors(bn)), fold)
    return wf, bf, None


# ---------------------------------------------------------------------------------------------- convs
def linear_bn(x: Tensor, conv: nn.Module, bn: nn.Module | None = None, stride: int = 1) -> Tensor:
    """``bn(conv1x1(x))`` on NHWC ``x`` as one GEMM (BN folded in eval); ``stride`` on T."""
    w = conv.weight.reshape(conv.weight.shape[0], -1)
    w, b, rest = fold_into(w, conv.bias, bn)
    return apply_bn(linear(stride_t(x, stride), w, b), rest)


def tconv_bn(x: Tensor, conv: nn.Conv2d, bn: nn.Module | None = None) -> Tensor:
    """``bn(conv(x))`` for a ``(k, 1)`` conv on NHWC ``x`` via channels-last ``conv2d`` (BN folded in eval)."""
    if conv.kernel_size == (1, 1) and conv.padding == (0, 0) and conv.groups == 1:
        return linear_bn(x, conv, bn, stride=conv.stride[0])
    w, b, rest = fold_into(conv.weight, conv.bias, bn)
    if conv.groups == 1 and conv.kernel_size[1] == 1 and conv.padding[1] == 0 and conv.stride[1] == 1:
        y = temporal_conv(x, w, b, conv.stride[0], conv.padding[0], conv.dilation[0])
    else:
        y = F.conv2d(x.permute(0, 3, 1, 2), w.contiguous(memory_format=torch.channels_last), b,
                     conv.stride, conv.padding, conv.dilation, conv.groups).permute(0, 2, 3, 1).contiguous()
    return apply_bn(y, rest)


# ---------------------------------------------------------------------------------------------- graph conv
def graph_linear(x: Tensor, graph: Tensor, weight: Tensor, bias: Tensor | None,
                 scale: Tensor | None = None, shift: Tensor | None = None) -> Tensor:
    """``y[..., w, o] = Σ_k Σ_v graph[k, v, w] · (x[..., v, :] @ weight[k].T + bias[k])[o]`` (row = source).

    ``x``: NHWC ``(N, T, V, C)``; ``graph``: ``(K, V, W)`` shared or ``(N, K, V, W)`` per sample;
    ``weight``: ``(K, O, C)``; ``bias``: ``(K, O)`` or None. Optional ``scale``/``shift`` ``(O,)``: a
    folded BN applied to the sum. Returns ``(N, T, W, O)``.

    Picks the cheaper order: aggregate first (on C channels) when ``C <= O``, else convolve first. Either
    way the subsets fold into one GEMM and one batched matmul, with operands ordered so that no copy is
    needed: aggregate-first writes ``(w, k, c)`` rows that the GEMM with ``weight`` viewed ``(O, K·C)``
    reads directly; conv-first writes ``(v, k, o)`` rows read by ``graph`` viewed ``(W, V·K)``.
    """
    k, o, c = weight.shape
    n, t, v, _ = x.shape
    per_sample = graph.dim() == 4
    wv = graph.shape[-1]
    if scale is not None:
        weight = weight * scale.view(1, o, 1)
        bias = None if bias is None else bias * scale
    if c <= o:
        # aggregate: xa[n, t, w, k, c] = Σ_v graph[k, v, w] x[n, t, v, c]
        g = graph.permute(0, 3, 1, 2) if per_sample else graph.permute(2, 0, 1)  # (..., W, K, V)
        g = g.reshape(n, 1, wv * k, v) if per_sample else g.reshape(wv * k, v)
        xa = _per_sample_graph_matmul(g, x) if per_sample else _shared_graph_bmm(g, x)  # (N, T, W·K, C)
        wf = weight.permute(1, 0, 2).reshape(o, k * c)                          # [o, k·C + c]
        y = linear(xa.reshape(n, t, wv, k * c), wf)
        if bias is not None:
            # Σ_k Σ_v graph[k, v, w] · bias[k, o], added together with the shift in one pass
            gsum = graph.sum(-2)                                                # (..., K, W)
            const = (torch.matmul(gsum.transpose(-1, -2), bias).unsqueeze(-3) if per_sample
                     else torch.matmul(gsum.t(), bias))
            return y.add_(const if shift is None else const + shift)
    else:
        z = linear(x, weight.reshape(k * o, c), None if bias is None else bias.reshape(k * o))
        # z rows: [v, k·O + o] -> view (N, T, V·K, O)
        g = graph.permute(0, 3, 2, 1) if per_sample else graph.permute(2, 1, 0)  # (..., W, V, K)
        g = g.reshape(n, 1, wv, v * k) if per_sample else g.reshape(wv, v * k)
        z = z.view(n, t, v * k, o)
        y = _per_sample_graph_matmul(g, z) if per_sample else _shared_graph_bmm(g, z)  # (N, T, W, O)
    if shift is not None:
        y = y.add_(shift)  # y is a fresh matmul result: in place is autograd-safe
    return y


#: :func:`_shared_graph_bmm` takes one GEMM instead of the per-frame batched product up to this many channels
NARROW_GRAPH_CHANNELS = 8


def _shared_graph_bmm(g: Tensor, x: Tensor) -> Tensor:
    """``g @ x[n, t]`` for every frame: ``g`` ``(R, V)`` shared, ``x`` ``(N, T, V, C)`` -> ``(N, T, R, C)``,
    contiguous.

    ``torch.matmul(g, x)`` folds the frames into one GEMM ``(N·T·C, V) @ (V, R)`` on transposed copies: it
    copies ``x`` into ``(N, T, C, V)`` order and returns a transposed view that the next GEMM copies again
    (and autograd does the same in the backward). One batched product of the N·T frames with ``g``
    broadcast (stride 0) reads ``x`` and writes the result in the order the next GEMM reads: aggregation +
    that GEMM 1.9-2.6x faster forward and 1.3-1.9x forward + backward on the stgcn_ssl training shapes
    (1 thread, 2026-12-04); whole training steps of the example configs 1.03x / 1.06x, the ST-GCN eval
    forward 1.00-1.09x (noise level); the same sums.

    Except for few channels (``C <=`` :data:`NARROW_GRAPH_CHANNELS`, CPU): the BLAS's batched product is
    slow when its output rows are that short (MS-G3D's 3-channel input, 750 × 125 window graph, 1024 frames:
    57.6 ms, against 4.8 ms for one GEMM ``(R, V) @ (V, N·T·C)`` on a transposed copy of ``x``, the result
    copied back; 1.3-20x over C = 1-8 on five graph shapes, 0.2-0.9x from C = 12; 2 threads, 2026-12-04). On
    the input layers that is MS-G3D's eval forward 1.09x / 1.11x faster (default / tuned allocator) and
    stgcn_ssl's training aggregation 4.3-7.1x (forward + backward, 1 thread)."""
    n, t, v, c = x.shape
    r = g.shape[0]
    if c <= NARROW_GRAPH_CHANNELS and x.device.type == "cpu":
        # few channels: one GEMM (R, V) @ (V, N·T·C) on a transposed copy of x, then the result copied back
        xt = x.reshape(n * t, v, c).transpose(0, 1).reshape(v, n * t * c)
        return torch.mm(g, xt).view(r, n * t, c).transpose(0, 1).contiguous().view(n, t, r, c)
    return torch.bmm(g.expand(n * t, *g.shape), x.reshape(n * t, v, c)).view(n, t, r, c)


def _per_sample_graph_matmul(g: Tensor, x: Tensor) -> Tensor:
    """``g[n] @ x[n, t]`` for every frame: ``g`` ``(N, 1, R, V)`` per sample, ``x`` ``(N, T, V, C)`` ->
    ``(N, T, R, C)``, contiguous: ``torch.matmul(g, x)`` (N·T small products), except for few channels
    (``C <=`` :data:`NARROW_GRAPH_CHANNELS`, CPU), where those products have rows too short for the BLAS: there
    each sample is one product ``(R, V) @ (V, T·C)`` on a transposed copy of ``x``, the result copied back (the
    2s-AGCN family's 3-channel input layer, 75 × 25 graphs, 1,024 frames: 0.24 ms against 1.29 ms, 2 threads,
    2026-12-05)."""
    n, t, v, c = x.shape
    if c <= NARROW_GRAPH_CHANNELS and x.device.type == "cpu":
        r = g.shape[-2]
        y = torch.bmm(g.reshape(n, r, v), x.transpose(1, 2).reshape(n, v, t * c))     # (N, R, T·C)
        return y.view(n, r, t, c).transpose(1, 2).contiguous()
    return torch.matmul(g, x)


def graph_bn(x: Tensor, graph: Tensor, weight: Tensor, bias: Tensor | None, bn: nn.Module | None,
             post_bias: Tensor | None = None) -> Tensor:
    """``bn(graph_linear(x, graph, weight, bias) + post_bias)`` with the BN folded in eval.

    ``post_bias`` ``(O,)``: a bias added after the aggregation (2s-AGCN's ``Σ_k conv_d_k`` biases, MS-G3D's
    MLP bias), not aggregated.
    """
    if foldable(bn):
        scale, shift = bn_fold(bn)
        if post_bias is not None:
            shift = post_bias * scale + shift
        return graph_linear(x, graph, weight, bias, scale, shift)
    y = graph_linear(x, graph, weight, bias, None, post_bias)
    return apply_bn(y, bn)


def has_fast(module: nn.Module) -> bool:
    """Whether fast paths are on and ``module`` has a ``forward_nhwc``."""
    return _ENABLED and hasattr(module, "forward_nhwc")
