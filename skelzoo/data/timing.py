"""Frame times of recordings as sensors log them, and resampling on time.

Sensors do not always log one frame per tick: a Kinect logger often keeps one row per *tracked* depth frame,
so frame ids skip (sparse rows) and repeat (the same frame logged twice), and captures have gaps. A reader
that knows the time of each frame stores it as ``meta["timestamps"]`` (seconds, ``(T,)``; see
:data:`skelzoo.io.FRAME_META_KEYS`). :func:`resample_on_time` brings such a recording to a regular rate:
frames logged at the same time are averaged, each output frame interpolates linearly between the frames
around its time (joint by joint, where both are valid), gaps up to ``max_gap`` seconds are bridged that way
and longer gaps are left empty (no skeleton) and reported.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..io.sequence import FRAME_META_KEYS, SkeletonSequence

__all__ = ["frame_times", "is_irregular", "TimingReport", "resample_on_time", "DEFAULT_MAX_GAP"]

#: longest gap (seconds) bridged by interpolation when resampling on time
DEFAULT_MAX_GAP = 0.5


def frame_times(seq: SkeletonSequence) -> np.ndarray | None:
    """The recording's frame times in seconds from its first frame (float64 ``(T,)``), or ``None`` when the
    format has none (frames are then ``1 / fps`` apart)."""
    ts = seq.meta.get("timestamps")
    if ts is None:
        return None
    ts = np.asarray(ts, dtype=np.float64).reshape(-1)
    if ts.shape[0] != seq.num_frames or not np.isfinite(ts).all():
        raise ValueError(f"meta['timestamps'] must hold {seq.num_frames} finite times, got shape {ts.shape}")
    return ts - ts[0] if ts.size else ts


def is_irregular(times: np.ndarray, fps: float, tolerance: float = 0.25) -> bool:
    """Whether frame ``times`` are not ``1 / fps`` apart: repeated or out-of-order times, or an interval off by
    more than ``tolerance`` of a frame."""
    if len(times) < 2:
        return False
    dt = np.diff(times)
    return bool((dt <= 1e-9).any() or (np.abs(dt * fps - 1.0) > tolerance).any())


@dataclass
class TimingReport:
    """What :func:`resample_on_time` did: ``duplicates`` (frames merged into an earlier one with the same time),
    ``bridged`` (gaps longer than a frame and at most ``max_gap``, interpolated), ``gaps`` (``(start_s, end_s)``
    of the longer gaps, left without skeleton)."""

    duplicates: int = 0
    bridged: int = 0
    gaps: list[tuple[float, float]] = field(default_factory=list)

    def messages(self) -> list[str]:
        if not self.gaps:
            return []
        spans = ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in self.gaps[:5]) + (" ..." if len(self.gaps) > 5 else "")
        return [f"{len(self.gaps)} gap(s) in the frame times longer than the bridging limit, left without "
                f"skeleton: {spans}"]


def resample_on_time(seq: SkeletonSequence, fps: float, *, times: np.ndarray | None = None,
                     max_gap: float = DEFAULT_MAX_GAP) -> tuple[SkeletonSequence, np.ndarray, TimingReport]:
    """Resample ``seq`` to ``fps`` on its frame times.

    Args:
        seq: the recording ``(T, M, V, C)``; its times are ``times``, else :func:`frame_times`, else ``1 / fps``.
        fps: output rate; output frame ``n`` is at ``n / fps`` seconds after the first frame.
        max_gap: gaps (seconds between consecutive distinct times) up to this are interpolated; longer ones are
            left empty (zeros: no skeleton) and reported.

    Returns:
        the resampled sequence (``meta["timestamps"]`` = the output times; other per-frame metadata dropped),
        the recording frame at or before each output frame (int64 ``(T',)``, non-decreasing) and the
        :class:`TimingReport`.
    """
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    t = frame_times(seq) if times is None else np.asarray(times, dtype=np.float64)
    if t is None:
        t = np.arange(seq.num_frames) / seq.fps
    order = np.argsort(t, kind="stable")
    ts, data = t[order], seq.data[order].astype(np.float64)
    valid = np.isfinite(data).all(-1) & (np.nan_to_num(data) != 0).any(-1)  # (T, M, V)
    uniq, inv = np.unique(np.round(ts, 6), return_inverse=True)
    u = len(uniq)
    sums = np.zeros((u,) + data.shape[1:])
    np.add.at(sums, inv, np.where(valid[..., None], np.nan_to_num(data), 0.0))
    count = np.zeros((u,) + data.shape[1:3])
    np.add.at(count, inv, valid)
    merged = sums / np.maximum(count, 1)[..., None]
    ok = count > 0  # (U, M, V)
    report = TimingReport(duplicates=int(len(ts) - u))

    n_out = int(np.floor(uniq[-1] * fps + 1e-6)) + 1
    out_t = np.arange(n_out) / fps
    hi = np.clip(np.searchsorted(uniq, out_t - 1e-9, side="left"), 0, u - 1)
    lo = np.where(uniq[hi] > out_t + 1e-9, np.maximum(hi - 1, 0), hi)
    span = uniq[hi] - uniq[lo]
    w = np.where(span > 0, (out_t - uniq[lo]) / np.where(span > 0, span, 1.0), 0.0)[:, None, None, None]
    interp = (1 - w) * merged[lo] + w * merged[hi]
    near = np.where(w[:, 0, 0, 0] <= 0.5, lo, hi)
    other = np.where(near == lo, hi, lo)
    both = (ok[lo] & ok[hi])[..., None]
    single = np.where(ok[near][..., None], merged[near], np.where(ok[other][..., None], merged[other], 0.0))
    out = np.where(both, interp, single)
    gap = span > max_gap + 1e-9
    out[gap] = 0.0
    if gap.any():
        idx = np.flatnonzero(gap)
        starts = idx[np.r_[True, np.diff(idx) > 1]]
        for s in starts:
            report.gaps.append((float(uniq[lo[s]]), float(uniq[hi[s]])))
    steps = np.diff(uniq)
    report.bridged = int(((steps > 1.5 / fps) & (steps <= max_gap + 1e-9)).sum())

    # recording frame (original numbering) at or before each output time
    k = np.clip(np.searchsorted(ts, out_t + 1e-9, side="right") - 1, 0, len(ts) - 1)
    index = np.maximum.accumulate(order[k]).astype(np.int64)
    meta = {key: v for key, v in seq.meta.items() if key not in FRAME_META_KEYS}
    t0 = float(np.asarray(seq.meta["timestamps"], dtype=np.float64)[0]) if "timestamps" in seq.meta else 0.0
    meta["timestamps"] = out_t + t0
    out_seq = SkeletonSequence(out.astype(np.float32), seq.layout, float(fps), meta)
    return out_seq, index, report
