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

Limit: backbones with *data-dependent global temporal context* are not exactly chunkable — 2s-AGCN /
AGCN-10's embedded graph ``softmax(θᵀφ / (C_e·T))`` and AAGCN's attention average over all frames of
their input, CTR-GCN's channel-wise topology uses a temporal mean. Chunked inference then uses
window-level statistics (``chunk + 2·overlap`` frames). The local receptive field (``model.receptive_field``)
bounds everything else. For AGCN-10 at initialisation the graph branch is damped (BN weight 1e-6), so
the difference is ~1e-6; with trained weights it is an approximation whose size depends on the weights
(measure with ``benchmarks/localize.py``). Larger chunks reduce it.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

__all__ = ["chunked_forward", "chunked_taps", "default_overlap"]


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def default_overlap(model: nn.Module) -> int:
    """Frames of context on each side of a chunk: ``⌈(receptive_field - 1) / 2⌉`` rounded up to a
    multiple of ``model.total_reduction``, plus one more ``total_reduction``."""
    r = int(model.total_reduction)
    half = _ceil_div(int(model.receptive_field) - 1, 2)
    return _ceil_div(half, r) * r + r


def _windows(t: int, chunk: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """``(s, e, ws, we)``: chunk ``[s, e)`` and its context window ``[ws, we)``."""
    out = []
    for s in range(0, t, chunk):
        e = min(s + chunk, t)
        out.append((s, e, max(0, s - overlap), min(t, e + overlap)))
    return out


@torch.no_grad()
def chunked_taps(model: nn.Module, x: torch.Tensor, *, chunk: int, overlap: int | None = None) -> list[torch.Tensor]:
    """Whole-sequence pooled taps ``[(N, C_i, ⌈T/R_i⌉)]`` computed chunk by chunk.

    ``model`` is a :class:`~skelzoo.localization.localizer.Localizer`; ``x`` is ``(N, C, T, V, M)``.
    """
    r = int(model.total_reduction)
    ov = default_overlap(model) if overlap is None else _ceil_div(int(overlap), r) * r
    chunk = max(r, (int(chunk) // r) * r)
    t = x.shape[2]
    reds: Sequence[int] = model.tap_reductions
    parts: list[list[torch.Tensor]] = [[] for _ in reds]
    for s, e, ws, we in _windows(t, chunk, ov):
        taps = model.pooled_taps(x[:, :, ws:we])
        for i, (tap, ri) in enumerate(zip(taps, reds)):
            lo = (s - ws) // ri
            hi = _ceil_div(e, ri) - ws // ri
            parts[i].append(tap[..., lo:hi])
        del taps
    return [torch.cat(p, dim=-1) for p in parts]


@torch.no_grad()
def chunked_forward(model: nn.Module, x: torch.Tensor, chunk: int = 4096, overlap: int | None = None,
                    *, features: bool = False) -> torch.Tensor:
    """Frame logits ``(N, T, K)`` (or frame features ``(N, T, D)`` with ``features=True``) of a
    localization model, computed in bounded memory with overlapping windows of ``chunk`` frames.

    Args:
        model: a :class:`~skelzoo.localization.localizer.Localizer` (put it in eval mode first; training-
            mode BatchNorm would use per-window statistics).
        x: ``(N, C, T, V, M)``.
        chunk: frames per chunk (rounded down to a multiple of the model's total reduction).
        overlap: context frames on each side (default :func:`default_overlap`, from the receptive field).

    Interior and boundary frames match whole-sequence inference up to float rounding, except for the
    global-context limit described in the module docstring.
    """
    model.check_input(x)
    t = x.shape[2]
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
