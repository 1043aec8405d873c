"""2-D COCO-17 keypoint JSON (the per-frame output of common top-down pose estimators).

Accepted document (``T`` frames, each a list of detected persons)::

    [                                   # or {"fps": 25, "frames": [...]}
      [ {"keypoints": [x0, y0, s0, x1, y1, s1, ..., x16, y16, s16], "track_id": 3}, ... ],   # frame 0
      {"persons": [ ... ]},             # a frame may also be a dict with "persons"/"people"/"instances"
      ...
    ]

``keypoints`` is a flat list of 51 numbers or a list of 17 ``[x, y, score]`` triples (``[x, y]`` pairs
mean score 1). Persons are matched across frames by ``track_id`` when every person has one, else by
their position in the frame's list. Result: ``coco17`` ``(T, M, 17, 2)`` pixel coordinates with
``confidence`` = scores ``(T, M, 17)``; absent persons are zeros with confidence 0.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from skelzoo.errors import FormatError
from skelzoo.io._parse import PathLike, check_fps, check_output_size, make_sequence, read_text
from skelzoo.io.sequence import SkeletonSequence

__all__ = ["read_keypoints_json", "write_keypoints_json"]

_V = 17
_MAX_PERSONS = 1000
_MAX_COORD = 1e9  # pixels


def _persons(frame: Any, f: int, path: Path) -> list[Any]:
    if isinstance(frame, dict):
        for key in ("persons", "people", "instances"):
            if key in frame:
                frame = frame[key]
                break
        else:
            raise FormatError(f"frame {f}: a dict frame needs 'persons', 'people' or 'instances'", path=path)
    if not isinstance(frame, list):
        raise FormatError(f"frame {f}: expected a list of persons, got {type(frame).__name__}", path=path)
    if len(frame) > _MAX_PERSONS:
        raise FormatError(f"frame {f}: {len(frame)} persons is implausible", path=path)
    return frame


def _keypoints(person: Any, f: int, path: Path) -> np.ndarray:
    if not isinstance(person, dict) or "keypoints" not in person:
        raise FormatError(f"frame {f}: each person must be an object with 'keypoints'", path=path)
    kp = person["keypoints"]
    try:
        arr = np.asarray(kp, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        raise FormatError(f"frame {f}: keypoints must be numbers", path=path) from None
    if arr.shape == (_V * 3,):
        arr = arr.reshape(_V, 3)
    elif arr.shape == (_V, 2):
        arr = np.concatenate([arr, np.ones((_V, 1))], axis=1)
    elif arr.shape != (_V, 3):
        raise FormatError(f"frame {f}: keypoints must be 51 numbers or 17 [x, y, score] triples, got shape "
                          f"{arr.shape}", path=path)
    if not np.isfinite(arr).all():
        raise FormatError(f"frame {f}: non-finite keypoint value", path=path)
    if (np.abs(arr[:, :2]) > _MAX_COORD).any():
        raise FormatError(f"frame {f}: keypoint coordinate out of range (|x| > {_MAX_COORD:g} pixels)", path=path)
    if ((arr[:, 2] < 0) | (arr[:, 2] > 1)).any():
        bad = float(arr[:, 2][(arr[:, 2] < 0) | (arr[:, 2] > 1)][0])
        raise FormatError(f"frame {f}: keypoint score {bad:g} is outside [0, 1]", path=path)
    return arr


def read_keypoints_json(path: PathLike, *, fps: float | None = None) -> SkeletonSequence:
    """Read a COCO-17 keypoint JSON (format in the module docstring) into ``(T, M, 17, 2)``.

    Raises:
        FormatError: invalid JSON (with its line), unexpected structure, wrong keypoint counts.
    """
    path = Path(path)
    text = read_text(path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(f"invalid JSON: {e.msg}", path=path, line=e.lineno) from None
    except (ValueError, RecursionError) as e:  # e.g. integers with too many digits, deep nesting
        raise FormatError(f"invalid JSON: {type(e).__name__}", path=path) from None
    rate = 30.0
    if isinstance(doc, dict):
        if "frames" not in doc:
            raise FormatError("a JSON object needs a 'frames' list", path=path)
        if "fps" in doc:
            if not isinstance(doc["fps"], (int, float)) or isinstance(doc["fps"], bool) or not doc["fps"] > 0:
                raise FormatError("'fps' must be a positive number", path=path)
            rate = check_fps(doc["fps"], path=path, what="'fps'")
        doc = doc["frames"]
    if not isinstance(doc, list) or not doc:
        raise FormatError("expected a non-empty list of frames", path=path)
    if fps is not None:
        fps = check_fps(fps, path=path, what="fps")
    frames = [_persons(fr, f, path) for f, fr in enumerate(doc)]
    tracked = all(isinstance(p, dict) and "track_id" in p for fr in frames for p in fr) and any(frames)
    slots: dict[Any, int] = {}
    entries: list[tuple[int, int, np.ndarray]] = []
    for f, fr in enumerate(frames):
        seen: set[Any] = set()
        for k, person in enumerate(fr):
            kp = _keypoints(person, f, path)
            if tracked:
                tid = person["track_id"]
                if not isinstance(tid, (int, str)) or isinstance(tid, bool):
                    raise FormatError(f"frame {f}: track_id must be an int or string", path=path)
                if tid in seen:
                    raise FormatError(f"frame {f}: track_id {str(tid)[:40]!r} occurs twice in one frame", path=path)
                seen.add(tid)
                k = slots.setdefault(tid, len(slots))
            entries.append((f, k, kp))
    m = max(1, max((k + 1 for _, k, _ in entries), default=1))
    if m > _MAX_PERSONS:
        raise FormatError(f"{m} tracks is implausible", path=path)
    check_output_size(len(frames) * m * _V * 3 * 4 * 2.0, path=path, what=f"{len(frames)} frames x {m} persons")
    out = np.zeros((len(frames), m, _V, 3), dtype=np.float32)
    if entries:
        fi = np.array([e[0] for e in entries])
        ki = np.array([e[1] for e in entries])
        out[fi, ki] = np.stack([e[2] for e in entries])
    meta: dict[str, Any] = {"source": str(path), "format": "keypoints_json"}
    if tracked:
        meta["track_ids"] = list(slots)
    return make_sequence(path, out[..., :2], "coco17", fps or rate, meta, confidence=out[..., 2])


def write_keypoints_json(seq: SkeletonSequence, path: PathLike) -> None:
    """Write a ``coco17`` sequence in the documented format (persons with zero confidence everywhere skipped)."""
    if seq.layout != "coco17" or seq.num_channels < 2:
        raise ValueError("write_keypoints_json needs a coco17 sequence with x, y channels")
    conf = seq.confidence if seq.confidence is not None else np.ones(seq.data.shape[:3], np.float32)
    xy = np.nan_to_num(seq.data[..., :2])
    kps = np.concatenate([xy, conf[..., None]], axis=-1).astype(np.float64)
    frames = [[{"keypoints": kps[f, m].ravel().tolist(), "track_id": m}
               for m in range(seq.num_persons) if conf[f, m].any()] for f in range(seq.num_frames)]
    Path(path).write_text(json.dumps({"fps": seq.fps, "frames": frames}))
