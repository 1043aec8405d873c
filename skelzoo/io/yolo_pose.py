"""Ultralytics YOLO-pose predictions saved with ``save_txt=True``: a folder of per-frame ``.txt`` labels.

One file per frame with at least one detection (``<video>_<frame>.txt``; frames without a detection have
no file), one line per person::

    class cx cy w h  x0 y0 v0  x1 y1 v1 ... x16 y16 v16  [conf] [track_id]

box and keypoints normalised to ``[0, 1]`` by the image width and height, 17 keypoints in COCO-17 order
(so no conversion: ``coco17`` as is), each ``x y v`` (``v`` = keypoint confidence) or ``x y`` (score 1).
Accepted field counts: 56 (17 x 3), 57 (+ ``conf`` with ``save_conf=True``, or + a track id), 58 (+ both);
39, 40, 41 likewise for ``x y`` keypoints. In 57 / 40 a trailing integer > 1 is read as a track id,
anything else as the confidence. Persons are matched across frames by track id when every line has one,
else by line order. A keypoint at ``0 0`` or with ``v = 0`` is missing.

Frames: the number at the end of each file name (``clip_12.txt`` -> 12; ultralytics counts video frames
from 1); the sequence spans frame 1 (or 0 when a ``_0`` file exists) to the largest number, files absent in
between are frames without a person. A single ``.txt`` file reads as one frame. Coordinates stay normalised
unless ``image_size=(width, height)`` is given; ``meta["coordinates"]`` says which. 30 fps assumed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from skelzoo.errors import FormatError
from skelzoo.io._parse import PathLike, read_text
from skelzoo.io._pose2d import MAX_NORMALISED, Person, V, assemble, check_points, coordinate_meta, frame_number, pixels
from skelzoo.io.sequence import SkeletonSequence

__all__ = ["read_yolo_pose", "is_yolo_pose_line", "is_yolo_pose_dir", "YOLO_FIELD_COUNTS"]

#: accepted fields per line -> (values per keypoint, trailing extra fields)
YOLO_FIELD_COUNTS = {5 + V * 3: (3, 0), 5 + V * 3 + 1: (3, 1), 5 + V * 3 + 2: (3, 2),
                     5 + V * 2: (2, 0), 5 + V * 2 + 1: (2, 1), 5 + V * 2 + 2: (2, 2)}
_MAX_FILES = 1_000_000


def is_yolo_pose_line(line: str) -> bool:
    """Whether ``line`` looks like a YOLO-pose label line (an integer class, then 38-57 numbers)."""
    fields = line.split()
    if len(fields) not in YOLO_FIELD_COUNTS or not fields[0].isdigit():
        return False
    try:
        [float(f) for f in fields[1:6]]
    except ValueError:
        return False
    return True


def is_yolo_pose_dir(path: Path) -> bool:
    """Whether folder ``path`` holds YOLO-pose ``.txt`` labels (judged by the first non-empty file)."""
    try:
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".txt")
    except OSError:
        return False
    for f in files[:20]:
        try:
            head = f.read_bytes()[:4096].decode("utf-8", errors="replace")
        except OSError:
            return False
        line = next((s for s in head.splitlines() if s.strip()), None)
        if line is not None:
            return is_yolo_pose_line(line)
    return False


def _lines(path: Path, image_size: tuple[int, int] | None) -> list[Person]:
    out: list[Person] = []
    for ln, s in enumerate(read_text(path).splitlines(), 1):
        fields = s.split()
        if not fields:
            continue
        if len(fields) not in YOLO_FIELD_COUNTS:
            raise FormatError(f"{len(fields)} fields; a YOLO-pose line is class, cx, cy, w, h, then 17 x (x y v) "
                              "or 17 x (x y), optionally conf and track id (56-58 or 39-41 fields)", path=path,
                              line=ln)
        try:
            vals = np.array([float(f) for f in fields], dtype=np.float64)
        except (ValueError, OverflowError):
            raise FormatError("YOLO-pose fields must be numbers", path=path, line=ln) from None
        if not np.isfinite(vals).all():
            raise FormatError("non-finite value", path=path, line=ln)
        per, extra = YOLO_FIELD_COUNTS[len(fields)]
        kp = vals[5:5 + V * per].reshape(V, per)
        if (np.abs(vals[1:5]) > MAX_NORMALISED).any() or (np.abs(kp[:, :2]) > MAX_NORMALISED).any():
            raise FormatError("coordinate out of range (YOLO-pose coordinates are normalised to [0, 1])", path=path,
                              line=ln)
        score = kp[:, 2] if per == 3 else np.ones(V)
        score = np.where((kp[:, 0] == 0) & (kp[:, 1] == 0), 0.0, score)
        tail = vals[5 + V * per:]
        tid = None
        if extra == 2:
            tid = tail[1]
        elif extra == 1 and tail[0] > 1 and float(tail[0]).is_integer():
            tid = tail[0]
        if tid is not None:
            if not float(tid).is_integer() or tid < 0:
                raise FormatError(f"track id {tid:g} must be a non-negative integer", path=path, line=ln)
            tid = int(tid)
        arr = check_points(np.concatenate([kp[:, :2], score[:, None]], axis=1), path=path, what=f"line {ln}",
                           normalised=True)
        arr[:, :2] = np.where(arr[:, 2:3] > 0, pixels(arr[:, :2], image_size), 0.0)
        out.append((arr, tid))
    return out


def read_yolo_pose(path: PathLike, *, fps: float | None = None,
                   image_size: tuple[int, int] | None = None) -> SkeletonSequence:
    """Read a folder of YOLO-pose ``.txt`` labels (or one file) into ``coco17`` ``(T, M, 17, 2)`` (normalised,
    or pixels with ``image_size=(width, height)``) with ``confidence`` ``(T, M, 17)``.

    Raises:
        FormatError: no label files, a file name without frame number, a line with an unexpected field
            count or non-numeric / out-of-range values, a track id twice in one frame.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".txt")
        if not files:
            raise FormatError("no YOLO-pose label files (*.txt) in this folder", path=path)
        if len(files) > _MAX_FILES:
            raise FormatError(f"{len(files)} label files is implausible", path=path)
        numbered = [(frame_number(f.stem), f) for f in files]
        for n, f in numbered:
            if n is None:
                raise FormatError("a YOLO-pose label file name must end in _<frame number>.txt", path=f)
        nums = [n for n, _ in numbered]
        if len(set(nums)) != len(nums):
            raise FormatError("two label files have the same frame number (several videos in one folder?)",
                              path=path)
        first, last = min(min(nums), 1), max(nums)
        if last - first + 1 > 10 * len(nums) + 1000:
            raise FormatError(f"frame numbers {first}..{last} for {len(nums)} files: too sparse", path=path)
        frames: list[list[Person]] = [[] for _ in range(last - first + 1)]
        for n, f in numbered:
            frames[n - first] = _lines(f, image_size)
    else:
        first = 0
        frames = [_lines(path, image_size)]
    meta = {"first_frame": first, **coordinate_meta(image_size)}
    return assemble(frames, path, "yolo_pose", fps=fps, meta=meta)
