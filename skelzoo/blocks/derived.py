"""Inference weights derived from parameters (folded BatchNorms, stacked subset weights), kept between calls.

The fast paths derive their inference weights from the parameters at every call: an eval BatchNorm is
folded into the convolution before it (``w·scale``, ``b·scale + shift``), the subsets' weights of a graph
unit are stacked for one GEMM, and so on. Each derivation is a handful of small tensor operations: of the
2,208 operations of a CTR-GCN forward, 1,211 (``torch.profiler``, 2026-12-04). They cost little at batch 8
(``benchmarks/backbones.py``: CTR-GCN 1.00-1.03x faster without them) and more for single clips (batch 1,
T = 64: CTR-GCN about 1.09x, ST-GCN 1.04x, 2s-AGCN 1.03x). Weights do not change between the calls of an
inference run, so

    with skelzoo.cached_weights(model):
        for clip in clips:
            logits = model(clip)

computes every derivation once, at its first use inside the block, and reuses it for later calls: outputs
are bit-identical to uncached calls. This is the pattern of ``torch.nn.utils.parametrize.cached()``: the
cache lives on the model's own modules (an attribute the block sets and removes; nothing global, nothing in
the ``state_dict``) and only while the block is open. skelzoo's frozen-feature probes
(:func:`skelzoo.evaluation.probe.pooled_features`, many batches of one model) run inside it.

Safety. The cache serves only calls that record no gradient (under ``torch.no_grad()`` or
``torch.inference_mode()``); training steps inside the block derive their weights afresh, differentiably, and so
do traced, exported or compiled calls (their graphs keep the derivations from the parameters).
Every cached value remembers its source tensors' storage address and version counter and is recomputed
when they differ, so in-place updates that PyTorch tracks (an optimizer step, ``load_state_dict``,
``param.copy_()`` / ``param.mul_()`` under ``no_grad``, ``model.to()``) are picked up. Changes PyTorch does
not track are not: writing through ``param.data`` or replacing a parameter object inside the block. Do not
edit weights that way inside it.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Hashable, Iterator, Sequence, TypeVar

import torch
from torch import Tensor, nn

from .gemm import _tracing

__all__ = ["cached_weights", "derived", "module_tensors", "is_parameter"]

_ATTR = "_skelzoo_derived"
T = TypeVar("T")


@contextlib.contextmanager
def cached_weights(model: nn.Module) -> Iterator[nn.Module]:
    """Within the block, weights the fast paths derive from ``model``'s parameters are computed once and
    reused (module docstring); yields ``model``. Nested blocks over the same modules share one cache, which
    the outermost block drops on exit."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"cached_weights expects a torch.nn.Module, got {type(model).__name__}")
    opened = []
    for m in model.modules():
        if m.__dict__.get(_ATTR) is None:
            m.__dict__[_ATTR] = _Store()
            opened.append(m)
    try:
        yield model
    finally:
        for m in opened:
            m.__dict__.pop(_ATTR, None)


def _closed() -> None:
    return None


class _Store(dict):
    """One module's cache. A copy of the module (``copy.deepcopy``, pickling, ``torch.save(model)``) made inside
    the block gets no cache: the copy is not inside any block."""

    def __deepcopy__(self, memo: dict) -> None:
        return None

    def __reduce__(self) -> tuple:
        return _closed, ()


def derived(owner: nn.Module, key: Hashable,
            sources: Sequence[Tensor | None] | Callable[[], Sequence[Tensor | None]], compute: Callable[[], T]) -> T:
    """``compute()``, or its value from an earlier call inside :func:`cached_weights`.

    ``owner``: the module the derivation belongs to (its cache holds the value); ``key``: which derivation of
    that module (anything the value depends on besides the tensors); ``sources``: every tensor ``compute``
    reads, or a function listing them (called only when the cache is open); ``None`` entries allowed. Sources
    must persist between calls (parameters, buffers, views of them: :func:`is_parameter`). The cached value
    is used only if no gradient is being recorded, nothing traces or compiles the call (TorchScript, ONNX
    export, ``torch.compile``: their graphs must derive the weights from the parameters) and every source has
    the storage address and version it had when the value was computed."""
    store = owner.__dict__.get(_ATTR)
    if store is None or torch.is_grad_enabled() or _tracing():
        return compute()
    if callable(sources):
        sources = sources()
    signature = tuple((t.data_ptr(), t._version) if t is not None else None for t in sources)
    hit = store.get(key)
    if hit is not None and hit[0] == signature:
        return hit[1]
    value = compute()
    store[key] = (signature, value)
    return value


def module_tensors(module: nn.Module) -> list[Tensor]:
    """Every parameter and buffer of ``module`` and its submodules (``None`` slots skipped), without the name
    bookkeeping of ``named_parameters`` (a few microseconds instead of about fifty for a graph unit)."""
    out: list[Tensor] = []
    stack = [module]
    while stack:
        m = stack.pop()
        out.extend(t for t in m._parameters.values() if t is not None)
        out.extend(t for t in m._buffers.values() if t is not None)
        stack.extend(c for c in m._modules.values() if c is not None)
    return out


def is_parameter(t: Tensor) -> bool:
    """Whether ``t`` is an ``nn.Parameter`` or a view of one (``weight.flatten(1)``): a tensor that persists
    between calls, so its address and version identify its contents. A tensor computed in each call does not
    qualify: the allocator may hand the next call's result the same address, with the same version 0."""
    return isinstance(t, nn.Parameter) or isinstance(t._base, nn.Parameter)
