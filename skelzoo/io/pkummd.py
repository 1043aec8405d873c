"""PKU-MMD skeleton files (``T x 150`` text) and action label files.

Skeleton file: one line per frame with 150 floats = person 1 (25 joints x ``x y z``, NTU order, metres)
followed by person 2 (75 zeros when absent). The sequence always has ``M = 2`` (the second person all
zeros where absent); ``meta["second_person"]`` is the boolean ``(T,)`` presence of person 2.

Label file: one action instance per line, ``class_id,start_frame,end_frame,confidence``; frames are
1-based and inclusive.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from skelzoo.errors import FormatError
from skelzoo.io._parse import PathLike, check_fps, make_sequence, parse_rows, read_text
from skelzoo.io.sequence import SkeletonSequence

__all__ = ["read_pkummd", "read_pkummd_labels", "pkummd_frame_labels", "PKUMMD_COLUMNS"]

PKUMMD_COLUMNS = 150


def _content_lines(text: str) -> tuple[list[str], np.ndarray]:
    """Non-blank lines and their 1-based line numbers (trailing blank lines are common)."""
    raw = text.splitlines()
    keep = [i for i, s in enumerate(raw) if s.strip()]
    return [raw[i] for i in keep], np.asarray(keep, dtype=np.int64) + 1


def read_pkummd(path: PathLike, *, fps: float = 30.0) -> SkeletonSequence:
    """Read a PKU-MMD skeleton ``.txt`` into a ``ntu25`` sequence ``(T, 2, 25, 3)``.

    Raises:
        FormatError: a line without exactly 150 numbers, non-finite values, empty file.
    """
    path = Path(path)
    fps = check_fps(fps, path=path, what="fps")
    lines, numbers = _content_lines(read_text(path))
    if not lines:
        raise FormatError("file has no frames", path=path)
    rows = parse_rows(lines, PKUMMD_COLUMNS, path=path, first_line=numbers, what="values (2 x 25 x xyz)")
    data = rows.reshape(len(lines), 2, 25, 3).astype(np.float32)
    meta = {"source": str(path), "format": "pkummd", "second_person": (data[:, 1] != 0).any(axis=(1, 2))}
    return make_sequence(path, data, "ntu25", fps, meta)


def read_pkummd_labels(path: PathLike) -> np.ndarray:
    """Read a PKU-MMD label file into an int64 ``(N, 4)`` array ``[class_id, start, end, confidence]``.

    Frames stay as in the file (1-based, inclusive). Fields are comma separated (whitespace around
    commas and a trailing comma are tolerated).

    Raises:
        FormatError: wrong field count, non-integer values, ``start > end`` or ``start < 1``.
    """
    path = Path(path)
    lines, numbers = _content_lines(read_text(path))
    cleaned = [s.strip().rstrip(",") for s in lines]
    rows = parse_rows(cleaned, 4, path=path, first_line=numbers, sep=",", what="label fields")
    if (rows != np.round(rows)).any():
        i = int(np.flatnonzero((rows != np.round(rows)).any(axis=1))[0])
        raise FormatError("label fields must be integers", path=path, line=int(numbers[i]))
    if (np.abs(rows) > 2**31).any():
        i = int(np.flatnonzero((np.abs(rows) > 2**31).any(axis=1))[0])
        raise FormatError("label value out of range", path=path, line=int(numbers[i]))
    lab = rows.astype(np.int64)
    bad = (lab[:, 1] < 1) | (lab[:, 2] < lab[:, 1]) | (lab[:, 0] < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise FormatError("need class_id >= 0 and 1 <= start <= end", path=path, line=int(numbers[i]))
    return lab


def pkummd_frame_labels(labels: np.ndarray, num_frames: int, *, background: int = 0) -> np.ndarray:
    """Per-frame int64 labels ``(num_frames,)`` from ``read_pkummd_labels`` rows.

    Frame ``n`` (0-based) gets ``class_id`` of the instance with ``start - 1 <= n <= end - 1``; frames of
    no instance get ``background``; a later line wins where instances overlap. Instances past
    ``num_frames`` are clipped.
    """
    out = np.full(num_frames, background, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1, 4)
    if len(labels) == 0 or num_frames == 0:
        return out
    n = np.arange(num_frames)
    inside = (n[None, :] >= labels[:, 1:2] - 1) & (n[None, :] <= labels[:, 2:3] - 1)  # (N, T)
    hit = inside.any(axis=0)
    last = len(labels) - 1 - np.argmax(inside[::-1], axis=0)  # last instance covering each frame
    out[hit] = labels[last[hit], 0]
    return out
