"""Shared helpers of the 2-D pose-estimator readers (OpenPose, MMPose, MediaPipe, YOLO-pose).

Every reader turns a file into per-frame lists of detected persons, each a ``(17, 3)`` ``coco17`` x, y,
score array (plus an optional track id), and :func:`assemble` stacks them into a ``coco17``
:class:`~skelzoo.io.sequence.SkeletonSequence` ``(T, M, 17, 2)`` with ``confidence`` ``(T, M, 17)``,
the way :mod:`skelzoo.io.keypoints_json` does: persons matched across frames by track id when every
person has one, else by their position in the frame; absent persons and missing points are zeros with
confidence 0.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Hashable, Sequence

import numpy as np

from skelzoo.errors import FormatError
from skelzoo.io._parse import PathLike, check_fps, check_output_size, make_sequence
from skelzoo.io.sequence import SkeletonSequence

V = 17
MAX_PERSONS = 1000
MAX_FRAMES = 10_000_000
MAX_PIXELS = 1e7
#: normalised formats: coordinates somewhat outside the image are allowed, absurd ones are not
MAX_NORMALISED = 100.0

Person = tuple[np.ndarray, Any]  # ((17, 3) x, y, score, track id or None)


def to_array(values: Any, *, path: PathLike, what: str) -> np.ndarray:
    """``values`` as a finite float64 array, else FormatError naming ``what``."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        raise FormatError(f"{what} must be numbers", path=path) from None
    if arr.dtype == object or not np.isfinite(arr).all():
        raise FormatError(f"{what}: non-finite or non-numeric value", path=path)
    return arr


def check_points(kp: np.ndarray, *, path: PathLike, what: str, normalised: bool, clip_scores: bool = False
                 ) -> np.ndarray:
    """Check a ``(17, 3)`` x, y, score array: coordinates in range, scores in ``[0, 1]`` (``clip_scores``:
    scores above 1, as RTMPose's SimCC writes, are clipped to 1; negative ones are still an error)."""
    lim = MAX_NORMALISED if normalised else MAX_PIXELS
    if (np.abs(kp[:, :2]) > lim).any():
        unit = "normalised units" if normalised else "pixels"
        raise FormatError(f"{what}: keypoint coordinate out of range (|x| > {lim:g} {unit})", path=path)
    s = kp[:, 2]
    if clip_scores:
        if (s < 0).any():
            raise FormatError(f"{what}: negative keypoint score {float(s[s < 0][0]):g}", path=path)
        kp = kp.copy()
        kp[:, 2] = np.minimum(s, 1.0)
    elif ((s < 0) | (s > 1)).any():
        bad = float(s[(s < 0) | (s > 1)][0])
        raise FormatError(f"{what}: keypoint score {bad:g} is outside [0, 1]", path=path)
    kp = kp.copy()
    kp[kp[:, 2] <= 0, :] = 0.0  # a missing point: zeros with confidence 0
    return kp


def subset(points: np.ndarray, index: Sequence[int]) -> np.ndarray:
    """``coco17`` ``(17, C)`` taken from a source layout's ``points`` ``(K, C)`` by ``index`` (17 source indices)."""
    return points[np.asarray(index)]


def frame_number(name: str) -> int | None:
    """The frame number of a per-frame file name: the last group of digits of its stem (``video_000000000012_
    keypoints.json`` -> 12, ``clip_37.txt`` -> 37), or None."""
    hits = re.findall(r"\d+", name)
    return int(hits[-1]) if hits else None


def assemble(frames: list[list[Person]], path: PathLike, fmt: str, *, fps: float | None, default_fps: float = 30.0,
             meta: dict[str, Any] | None = None) -> SkeletonSequence:
    """Stack per-frame persons into a ``coco17`` sequence ``(T, M, 17, 2)`` + confidence (module docstring)."""
    path = Path(path)
    if not frames:
        raise FormatError(f"no frames ({fmt})", path=path)
    if len(frames) > MAX_FRAMES:
        raise FormatError(f"{len(frames)} frames is implausible ({fmt})", path=path)
    rate = check_fps(fps, path=path, what="fps") if fps is not None else default_fps
    tracked = any(frames) and all(tid is not None for fr in frames for _, tid in fr)
    slots: dict[Hashable, int] = {}
    entries: list[tuple[int, int, np.ndarray]] = []
    for f, fr in enumerate(frames):
        if len(fr) > MAX_PERSONS:
            raise FormatError(f"frame {f}: {len(fr)} persons is implausible ({fmt})", path=path)
        seen: set[Hashable] = set()
        for k, (kp, tid) in enumerate(fr):
            if tracked:
                if tid in seen:
                    raise FormatError(f"frame {f}: track id {str(tid)[:40]!r} occurs twice in one frame ({fmt})",
                                      path=path)
                seen.add(tid)
                k = slots.setdefault(tid, len(slots))
            entries.append((f, k, kp))
    m = max(1, max((k + 1 for _, k, _ in entries), default=1))
    if m > MAX_PERSONS:
        raise FormatError(f"{m} tracks is implausible ({fmt})", path=path)
    check_output_size(len(frames) * m * V * 3 * 4 * 2.0, path=path, what=f"{len(frames)} frames x {m} persons")
    out = np.zeros((len(frames), m, V, 3), dtype=np.float32)
    if entries:
        fi = np.array([e[0] for e in entries])
        ki = np.array([e[1] for e in entries])
        out[fi, ki] = np.stack([e[2] for e in entries])
    info: dict[str, Any] = {"source": str(path), "format": fmt}
    if fps is None:
        info["fps_note"] = f"{fmt} files carry no frame rate: {default_fps:g} fps assumed (pass fps=)"
    if tracked:
        info["track_ids"] = list(slots)
    info.update(meta or {})
    return make_sequence(path, out[..., :2], "coco17", rate, info, confidence=out[..., 2])


def pixels(xy: np.ndarray, image_size: tuple[int, int] | None) -> np.ndarray:
    """Normalised ``(..., 2)`` coordinates to pixels when ``image_size`` = (width, height) is given."""
    if image_size is None:
        return xy
    w, h = image_size
    if not (w > 0 and h > 0):
        raise ValueError(f"image_size must be (width, height) > 0, got {image_size}")
    return xy * np.array([w, h], dtype=np.float64)


def coordinate_meta(image_size: tuple[int, int] | None) -> dict[str, Any]:
    """``meta`` entries saying whether coordinates are normalised ([0, 1] of the image) or pixels."""
    if image_size is None:
        return {"coordinates": "normalised",
                "coordinates_note": "x / image width, y / image height (aspect ratio unknown: pass image_size= "
                                    "to get pixels); the 'coco2d' normalisation removes the scale"}
    return {"coordinates": "pixels", "image_size": [int(image_size[0]), int(image_size[1])]}
