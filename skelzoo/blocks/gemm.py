"""The fast paths' GEMMs through oneDNN on CPU: :func:`linear` (channels-last 1×1 convolutions and graph GEMMs)
and :func:`pointwise_conv` (1×1 convolutions of NCHW tensors).

``F.linear`` / ``torch.mm`` on CPU call the BLAS PyTorch was built with (MKL in the x86 wheels). On some
x86 CPUs that BLAS runs far below the machine's rate while oneDNN, which PyTorch already uses for its
convolutions, does not: on this project's AMD EPYC machine (AVX-512) a float32 GEMM of the backbones'
shapes runs at 80-100 GFLOP/s per core through MKL and at 200-220 GFLOP/s through oneDNN
(``benchmarks/backbones.py`` prints both rates). :func:`linear` computes ``F.linear(x, w, b)`` with
oneDNN's matmul (``torch.ops.mkldnn._linear_pointwise``, the kernel ``torch.compile`` emits for linear
layers on CPU) for float32 CPU tensors, and its own autograd (the input gradient a oneDNN matmul too, the
weight gradient, whose inner dimension is every row of ``x``, the BLAS's), so training uses it as well.
Results equal ``F.linear`` to float32 rounding (a different summation order; ``tests/test_gemm.py``).

Both are used only by the fast paths (``skelzoo.blocks.channels_last``, ``skelzoo.blocks.agcn_units``); the
plain, official-structure forwards keep ``F.linear`` / ``nn.Conv2d``. Off: ``SKELZOO_ONEDNN_LINEAR=0`` or
:func:`set_onednn_linear` (then :func:`linear` is ``F.linear`` and :func:`pointwise_conv` a batched matmul).
Where the op is missing (a PyTorch build without oneDNN) :func:`linear` falls back to ``F.linear`` by itself.

**Which kernel is faster depends on the CPU**, so for inference both routes are measured and the faster kept
(like ``torch.backends.cudnn.benchmark``). On the AMD machine of 2026-12-03 oneDNN's matmul ran a 2048²
product at twice the BLAS rate; on the one of 2026-12-04 (same model name, half that oneDNN rate) the BLAS's
batched matmul ran CTR-GCN's NCHW 1×1 convolutions 0-24 % faster (57 % on the 3-channel input layer) than
oneDNN's convolution, which reorders NCHW tensors into its blocked layout and back (oneDNN's matmul still beat
the BLAS on the channels-last GEMMs of :func:`linear`, on both machines). So when no gradient is recorded,
:func:`pointwise_conv` times its two kernels (oneDNN's convolution and the BLAS's batched matmul) at the first
call with each argument signature (shapes, bias, stride, thread count) of at least :data:`AUTOTUNE_MIN_FLOP`:
one warm-up call each (oneDNN builds its primitive, pages are touched), then :data:`AUTOTUNE_TRIALS` timed
calls each, in rounds whose order reverses each time (neither kernel always runs right after the other);
the kernel with the shorter fastest call serves that signature from then on, that first call included, so
within a process the same inputs always give the same bits. oneDNN must be faster by the factor
:data:`ONEDNN_NCHW_HANDICAP` to be chosen (its layout reorders cost more in a forward than in the timing).
Inputs of at most :data:`NARROW_IN_CHANNELS` channels take the BLAS without timing: oneDNN's blocked layout pads
them to a full vector of channels (CTR-GCN's 3-channel input layer: its four 1×1 convolutions took 3.6-10.3 ms
through oneDNN against 1.2-1.3 ms through the BLAS; the whole forward 1.005-1.038x faster, 2 threads,
2026-12-04). The two kernels agree to float32 rounding (a different summation order), so with autotuning on,
outputs can differ at that level between processes;
calls that record gradients (training) always take the oneDNN route, so training stays reproducible.
:func:`linear` is not autotuned: oneDNN's matmul beat the BLAS on its channels-last GEMMs on
both machines (2026-12-03: whole forwards 1.17-1.35x faster than with BLAS GEMMs; 2026-12-04: autotuning chose
oneDNN for every GEMM shape of 2s-AGCN, forward 1.01x), and timing costs about six extra calls per new shape,
which chunked inference of one long recording pays once per chunk shape (the default localizer on one hour of
skeleton: 13,257 and 15,512 frames/s with ``linear`` autotuned, 16,546 without; separate runs). Off:
``SKELZOO_GEMM_AUTOTUNE=0`` or :func:`set_autotune` (then inference takes the oneDNN route, as training does);
:func:`autotune_choices` lists what was chosen, :func:`autotune_reset` forgets it.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

import torch
import torch.nn.functional as F

from ..runtime import env_flag

__all__ = ["linear", "pointwise_conv", "onednn_linear_available", "onednn_linear_enabled", "set_onednn_linear",
           "set_autotune", "autotune_enabled", "autotune_choices", "autotune_reset", "AUTOTUNE_TRIALS",
           "AUTOTUNE_MIN_FLOP"]

Tensor = torch.Tensor
_ENABLED = env_flag("SKELZOO_ONEDNN_LINEAR")
_OP: Any = None
_CHECKED = False
_AUTOTUNE = env_flag("SKELZOO_GEMM_AUTOTUNE")
#: timed calls per kernel when a signature is first seen (after one untimed warm-up call each); the choice
#: compares each kernel's fastest call. The rounds alternate the kernels' order: in a fixed order (oneDNN
#: first), CTR-GCN's 16 signatures chose the BLAS 6-15 times over four processes (7-14 with 5 trials); with
#: the order reversed every round, 12-16 times over six processes (2026-12-04)
AUTOTUNE_TRIALS = 2
#: smaller products are not timed (the timing would cost more than it can save): they take the oneDNN route
AUTOTUNE_MIN_FLOP = 50_000_000
#: with autotuning on, inference 1×1 convolutions of at most this many input channels take the BLAS without
#: timing: oneDNN's blocked layout pads them to a full vector of channels (the 3-channel input layers)
NARROW_IN_CHANNELS = 8
#: autotuning takes oneDNN's NCHW 1×1 convolution only when its timed call is this much faster than the BLAS's: it
#: reorders input and output through scratch buffers of its blocked layout, which the back-to-back timing on hot,
#: already-mapped memory does not charge (CTR-GCN's forward with glibc's default malloc, one process, 2 threads,
#: 2026-12-04: 0.328 s with four signatures on oneDNN against 0.308 s with all on the BLAS)
ONEDNN_NCHW_HANDICAP = 1.25
#: :func:`pointwise_conv`'s kernel names, in the order of its candidates (the default of :func:`_autotuned`)
_KERNELS = ("onednn", "blas")
#: ``{signature: name of the chosen kernel}``
_CHOICE: dict[tuple, str] = {}
_LOCK = threading.Lock()


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


def set_autotune(enabled: bool) -> bool:
    """Switch inference-time kernel autotuning on or off (see the module docstring); returns the previous
    setting. Choices already made are kept (:func:`autotune_reset` forgets them)."""
    global _AUTOTUNE
    old, _AUTOTUNE = _AUTOTUNE, bool(enabled)
    return old


def autotune_enabled() -> bool:
    """Whether :func:`pointwise_conv` autotunes its kernel when no gradient is recorded."""
    return _AUTOTUNE and _ENABLED


def autotune_choices() -> dict[tuple, str]:
    """``{signature: kernel}`` for every signature whose kernel is chosen in this process: ``"onednn"`` /
    ``"blas"`` (:func:`pointwise_conv`), ``"direct"`` / ``"spectral"``
    (:func:`skelzoo.blocks.spectral.temporal_conv`)."""
    with _LOCK:
        return dict(_CHOICE)


def autotune_reset() -> None:
    """Forget every choice made in this process."""
    with _LOCK:
        _CHOICE.clear()


def _autotuned(key: tuple, candidates: tuple[Callable[[], Tensor], ...],
               names: tuple[str, ...] = _KERNELS, handicap: tuple[float, ...] | None = None) -> Tensor:
    """The result of the candidate chosen for ``key``; at the first call with ``key``, time every candidate
    (one warm-up call each, then :data:`AUTOTUNE_TRIALS` timed rounds over all of them, each round in the
    reverse order of the last) and choose. ``names``: the candidates' kernel names, in their order;
    ``handicap``: factors on their measured times (a cost that the timing does not see)."""
    chosen = _CHOICE.get(key)
    if chosen is None:
        for f in candidates:
            f()
        best = [float("inf")] * len(candidates)
        order = list(range(len(candidates)))
        for _ in range(AUTOTUNE_TRIALS):
            for i in order:
                t0 = time.perf_counter()
                candidates[i]()
                best[i] = min(best[i], time.perf_counter() - t0)
            order.reverse()
        if handicap is not None:
            best = [b * h for b, h in zip(best, handicap)]
        with _LOCK:
            chosen = _CHOICE.setdefault(key, names[best.index(min(best))])
    return candidates[names.index(chosen)]()


def _autotuning_applies(*ts: Tensor | None) -> bool:
    """Autotuning on, not tracing, and nothing recorded for autograd (the caller checked device and dtype)."""
    if not autotune_enabled() or _tracing():
        return False
    return not (torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in ts))


def _tunable(flop: int, *ts: Tensor | None) -> bool:
    """:func:`_autotuning_applies` to a product of at least :data:`AUTOTUNE_MIN_FLOP`."""
    return flop >= AUTOTUNE_MIN_FLOP and _autotuning_applies(*ts)


def _mm(x: Tensor, w: Tensor, b: Tensor | None = None) -> Tensor:
    """``x @ w.T + b`` by oneDNN; ``x`` ``(..., K)`` (any strides), ``w`` ``(O, K)``."""
    return _OP(x, w, b, "none", [], "")


class _OneDNNLinear(torch.autograd.Function):
    """``F.linear`` on a 2-D ``x`` ``(M, K)`` whose forward and input-gradient GEMMs are oneDNN matmuls and whose
    weight gradient (inner dimension M) is the BLAS's ``torch.mm`` with a transposed operand (2-D in and
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
        # the weight gradient's inner dimension is M (all rows): the BLAS with a transposed operand ran it
        # 1.1-3x faster than oneDNN on the training configs' shapes (1 and 2 threads; training steps 1.02x)
        gw = torch.mm(gy.t(), x) if need_w else None                         # (O, M) @ (M, K)
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

    With the oneDNN route on, ``F.conv2d`` (oneDNN's convolution) or, for inference, whichever of it and the
    BLAS's batched ``matmul(w, x)`` autotuning found faster for these arguments (module docstring: which one
    wins depends on the CPU); with the route off, that batched matmul. Both are differentiable."""
    if not (_ENABLED and x.device.type == "cpu" and x.dtype == torch.float32 and torch.backends.mkldnn.is_available()):
        return _pointwise_matmul(x, w, b, stride)

    def onednn() -> Tensor:
        return F.conv2d(x, w[:, :, None, None], b, (stride, 1))
    n, c, t, v = x.shape
    if c <= NARROW_IN_CHANNELS and _autotuning_applies(x, w, b):
        return _pointwise_matmul(x, w, b, stride)
    if _tunable(2 * n * w.shape[0] * c * -(-t // stride) * v, x, w, b):
        key = ("pointwise", tuple(x.shape), tuple(w.shape), b is not None, stride, torch.get_num_threads())
        return _autotuned(key, (onednn, lambda: _pointwise_matmul(x, w, b, stride)),
                          handicap=(ONEDNN_NCHW_HANDICAP, 1.0))
    return onednn()


def _pointwise_matmul(x: Tensor, w: Tensor, b: Tensor | None, stride: int) -> Tensor:
    """:func:`pointwise_conv` as the BLAS's batched matmul ``w @ x[n]``: ``(O, C) @ (C, T·V)``."""
    xs = x if stride == 1 else x[:, :, ::stride]
    n, c, t, v = xs.shape
    y = torch.matmul(w, xs.reshape(n, c, t * v)).view(n, w.shape[0], t, v)
    return y if b is None else y.add_(b.view(-1, 1, 1))
