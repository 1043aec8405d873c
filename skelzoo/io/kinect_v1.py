"""Kinect SDK v1 research text formats (20 joints, layout ``kinect20``; ``convert_layout`` maps it to NTU-25).

``kinect_v1`` (UTKinect-Action3D ``joints_sXX_eYY.txt`` and similar loggers)
    One row per logged frame: a frame id, then 20 x (x, y, z) in metres (61 numbers, separated by spaces,
    tabs or commas). Loggers keep one row per *tracked* depth frame, so ids skip (sparse rows) and can
    repeat (the same frame logged twice). The ids are kept as ``meta["frame_ids"]`` and as frame times
    ``meta["timestamps"] = (id - first id) / id_rate`` (30 ids per second: Kinect depth frames), which the
    model path resamples on (:func:`skelzoo.data.timing.resample_on_time`: repeats averaged, gaps bridged).
    ``fps`` is the rate of logged rows (rows per second of ids), at most ``id_rate``. Ids must not decrease.

``msr3d`` (MSR Action3D ``aAA_sSS_eEE_skeleton3D.txt``)
    20 rows ``x y z c`` per frame (MSR's own joint order, reordered here to Kinect SDK v1's, see
    ``formats.md`` §6); ``c`` in ``[0, 1]`` becomes ``confidence``. An optional first line ``F J`` (frame and
    joint counts) is checked. 15 fps. Coordinates are kept as they are in the file (units as recorded).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from skelzoo.errors import FormatError
from skelzoo.io._parse import PathLike, parse_rows, read_text
from skelzoo.io.sequence import SkeletonSequence

__all__ = ["read_kinect_v1", "read_msr3d", "write_kinect_v1", "MSR3D_TO_KINECT20", "KINECT_V1_FIELDS"]

#: numbers per row of the ``kinect_v1`` format: frame id + 20 x (x, y, z)
KINECT_V1_FIELDS = 61
#: MSR Action3D joint (0-based) that fills each Kinect SDK v1 joint (0-based), from ``formats.md`` §6
MSR3D_TO_KINECT20 = (6, 3, 2, 19, 0, 7, 9, 11, 1, 8, 10, 12, 4, 13, 15, 17, 5, 14, 16, 18)
_SEP = re.compile(r"[,\s]+")


def _rows(path: Path) -> tuple[list[str], np.ndarray]:
    raw = read_text(path).splitlines()
    keep = [i for i, s in enumerate(raw) if s.strip() and not s.lstrip().startswith("#")]
    lines = [_SEP.sub(" ", raw[i].strip()).strip() for i in keep]
    return lines, np.asarray(keep, dtype=np.int64) + 1


def read_kinect_v1(path: PathLike, *, id_rate: float = 30.0, fps: float | None = None) -> SkeletonSequence:
    """Read a ``kinect_v1`` text file (frame id + 20 x (x, y, z) per row) into ``kinect20`` ``(T, 1, 20, 3)``.

    Args:
        path: the file.
        id_rate: frame ids per second (30: Kinect depth frames); gives ``meta["timestamps"]``.
        fps: override the rate of the rows (default: rows per second of ids, at most ``id_rate``).

    Raises:
        FormatError: a row without 61 numbers, a non-integer or decreasing frame id, non-finite values.
    """
    path = Path(path)
    lines, numbers = _rows(path)
    if not lines:
        raise FormatError("no frames", path=path)
    rows = parse_rows(lines, KINECT_V1_FIELDS, path=path, first_line=numbers, what="numbers (frame id + 20 x 3)")
    ids = rows[:, 0]
    bad = np.flatnonzero(ids != np.round(ids))
    if bad.size:
        raise FormatError(f"frame id {ids[bad[0]]:g} is not an integer", path=path, line=int(numbers[bad[0]]))
    back = np.flatnonzero(np.diff(ids) < 0)
    if back.size:
        i = int(back[0]) + 1
        raise FormatError(f"frame id {int(ids[i])} after {int(ids[i - 1])}: ids must not decrease",
                          path=path, line=int(numbers[i]))
    if not id_rate > 0:
        raise ValueError(f"id_rate must be > 0, got {id_rate}")
    t = len(rows)
    span = float(ids[-1] - ids[0])
    if fps is None:
        fps = min(float(id_rate), (t - 1) * id_rate / span) if span > 0 and t > 1 else float(id_rate)
        fps = round(fps, 3)
    data = rows[:, 1:].reshape(t, 1, 20, 3).astype(np.float32)
    meta = {"source": str(path), "format": "kinect_v1", "frame_ids": ids.astype(np.int64),
            "timestamps": (ids - ids[0]) / float(id_rate), "id_rate": float(id_rate)}
    return SkeletonSequence(data, "kinect20", fps, meta)


def write_kinect_v1(seq: SkeletonSequence, path: PathLike, *, frame_ids: np.ndarray | None = None) -> None:
    """Write person 0 of a ``kinect20`` sequence as ``kinect_v1`` rows (ids from ``frame_ids``, else
    ``meta["frame_ids"]``, else ``0..T-1``)."""
    if seq.layout != "kinect20":
        raise ValueError(f"kinect_v1 files hold layout kinect20, got {seq.layout!r}")
    ids = np.asarray(frame_ids if frame_ids is not None else seq.meta.get("frame_ids", np.arange(seq.num_frames)))
    if ids.shape != (seq.num_frames,):
        raise ValueError(f"need {seq.num_frames} frame ids, got shape {ids.shape}")
    vals = np.nan_to_num(seq.data[:, 0]).reshape(seq.num_frames, 60)
    Path(path).write_text("".join(f"{int(i)} " + " ".join(f"{v:.9g}" for v in row) + "\n"
                                  for i, row in zip(ids, vals)))


def read_msr3d(path: PathLike, *, fps: float = 15.0) -> SkeletonSequence:
    """Read an MSR Action3D skeleton file (20 rows ``x y z c`` per frame, MSR joint order) into ``kinect20``
    ``(T, 1, 20, 3)`` with ``confidence`` from ``c``.

    Raises:
        FormatError: a row without 4 numbers, a row count that is not a multiple of 20, a header that does
            not match the rows, confidences outside ``[0, 1]``.
    """
    path = Path(path)
    lines, numbers = _rows(path)
    header = None
    if lines and len(lines[0].split()) == 2:
        try:
            header = tuple(int(v) for v in lines[0].split())
        except ValueError:
            raise FormatError("header must be two integers (frames joints)", path=path, line=int(numbers[0])) from None
        lines, numbers = lines[1:], numbers[1:]
    if not lines:
        raise FormatError("no frames", path=path)
    rows = parse_rows(lines, 4, path=path, first_line=numbers, what="numbers (x y z c)")
    if len(rows) % 20:
        raise FormatError(f"{len(rows)} joint rows is not a multiple of 20 (20 joints per frame); the last "
                          f"frame is incomplete", path=path, line=int(numbers[-1]))
    t = len(rows) // 20
    if header is not None and (header[1] != 20 or header[0] != t):
        raise FormatError(f"header says {header[0]} frames x {header[1]} joints, the file has {t} frames x 20",
                          path=path, line=int(numbers[0]) - 1)
    conf = rows[:, 3]
    bad = np.flatnonzero((conf < 0) | (conf > 1))
    if bad.size:
        raise FormatError(f"confidence {conf[bad[0]]:g} outside [0, 1]", path=path, line=int(numbers[bad[0]]))
    joints = rows.reshape(t, 20, 4)[:, list(MSR3D_TO_KINECT20)]
    meta = {"source": str(path), "format": "msr3d", "joint_order_source": "MSR Action3D"}
    return SkeletonSequence(joints[None, ..., :3].transpose(1, 0, 2, 3).astype(np.float32), "kinect20", fps, meta,
                            confidence=joints[None, ..., 3].transpose(1, 0, 2).astype(np.float32))
