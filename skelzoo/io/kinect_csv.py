"""Kinect v2 CSV captures (Microsoft LabanotationSuite layout).

No header; one line per frame: ``timestamp`` (100-ns ticks), then 25 x ``(x, y, z, trackingState)``
(metres, camera space, NTU joint order), usually with a trailing comma (102 fields, the last empty).

The result is a ``ntu25`` sequence ``(T, 1, 25, 3)``; the tracking state (0/1/2) is kept as
``confidence = state / 2`` and as int8 ``meta["tracking_state"]`` ``(T, 1, 25)``; ``meta["timestamps"]``
holds float64 seconds ``(T,)``. ``fps`` is ``1 / median(frame interval)`` rounded to 0.01 (30 when fewer
than two frames or non-increasing timestamps).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from skelzoo.errors import FormatError
from skelzoo.io._parse import PathLike, check_fps, make_sequence, parse_rows, read_text
from skelzoo.io.sequence import SkeletonSequence

__all__ = ["read_kinect_csv", "write_kinect_csv"]

log = logging.getLogger(__name__)
_FIELDS = 1 + 25 * 4
_TICK = 1e-7


def read_kinect_csv(path: PathLike, *, fps: float | None = None) -> SkeletonSequence:
    """Read a Kinect v2 CSV capture into ``ntu25`` ``(T, 1, 25, 3)`` (``fps`` overrides the estimate).

    Raises:
        FormatError: a line without 101 numeric fields (plus the optional trailing empty one), a tracking
            state outside {0, 1, 2}, non-finite values, empty file.
    """
    path = Path(path)
    raw = read_text(path).splitlines()
    keep = [i for i, s in enumerate(raw) if s.strip()]
    lines = [raw[i].strip() for i in keep]
    lines = [s[:-1] if s.endswith(",") else s for s in lines]
    numbers = np.asarray(keep, dtype=np.int64) + 1
    if not lines:
        raise FormatError("file has no frames", path=path)
    rows = parse_rows(lines, _FIELDS, path=path, first_line=numbers, sep=",", what="comma-separated fields")
    t = len(rows)
    joints = rows[:, 1:].reshape(t, 1, 25, 4)
    state = joints[..., 3]
    bad = ~np.isin(state, (0.0, 1.0, 2.0)).all(axis=(1, 2))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise FormatError("tracking state must be 0, 1 or 2", path=path, line=int(numbers[i]))
    stamps = rows[:, 0] * _TICK
    if fps is None:
        diffs = np.diff(stamps)
        fps = 30.0
        if len(diffs) and (diffs > 0).all():
            median = float(np.median(diffs))
            fps = check_fps(1.0 / median, path=path, line=int(numbers[0]),
                            what=f"the frame rate implied by the timestamps (median step {median:.6g} s)")
            fps = round(fps, 2)
        elif len(diffs):
            log.warning("%s: timestamps not increasing; assuming 30 fps", path)
    else:
        fps = check_fps(fps, path=path, what="fps")
    meta = {"source": str(path), "format": "kinect_csv", "timestamps": stamps,
            "tracking_state": state.astype(np.int8)}
    return make_sequence(path, joints[..., :3].astype(np.float32), "ntu25", fps, meta,
                         confidence=(state / 2.0).astype(np.float32))


def write_kinect_csv(seq: SkeletonSequence, path: PathLike) -> None:
    """Write person 0 of a ``ntu25`` sequence as a Kinect v2 CSV (timestamps from ``meta`` or ``fps``)."""
    if seq.num_joints != 25 or seq.num_channels != 3:
        raise ValueError("Kinect v2 CSV needs V=25, C=3")
    t = seq.num_frames
    stamps = np.asarray(seq.meta.get("timestamps", np.arange(t) / seq.fps), dtype=np.float64)
    state = seq.confidence[:, 0] * 2 if seq.confidence is not None else np.full((t, 25), 2.0)
    vals = np.concatenate([np.nan_to_num(seq.data[:, 0]), np.rint(state)[..., None]], axis=-1).reshape(t, 100)
    lines = [f"{int(round(s / _TICK))}," + ",".join(f"{x:.9g}" for x in row) + "," for s, row in zip(stamps, vals)]
    Path(path).write_text("\n".join(lines) + "\n")
