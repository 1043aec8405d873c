"""The fast paths' GEMMs through oneDNN on CPU: :func:`linear` (channels-last 1×1 convolutions and graph GEMMs)
and :func:`pointwise_conv` (1×1 convolutions of NCHW tensors).

``F.linear`` / ``torch.mm`` on CPU call the BLAS PyTorch was built with (MKL in the x86 wheels). On some
x86 CPUs that BLAS runs far below the machine's rate while oneDNN, which PyTorch already uses for its
convolutions, does not: on this project's AMD EPYC machine (AVX-512) a float32 GEMM of the backbones'
shapes runs at 80-100 GFLOP/s per core through MKL and at 200-220 GFLOP/s through oneDNN
(``benchmarks/backbones.py`` prints both rates). :func:`linear` computes ``F.linear(x, w, b)`` with
oneDNN's matmul (``torch.ops.mkldnn._linear_pointwise``, the kernel ``torch.compile`` emits for linear
layers on CPU) for float32 CPU tensors, and its own autograd (input and weight gradients are oneDNN
matmuls too), so training uses it as well. Results equal ``F.linear`` to float32 rounding (a different
summation order; ``tests/test_gemm.py``).

Both are used only by the fast paths (``skelzoo.blocks.channels_last``, ``skelzoo.blocks.agcn_units``); the
plain, official-structure forwards keep ``F.linear`` / ``nn.Conv2d``. Off: ``SKELZOO_ONEDNN_LINEAR=0`` or
:func:`set_onednn_linear` (then :func:`linear` is ``F.linear`` and :func:`pointwise_conv` a batched matmul).
Where the op is missing (a PyTorch build without oneDNN) :func:`linear` falls back to ``F.linear`` by itself.
"""
from __future__ import annotations

import os
from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["linear", "pointwise_conv", "onednn_linear_available", "onednn_linear_enabled", "set_onednn_linear"]

Tensor = torch.Tensor
_ENABLED = os.environ.get("SKELZOO_ONEDNN_LINEAR", "1") not in ("0", "false", "False", "no")
_OP: Any = None
_CHECKED = False


def _op() -> Any:
    """The oneDNN linear op, or None when this PyTorch build lacks it (checked once, against ``F.linear``)."""
    global _OP, _CHECKED
    if not _CHECKED:
        _CHECKED = True
        try:
            op = torch.ops.mkldnn._linear_pointwise
            if not torch.backends.mkldnn.is_available():
                raise RuntimeError("oneDNN not available")
            g = torch.Generator().manual_seed(0)
            x, w, b = (torch.randn(5, 7, generator=g), torch.randn(3, 7, generator=g), torch.randn(3, generator=g))
            if not torch.allclose(op(x, w, b, "none", [], ""), F.linear(x, w, b), rtol=1e-4, atol=1e-5):
                raise RuntimeError("oneDNN linear disagrees with F.linear")
            _OP = op
        except (AttributeError, RuntimeError):
            _OP = None
    return _OP


def onednn_linear_available() -> bool:
    """Whether this PyTorch build has a working oneDNN linear (``torch.ops.mkldnn._linear_pointwise``)."""
    return _op() is not None


def onednn_linear_enabled() -> bool:
    """Whether :func:`linear` uses oneDNN (available and not switched off)."""
    return _ENABLED and onednn_linear_available()


def set_onednn_linear(enabled: bool) -> bool:
    """Switch :func:`linear`'s oneDNN route on or off; returns the previous setting."""
    global _ENABLED
    old, _ENABLED = _ENABLED, bool(enabled)
    return old


def _tracing() -> bool:
    """TorchScript tracing / scripting, ONNX export or ``torch.compile``: they get the standard op (the
    compiler picks its own kernels; TorchScript cannot hold the oneDNN op's argument list)."""
    return (torch.jit.is_tracing() or torch.jit.is_scripting() or torch.compiler.is_compiling()
            or torch.onnx.is_in_onnx_export())


def _mm(x: Tensor, w: Tensor, b: Tensor | None = None) -> Tensor:
    """``x @ w.T + b`` by oneDNN; ``x`` ``(..., K)`` (any strides), ``w`` ``(O, K)``."""
    return _OP(x, w, b, "none", [], "")


class _OneDNNLinear(torch.autograd.Function):
    """``F.linear`` on a 2-D ``x`` ``(M, K)`` whose forward and backward GEMMs are oneDNN matmuls (2-D in and
    out: the op returns a view for N-D input, and a custom Function's view output cannot be modified in
    place; :func:`linear` reshapes around it)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x, w)
        ctx.has_bias = b is not None
        return _mm(x, w, b)

    @staticmethod
    def backward(ctx: Any, gy: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        gx = _mm(gy, w.t()) if need_x else None                              # (M, O) @ (O, K)
        gw = _mm(gy.t(), x.t()) if need_w else None                          # (O, M) @ (M, K)
        gb = gy.sum(0) if ctx.has_bias and need_b else None
        return gx, gw, gb


def linear(x: Tensor, w: Tensor, b: Tensor | None = None) -> Tensor:
    """``F.linear(x, w, b)``: ``x`` ``(..., K)``, ``w`` ``(O, K)``, ``b`` ``(O,)`` -> ``(..., O)``.

    Through oneDNN for float32 CPU tensors when enabled (see the module docstring), else ``F.linear``."""
    if (not _ENABLED or x.device.type != "cpu" or x.numel() == 0 or _tracing() or _op() is None
            or any(t is not None and t.dtype != torch.float32 for t in (x, w, b))):
        return F.linear(x, w, b)
    if torch.is_grad_enabled() and (x.requires_grad or w.requires_grad or (b is not None and b.requires_grad)):
        lead = x.shape[:-1]
        return _OneDNNLinear.apply(x.reshape(-1, x.shape[-1]), w, b).view(*lead, w.shape[0])
    return _mm(x, w, b)


def pointwise_conv(x: Tensor, w: Tensor, b: Tensor | None = None, stride: int = 1) -> Tensor:
    """A 1×1 convolution of NCHW ``x`` ``(N, C, T, V)`` with ``w`` ``(O, C)``, ``b`` ``(O,)`` and temporal
    ``stride``: ``(N, O, ceil(T / stride), V)``, contiguous NCHW.

    With the oneDNN route on, ``F.conv2d`` (oneDNN's convolution, 1.7-2x the BLAS rate of the batched
    ``matmul(w, x)`` on the AMD machine, ``benchmarks/backbones.py``); else that batched matmul. Both are
    differentiable."""
    if _ENABLED and x.device.type == "cpu" and x.dtype == torch.float32 and torch.backends.mkldnn.is_available():
        return F.conv2d(x, w[:, :, None, None], b, (stride, 1))
    xs = x if stride == 1 else x[:, :, ::stride]
    n, c, t, v = xs.shape
    y = torch.matmul(w, xs.reshape(n, c, t * v)).view(n, w.shape[0], t, v)
    return y if b is None else y.add_(b.view(-1, 1, 1))
