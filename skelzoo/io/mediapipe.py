"""MediaPipe Pose (BlazePose) landmarks: 33 points, x, y normalised to ``[0, 1]`` by the image width and
height, z (relative depth, unused), visibility in ``[0, 1]``.

MediaPipe writes no file itself; the two common exports are accepted:

- **CSV** (``.csv``): one row per frame; an optional header row (any names; recognised by its first field
  not being a number); then ``frame`` (integer) followed by the landmarks in MediaPipe order, per landmark
  ``x, y, z, visibility`` (133 columns), ``x, y, z`` (100 columns: visibility 1) or ``x, y, z, visibility,
  presence`` (166 columns). A row with only the frame number, or with empty landmark fields, is a frame
  without a detected person. Frames are ordered by the frame column; missing frame numbers are frames
  without a person. One person.
- **JSON** (``.json``): a list of frames, or ``{"fps": 30, "frames": [...]}``; a frame is a list of 33
  landmark objects ``{"x": .., "y": .., "z": .., "visibility": ..}`` (``presence`` optional), ``[]`` or
  ``null`` (no person), or an object with ``"landmarks"`` / ``"pose_landmarks"`` holding such a list, or a
  list of such lists (several persons: the Tasks API's ``num_poses > 1``, matched by position).

Conversion to ``coco17`` (subset; MediaPipe's left = the person's left, as COCO's)::

    coco17:    nose LEye REye LEar REar LSho RSho LElb RElb LWri RWri LHip RHip LKne RKne LAnk RAnk
    MediaPipe:    0    2    5    7    8   11   12   13   14   15   16   23   24   25   26   27   28

Score = visibility (times presence when given); a score of 0 is a missing point. Coordinates stay
normalised unless ``image_size=(width, height)`` is given (then pixels); ``meta["coordinates"]`` says
which. 30 fps assumed unless the JSON has ``fps`` or ``fps=`` is passed.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from skelzoo.errors import FormatError
from skelzoo.io._parse import PathLike, check_fps, read_text
from skelzoo.io._pose2d import (
    MAX_FRAMES,
    MAX_NORMALISED,
    Person,
    assemble,
    check_points,
    coordinate_meta,
    pixels,
    subset,
)
from skelzoo.io.sequence import SkeletonSequence

__all__ = ["read_mediapipe", "MEDIAPIPE_TO_COCO17", "is_mediapipe_doc", "is_mediapipe_csv_line"]

MEDIAPIPE_TO_COCO17 = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
_N = 33
_WIDTHS = {3: "x, y, z", 4: "x, y, z, visibility", 5: "x, y, z, visibility, presence"}


def _is_landmark_list(x: Any) -> bool:
    return isinstance(x, list) and len(x) == _N and all(isinstance(p, dict) and "x" in p for p in x)


def _frame_lists(fr: Any) -> Any:
    if isinstance(fr, dict):
        for key in ("pose_landmarks", "landmarks"):
            if key in fr:
                return fr[key]
    return fr


def is_mediapipe_doc(doc: Any) -> bool:
    """Whether a parsed JSON document looks like a MediaPipe landmark export (first frame with landmarks)."""
    frames = doc.get("frames") if isinstance(doc, dict) else doc
    if not isinstance(frames, list):
        return False
    for fr in frames[:1000]:
        lm = _frame_lists(fr)
        if lm in (None, []):
            continue
        return _is_landmark_list(lm) or (isinstance(lm, list) and bool(lm) and _is_landmark_list(lm[0]))
    return False


def is_mediapipe_csv_line(line: str) -> bool:
    """Whether the first line of a CSV is a MediaPipe export row or header (100, 133 or 166 fields)."""
    return len(line.split(",")) in (1 + _N * 3, 1 + _N * 4, 1 + _N * 5)


def _person(lms: Any, f: int, path: Path, image_size: tuple[int, int] | None) -> np.ndarray:
    what = f"frame {f}"
    if not _is_landmark_list(lms):
        raise FormatError(f"{what}: MediaPipe Pose needs a list of 33 landmark objects with 'x' and 'y'", path=path)
    rows = np.zeros((_N, 3))
    for i, p in enumerate(lms):
        try:
            vals = [p["x"], p["y"], p.get("visibility", 1.0), p.get("presence", 1.0)]
            if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in vals):
                raise TypeError
            x, y, vis, pres = (float(v) for v in vals)
        except (KeyError, TypeError, AttributeError, OverflowError):
            raise FormatError(f"{what}, landmark {i}: x, y (and visibility, presence) must be numbers",
                              path=path) from None
        if not np.isfinite([x, y, vis, pres]).all():
            raise FormatError(f"{what}, landmark {i}: non-finite value", path=path)
        if not (0 <= vis <= 1 and 0 <= pres <= 1):
            raise FormatError(f"{what}, landmark {i}: visibility/presence outside [0, 1]", path=path)
        rows[i] = (x, y, vis * pres)
    kp = check_points(subset(rows, MEDIAPIPE_TO_COCO17), path=path, what=what, normalised=True)
    kp[:, :2] = np.where(kp[:, 2:3] > 0, pixels(kp[:, :2], image_size), 0.0)
    return kp


def _read_json(path: Path, text: str, image_size: tuple[int, int] | None) -> tuple[list[list[Person]], float | None]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(f"invalid JSON: {e.msg}", path=path, line=e.lineno) from None
    except (ValueError, RecursionError) as e:
        raise FormatError(f"invalid JSON: {type(e).__name__}", path=path) from None
    rate = None
    if isinstance(doc, dict):
        if "frames" not in doc:
            raise FormatError("a MediaPipe JSON object needs a 'frames' list", path=path)
        if "fps" in doc:
            if not isinstance(doc["fps"], (int, float)) or isinstance(doc["fps"], bool):
                raise FormatError("'fps' must be a number", path=path)
            rate = check_fps(doc["fps"], path=path, what="'fps'")
        doc = doc["frames"]
    if not isinstance(doc, list) or not doc:
        raise FormatError("expected a non-empty list of MediaPipe frames", path=path)
    if len(doc) > MAX_FRAMES:
        raise FormatError(f"{len(doc)} frames is implausible", path=path)
    frames: list[list[Person]] = []
    for f, fr in enumerate(doc):
        lm = _frame_lists(fr)
        if lm is None or lm == []:
            frames.append([])
        elif isinstance(lm, list) and lm and isinstance(lm[0], list):
            frames.append([(_person(p, f, path, image_size), None) for p in lm if p])
        else:
            frames.append([(_person(lm, f, path, image_size), None)])
    return frames, rate


def _read_csv(path: Path, text: str, image_size: tuple[int, int] | None) -> list[list[Person]]:
    lines = [(i + 1, s.strip()) for i, s in enumerate(text.splitlines()) if s.strip()]
    if not lines:
        raise FormatError("empty MediaPipe CSV", path=path)
    first = lines[0][1].split(",")[0].strip()
    try:
        float(first)
    except ValueError:
        header = lines[0][1].split(",")
        lines = lines[1:]
        if len(header) not in (1 + _N * w for w in _WIDTHS):
            raise FormatError(f"MediaPipe CSV header has {len(header)} columns; expected frame + 33 x "
                              f"({' | '.join(_WIDTHS.values())}): 100, 133 or 166", path=path, line=1)
        width = (len(header) - 1) // _N
    else:
        width = None
    rows: dict[int, list[Person]] = {}
    for ln, s in lines:
        fields = [x.strip() for x in s.split(",")]
        try:
            fno = int(fields[0])
        except ValueError:
            raise FormatError(f"the first column must be the frame number (an integer), got {fields[0][:20]!r}",
                              path=path, line=ln) from None
        if not 0 <= fno < MAX_FRAMES:
            raise FormatError(f"frame number {fno} out of range", path=path, line=ln)
        if fno in rows:
            raise FormatError(f"frame {fno} occurs twice (one person per frame)", path=path, line=ln)
        vals = fields[1:]
        if not any(vals):
            rows[fno] = []
            continue
        w = len(vals) // _N
        if len(vals) % _N or w not in _WIDTHS or (width is not None and w != width):
            raise FormatError(f"{len(fields)} columns; a MediaPipe CSV row is frame + 33 x "
                              f"({' | '.join(_WIDTHS.values())})" + (f" = {1 + _N * width} as in the header"
                                                                     if width else ""), path=path, line=ln)
        width = w
        try:
            arr = np.array([float(v) for v in vals], dtype=np.float64).reshape(_N, w)
        except (ValueError, OverflowError):
            raise FormatError("landmark values must be numbers", path=path, line=ln) from None
        if not np.isfinite(arr).all():
            raise FormatError("non-finite landmark value", path=path, line=ln)
        score = np.ones(_N) if w == 3 else arr[:, 3] * (arr[:, 4] if w == 5 else 1.0)
        if w >= 4 and ((arr[:, 3:] < 0) | (arr[:, 3:] > 1)).any():
            raise FormatError("visibility/presence outside [0, 1]", path=path, line=ln)
        if (np.abs(arr[:, :2]) > MAX_NORMALISED).any():
            raise FormatError(f"landmark coordinate out of range (|x| > {MAX_NORMALISED:g}; MediaPipe x, y are "
                              "normalised to [0, 1])", path=path, line=ln)
        kp = subset(np.concatenate([arr[:, :2], score[:, None]], axis=1), MEDIAPIPE_TO_COCO17)
        kp = check_points(kp, path=path, what=f"line {ln}", normalised=True)
        kp[:, :2] = np.where(kp[:, 2:3] > 0, pixels(kp[:, :2], image_size), 0.0)
        rows[fno] = [(kp, None)]
    if not rows:
        raise FormatError("MediaPipe CSV without frames", path=path)
    lo, hi = min(rows), max(rows)
    if hi - lo + 1 > 10 * len(rows) + 1000:
        raise FormatError(f"frame numbers {lo}..{hi} for {len(rows)} rows: too sparse", path=path)
    return [rows.get(f, []) for f in range(lo, hi + 1)]


def read_mediapipe(path: PathLike, *, fps: float | None = None,
                   image_size: tuple[int, int] | None = None) -> SkeletonSequence:
    """Read a MediaPipe Pose CSV or JSON export (module docstring) into ``coco17`` ``(T, M, 17, 2)``
    (normalised, or pixels with ``image_size=(width, height)``) with ``confidence`` ``(T, M, 17)``.

    Raises:
        FormatError: not 33 landmarks, wrong column count, values not numbers or out of range.
    """
    path = Path(path)
    text = read_text(path)
    rate = None
    if text.lstrip()[:1] in "[{":
        frames, rate = _read_json(path, text, image_size)
    else:
        frames = _read_csv(path, text, image_size)
    meta = {"mediapipe": "33 landmarks -> coco17 subset", **coordinate_meta(image_size)}
    return assemble(frames, path, "mediapipe", fps=fps if fps is not None else rate, meta=meta)
