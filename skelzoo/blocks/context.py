"""Whole-sequence temporal statistics of graph units, and how to compute them exactly in windows.

Some graph units pool over *all* frames of their input before they can produce any output frame:

- 2s-AGCN / AGCN-10 / AAGCN: the embedded graph ``θᵀφ / (C_e·T)`` sums over every frame;
- AAGCN's spatial and channel attention average their input over T (and T·V);
- CTR-GCN's channel-wise topology uses the temporal mean of the unit input.

Such a unit derives from :class:`ContextUnit`, lists its statistics in ``context_sites`` (in the order
its forward computes them) and asks :meth:`ContextUnit.context_stat` for each one. Every statistic is a
*temporal mean* ``(1/T) Σ_t f(x_t)`` of a per-frame quantity of the unit's input (or of an intermediate
of the unit at the same rate), stored in a canonical layout that does not depend on the execution path
(plain NCHW or the channels-last fast path), so both paths share frozen values.

Normally (no stream attached) :meth:`~ContextUnit.context_stat` returns ``None`` and the unit computes
the statistic its own way: the ordinary forward is unchanged. Streaming inference
(:mod:`skelzoo.localization.chunked`) attaches a :class:`UnitStream` to every unit (an instance
attribute, set and removed by :func:`attach_streams`; no module-level state) and then

- *accumulates* one site: each window adds ``Σ_t f(x_t)`` over the window's own frames (the frames of
  the current chunk, at the unit's rate) to a running total and stops the window's forward
  (:class:`SiteDone`), because nothing after that point is needed yet;
- *freezes* it: the total divided by the number of frames summed (the whole-sequence length at that
  rate) is the exact whole-sequence statistic, returned to every later window.

Letters: N batch (persons folded in), C channels, T frames, V joints.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import torch
from torch import nn

__all__ = ["ContextUnit", "UnitStream", "SiteDone", "attach_streams"]

Tensor = torch.Tensor


class SiteDone(Exception):
    """Raised by :meth:`ContextUnit.context_stat` once the accumulated site has taken its window's sum:
    the rest of the window's forward is not needed in that pass."""


@dataclass
class UnitStream:
    """Streaming state of one :class:`ContextUnit`.

    Attributes:
        reduction: temporal reduction of the unit's input (input frames per step).
        frozen: site name -> exact whole-sequence statistic (canonical layout, see the unit's doc).
        target: the site being accumulated in the current pass, or ``None``.
        total: running ``Σ_t f(x_t)`` of ``target``; ``count``: frames summed so far.
        lo, hi: steps ``[lo, hi)`` of the current window's unit input that belong to the current chunk.
    """

    reduction: int
    frozen: dict[str, Tensor] = field(default_factory=dict)
    target: str | None = None
    total: Tensor | None = None
    count: int = 0
    lo: int = 0
    hi: int = 0

    def set_window(self, window_start: int, start: int, stop: int) -> None:
        """Own steps of the window ``[window_start, ...)`` for the chunk ``[start, stop)`` (input frames,
        ``window_start`` and ``start`` multiples of :attr:`reduction`)."""
        r = self.reduction
        self.lo = start // r - window_start // r
        self.hi = -(-stop // r) - window_start // r

    def begin(self, site: str) -> None:
        """Start accumulating ``site``."""
        self.target, self.total, self.count = site, None, 0

    def freeze(self) -> Tensor:
        """End the pass: ``frozen[target] = total / count``; returns the statistic."""
        if self.target is None or self.total is None or self.count == 0:
            raise RuntimeError(f"no frames were accumulated for site {self.target!r}")
        value = self.total / self.count
        self.frozen[self.target] = value
        self.target, self.total, self.count = None, None, 0
        return value


class ContextUnit(nn.Module):
    """Base class of graph units with whole-sequence temporal statistics (see the module docstring).

    Subclasses set ``context_sites`` (names in forward order; may depend on the configuration, e.g.
    AAGCN without attention has only ``"affinity"``).
    """

    context_sites: tuple[str, ...] = ()
    _stream: UnitStream | None = None

    def context_stat(self, name: str, x: Tensor, time_dim: int,
                     frame_sum: Callable[[Tensor], Tensor]) -> Tensor | None:
        """The streamed value of statistic ``name`` = ``frame_sum(x) / T`` over the whole sequence.

        Args:
            name: one of ``context_sites``.
            x: the tensor the statistic pools over (a window of it while streaming).
            time_dim: its frame axis.
            frame_sum: ``Σ_t f(x_t)`` of a tensor (with the same ``time_dim``), in the canonical layout.

        Returns:
            ``None`` when no stream is attached (the caller computes the statistic itself, unchanged);
            else the frozen whole-sequence value, or (a site after the accumulated one, never used) the
            window's own mean. Raises :class:`SiteDone` after accumulating the target site.
        """
        st = self._stream
        if st is None:
            return None
        value = st.frozen.get(name)
        if value is not None:
            return value
        if name == st.target:
            own = x.narrow(time_dim, st.lo, st.hi - st.lo)
            part = frame_sum(own)
            st.total = part if st.total is None else st.total + part
            st.count += st.hi - st.lo
            raise SiteDone(name)
        return frame_sum(x) / x.shape[time_dim]


@contextlib.contextmanager
def attach_streams(pairs: Iterable[tuple[ContextUnit, UnitStream]]) -> Iterator[None]:
    """Attach each stream to its unit inside the ``with`` block (instance attributes, removed after)."""
    pairs = list(pairs)
    for unit, stream in pairs:
        unit._stream = stream
    try:
        yield
    finally:
        for unit, _ in pairs:
            unit.__dict__.pop("_stream", None)
