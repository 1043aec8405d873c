"""Chunked (bounded-memory) inference of localization models on long recordings.

Letters: N batch, C channels, T frames, V joints, M persons, K = num_classes + 1, R = the largest temporal
reduction of the backbone taps (8 for the SnipCLR AGCN-10), D feature width.

How it stays equal to whole-sequence inference (BatchNorm in eval mode):

1. **Backbone, in overlapping windows.** The sequence is cut into chunks ``[s, e)`` whose starts are
   multiples of ``R``; each chunk is run with ``overlap`` extra frames on both sides (also a multiple of
   ``R``, clipped at the sequence ends), so every strided convolution sees the same phase as in the
   whole sequence (window step ``j`` at reduction ``r`` is global step ``window_start / r + j``). Only the
   chunk's own steps ``[s/r, ⌈e/r⌉)`` of each tap are kept; the default overlap is half the model's
   local receptive field (rounded up to a multiple of R) plus R, so the zero padding at a window edge
   never reaches a kept step. The taps are averaged over joints and persons right away, so the stitched
   taps are small (``(N, C_i, ⌈T/R_i⌉)``; for one hour at 30 fps with AGCN-10: ~55 MB).
2. **Neck, in windows with whole-sequence resampling indices.** The U-fusion neck resamples with
   ``floor(i·L_in/L)``, which depends on the whole lengths when T is not a multiple of R, so the neck is
   run window by window (:meth:`~skelzoo.necks.UFusionNeck.forward_window`) on the stitched taps with the
   global indices — exactly the whole-sequence result.
3. **Simple head.** Its ``align_corners=True`` linear interpolation maps frame ``t`` to coarse position
   ``t·(T'-1)/(T-1)`` (whole-length dependent); the coarse logits are stitched first and interpolated
   once, exactly as the whole sequence.
4. **Whole-sequence statistics, streamed (exact mode).** Backbones with data-dependent global temporal
   context (``backbone.global_context``: 2s-AGCN / AGCN-10's embedded graph ``softmax(θᵀφ / (C_e·T))``,
   AAGCN's embedded graph and spatial / channel attention, CTR-GCN's channel-wise topology from the
   temporal mean) pool over *every* frame of a stage's input, so a window's own statistics are only an
   approximation. :func:`sequence_context` makes them exact (mechanism in :mod:`skelzoo.blocks.context`),
   stage by stage: for each statistic of stage ``k`` (in forward order) one pass runs the windows up to
   that statistic with every earlier one frozen at its exact whole-sequence value, adds ``Σ_t f(x_t)``
   over each chunk's own frames and divides by the whole length at that rate (the normalisation of the
   whole-sequence code: every frame of the tensor counts, zero padding included; persons are separate
   rows of the folded batch). Then stage ``k`` is run over the whole sequence (windows, statistics
   frozen) and its output is *kept* when it fits ``cache_mb`` (default :data:`DEFAULT_CACHE_MB`), so the
   passes of stage ``k+1`` start from it instead of from the input; the taps are pooled on the way.
   Memory: the statistics are tiny (``V×V`` per subset or ``C×V`` per sample), plus at most two kept
   stage outputs (``≤ 2·cache_mb``) and one window. Time: with every stage kept, about one windowed
   forward (each pass only needs the overlap of the stages it runs); stages that do not fit are
   recomputed from the last kept one, up to ``~L/2`` extra forwards for ``L`` statistics with
   ``cache_mb=0`` (10 for AGCN-10 / CTR-GCN, 30 for AAGCN). Measured (bundled
   ``agcn_loc_ufusion.bandai_w32``, one thread, loaded 2-core machine): 2,610 frames, chunk 1024 —
   exact 0.45 s, windowed 0.51 s, whole 0.45 s, max logit difference to whole 2.9e-6 (windowed:
   2.7e-2); 108,000 frames, chunk 4096 — exact 15 s and 916 MB peak RSS, ``cache_mb=0`` 54 s and
   625 MB, windowed 14 s and 558 MB (``benchmarks/localize.py``). Purely local backbones (ST-GCN,
   STGCN++, MS-G3D) need none of it. ``exact=False`` skips it (window-level statistics).

The local receptive field (``model.receptive_field``) bounds everything else.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, Sequence

import torch
from torch import nn

from ..blocks.context import ContextUnit, SiteDone, UnitStream, attach_streams
from ..necks.ufusion import pool_joints_persons
from .receptive_field import temporal_receptive_field

#: ``localize`` / ``extract_features`` run chunked inference (bounded memory) above this many frames.
CHUNK_THRESHOLD = 8192
#: default chunk length (frames) of chunked inference.
DEFAULT_CHUNK = 4096

__all__ = ["CHUNK_THRESHOLD", "DEFAULT_CHUNK", "chunked_forward", "chunked_taps", "default_overlap",
           "has_global_context", "sequence_context",
           "SequenceContext", "DEFAULT_CACHE_MB"]

#: exact mode: a stage's whole-sequence output up to this size (MiB) is kept for the later passes
DEFAULT_CACHE_MB = 256.0


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _overlap_for(model: nn.Module, receptive_field: int) -> int:
    r = int(model.total_reduction)
    half = _ceil_div(int(receptive_field) - 1, 2)
    return _ceil_div(half, r) * r + r


def default_overlap(model: nn.Module) -> int:
    """Frames of context on each side of a chunk: ``⌈(receptive_field - 1) / 2⌉`` rounded up to a
    multiple of ``model.total_reduction``, plus one more ``total_reduction``."""
    return _overlap_for(model, int(model.receptive_field))


def _windows(t: int, chunk: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """``(s, e, ws, we)``: chunk ``[s, e)`` and its context window ``[ws, we)``."""
    out = []
    for s in range(0, t, chunk):
        e = min(s + chunk, t)
        out.append((s, e, max(0, s - overlap), min(t, e + overlap)))
    return out


def has_global_context(model: nn.Module) -> bool:
    """Whether the backbone of ``model`` (a localizer or a backbone) declares whole-sequence statistics."""
    return bool(getattr(getattr(model, "backbone", model), "global_context", False))


class SequenceContext:
    """Exact whole-sequence statistics of every :class:`~skelzoo.blocks.context.ContextUnit` of a backbone
    for one input, filled by :func:`sequence_context`.

    ``units``: ``(stage index, unit, stream)`` in forward order; each stream's ``frozen`` dict holds the
    statistics (per sample of the ``N·M`` folded batch). ``taps``: the localizer's pooled taps
    ``[(N, C_i, ⌈T/R_i⌉)]``, computed on the way. ``cached_stages``: stages whose whole-sequence output
    was kept (within the memory budget) to start later passes from.
    """

    def __init__(self, backbone: nn.Module, last_stage: int) -> None:
        self.units: list[tuple[int, ContextUnit, UnitStream]] = [
            (stage, unit, UnitStream(reduction)) for stage, reduction, unit in backbone.context_units(last_stage)]
        self.taps: list[torch.Tensor] = []
        self.cached_stages: list[int] = []

    def sites(self) -> Iterator[tuple[int, UnitStream, str]]:
        """``(stage index, stream, site name)`` of every statistic, in the order the forward needs them."""
        for stage, unit, stream in self.units:
            for name in unit.context_sites:
                yield stage, stream, name

    def attach(self) -> contextlib.AbstractContextManager[None]:
        """Inside the ``with`` block the units use (or accumulate) the streamed statistics."""
        return attach_streams((unit, stream) for _, unit, stream in self.units)

    def set_window(self, window_start: int, start: int, stop: int) -> None:
        """Tell every unit which steps of the window ``[window_start, ...)`` belong to chunk ``[start, stop)``."""
        for _, _, stream in self.units:
            stream.set_window(window_start, start, stop)

    @property
    def nbytes(self) -> int:
        """Memory held by the frozen statistics (bytes)."""
        return sum(v.numel() * v.element_size() for _, _, st in self.units for v in st.frozen.values())


def _chunk_size(model: nn.Module, chunk: int) -> int:
    r = int(model.total_reduction)
    return max(r, (int(chunk) // r) * r)


class _Streamer:
    """Runs a localizer's backbone window by window from a *source*: the input ``x`` (``stage = 0``, the
    stem runs per window) or the stored whole-sequence input of stage ``stage`` (``(N·M, C, T_s, V)``)."""

    def __init__(self, model: nn.Module, x: torch.Tensor, chunk: int, overlap: int | None) -> None:
        self.model, self.backbone, self.x = model, model.backbone, x
        self.n, self.t, self.m = x.shape[0], x.shape[2], x.shape[-1]
        self.r = int(model.total_reduction)
        self.chunk = _chunk_size(model, chunk)
        self.overlap = None if overlap is None else _ceil_div(int(overlap), self.r) * self.r
        info = self.backbone.feature_info
        self.red_in = [1] + [int(fi["reduction"]) for fi in info]  # red_in[i]: reduction of stage i's input
        self.stage = 0
        self.source: torch.Tensor | None = None

    def windows(self, stop: int) -> list[tuple[int, int, int, int]]:
        """Windows for running stages ``self.stage .. stop`` (overlap from their receptive field)."""
        ov = self.overlap
        if ov is None:
            ov = _overlap_for(self.model, temporal_receptive_field(self.backbone, stop, self.stage))
        return _windows(self.t, self.chunk, ov)

    def window_input(self, ws: int, we: int) -> torch.Tensor:
        """Folded ``(N·M, C, T_w, V)`` input of stage ``self.stage`` for the frames ``[ws, we)``."""
        if self.source is None:
            return self.backbone.stem(self.x[:, :, ws:we])
        r = self.red_in[self.stage]
        return self.source[:, :, ws // r:_ceil_div(we, r)]

    def accumulate(self, ctx: SequenceContext, stage: int, stream: UnitStream, name: str) -> None:
        """One pass: the exact statistic ``name`` of a unit of ``stage`` (earlier ones frozen)."""
        stream.begin(name)
        for s, e, ws, we in self.windows(stage):
            ctx.set_window(ws, s, e)
            y = self.window_input(ws, we)
            try:
                self.backbone.forward_stages(y, self.stage, stage + 1)
            except SiteDone:
                continue
            raise RuntimeError(f"stage {stage} never asked for its statistic {name!r}")
        stream.freeze()

    def advance(self, stop: int, taps: dict[int, list[torch.Tensor]], keep: bool) -> None:
        """Run stages ``self.stage .. stop-1`` over the whole sequence (windows, statistics frozen): the
        own steps of every tap stage among them are pooled into ``taps``; with ``keep`` the output of stage
        ``stop-1`` becomes the new source."""
        out: torch.Tensor | None = None
        r_out = self.red_in[stop]
        for s, e, ws, we in self.windows(stop - 1):
            y = self.window_input(ws, we)
            for i in range(self.stage, stop):
                y = self.backbone.forward_stages(y, i, i + 1)
                if i in taps:
                    ri = self.red_in[i + 1]
                    own = y[:, :, (s - ws) // ri:_ceil_div(e, ri) - ws // ri]
                    taps[i].append(pool_joints_persons(self.backbone.unfold_persons(own, self.n, self.m)))
            if keep:
                lo, hi = s // r_out, _ceil_div(e, r_out)
                if out is None:  # same memory format as the stage outputs (channels-last on the fast path)
                    shape = (y.shape[0], y.shape[1], _ceil_div(self.t, r_out), y.shape[3])
                    fmt = torch.contiguous_format if y.is_contiguous() else torch.channels_last
                    out = torch.empty(shape, dtype=y.dtype, device=y.device, memory_format=fmt)
                out[:, :, lo:hi] = y[:, :, lo - ws // r_out:hi - ws // r_out]
            del y
        if keep:
            self.source, self.stage = out, stop


@torch.no_grad()
def sequence_context(model: nn.Module, x: torch.Tensor, *, chunk: int, overlap: int | None = None,
                     cache_mb: float = DEFAULT_CACHE_MB) -> SequenceContext:
    """Compute the whole-sequence statistics of ``model``'s backbone on ``x`` ``(N, C, T, V, M)`` exactly,
    in windows of ``chunk`` frames (one streaming pass per statistic, see the module docstring), and the
    pooled taps on the way (``ctx.taps``).

    Args:
        model: a :class:`~skelzoo.localization.localizer.Localizer` in eval mode.
        x: ``(N, C, T, V, M)``.
        chunk: frames per chunk.
        overlap: context frames on each side of a chunk (default: per pass, from the receptive field of
            the stages that pass runs).
        cache_mb: a stage's whole-sequence output is kept (so later passes start from it instead of the
            input) when it takes at most this many MiB; ``0`` recomputes from the input every pass
            (smallest memory, slowest).
    """
    backbone = model.backbone
    last = int(model.tap_indices[-1])
    ctx = SequenceContext(backbone, last)
    st = _Streamer(model, x, chunk, overlap)
    taps: dict[int, list[torch.Tensor]] = {int(i): [] for i in model.tap_indices}
    sites: dict[int, list[tuple[UnitStream, str]]] = {}
    for stage, stream, name in ctx.sites():
        sites.setdefault(stage, []).append((stream, name))
    budget = float(cache_mb) * 2 ** 20
    from ..progress import progress
    with ctx.attach():
        for k in progress(range(last + 1), desc=f"localizing {st.t} frames (exact, stage passes)", unit="stage"):
            for stream, name in sites.get(k, []):
                st.accumulate(ctx, k, stream, name)
            if k < last:
                nbytes = (x.shape[0] * x.shape[-1] * int(backbone.feature_info[k]["num_chs"])
                          * _ceil_div(st.t, st.red_in[k + 1]) * x.shape[3] * x.element_size())
                if nbytes <= budget:
                    st.advance(k + 1, taps, keep=True)
                    ctx.cached_stages.append(k)
        st.advance(last + 1, taps, keep=False)
    ctx.taps = [torch.cat(taps[int(i)], dim=-1) for i in model.tap_indices]
    return ctx


@torch.no_grad()
def chunked_taps(model: nn.Module, x: torch.Tensor, *, chunk: int, overlap: int | None = None) -> list[torch.Tensor]:
    """Whole-sequence pooled taps ``[(N, C_i, ⌈T/R_i⌉)]`` computed chunk by chunk, one pass (each window
    uses its own statistics if the backbone has global context: see :func:`sequence_context`).

    ``model`` is a :class:`~skelzoo.localization.localizer.Localizer`; ``x`` is ``(N, C, T, V, M)``.
    """
    r = int(model.total_reduction)
    ov = default_overlap(model) if overlap is None else _ceil_div(int(overlap), r) * r
    chunk = _chunk_size(model, chunk)
    t = x.shape[2]
    reds: Sequence[int] = model.tap_reductions
    parts: list[list[torch.Tensor]] = [[] for _ in reds]
    from ..progress import progress
    for s, e, ws, we in progress(_windows(t, chunk, ov), desc=f"localizing {t} frames", unit="chunk"):
        taps = model.pooled_taps(x[:, :, ws:we])
        for i, (tap, ri) in enumerate(zip(taps, reds)):
            lo = (s - ws) // ri
            hi = _ceil_div(e, ri) - ws // ri
            parts[i].append(tap[..., lo:hi])
        del taps
    return [torch.cat(p, dim=-1) for p in parts]


@torch.no_grad()
def chunked_forward(model: nn.Module, x: torch.Tensor, chunk: int = 4096, overlap: int | None = None,
                    *, features: bool = False, exact: bool | None = None,
                    cache_mb: float = DEFAULT_CACHE_MB) -> torch.Tensor:
    """Frame logits ``(N, T, K)`` (or frame features ``(N, T, D)`` with ``features=True``) of a
    localization model, computed in bounded memory with overlapping windows of ``chunk`` frames.

    Args:
        model: a :class:`~skelzoo.localization.localizer.Localizer` (put it in eval mode first; training-
            mode BatchNorm would use per-window statistics).
        x: ``(N, C, T, V, M)``.
        chunk: frames per chunk (rounded down to a multiple of the model's total reduction).
        overlap: context frames on each side (default :func:`default_overlap`, from the receptive field).
        exact: stream the whole-sequence statistics of a backbone with global context first (exact,
            slower; see the module docstring). Default: ``True`` for such backbones
            (:func:`has_global_context`), irrelevant for the others.
        cache_mb: exact mode: memory budget (MiB) for a stored whole-sequence stage output that later
            passes start from (see :func:`sequence_context`).

    The result matches whole-sequence inference up to float rounding (with ``exact=False`` on a global-
    context backbone: up to the window-statistics approximation).
    """
    model.check_input(x)
    t = x.shape[2]
    if exact is None:
        exact = has_global_context(model)
    if exact and has_global_context(model) and t > _chunk_size(model, chunk):
        taps = sequence_context(model, x, chunk=chunk, overlap=overlap, cache_mb=cache_mb).taps
    else:
        taps = chunked_taps(model, x, chunk=chunk, overlap=overlap)
    neck = model.neck
    if neck is None:  # simple head: stitched coarse sequence, one global interpolation
        if features:
            return model.features_from_taps(taps, t).transpose(1, 2)
        return model.logits_from_taps(taps, t)
    outs = []
    step = max(1, int(chunk))
    for s in range(0, t, step):
        e = min(s + step, t)
        f = neck.forward_window(taps, s, e, t)
        outs.append(f.transpose(1, 2) if features else model.head(model.drop(f)))
    return torch.cat(outs, dim=1)
