"""OpenPose ``--write_json`` output: a folder of per-frame ``*_keypoints.json`` files.

One file per frame, named ``<video>_<12-digit frame number>_keypoints.json``::

    {"version": 1.3,
     "people": [{"person_id": [-1],
                 "pose_keypoints_2d": [x0, y0, c0, x1, y1, c1, ...],
                 "face_keypoints_2d": [], "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": [], ...},
                ...]}

``pose_keypoints_2d`` holds ``K x 3`` numbers (pixels, confidence in ``[0, 1]``; an undetected point is
``0, 0, 0``). The model is told apart by the point count: **BODY_25** (K = 25, 75 numbers) or **COCO-18**
(K = 18, 54 numbers); anything else is a FormatError. Conversion to ``coco17`` (a subset, no midpoints;
OpenPose's ``Neck``, ``MidHip`` and foot points are dropped)::

    coco17:    nose LEye REye LEar REar LSho RSho LElb RElb LWri RWri LHip RHip LKne RKne LAnk RAnk
    BODY_25:      0   16   15   18   17    5    2    6    3    7    4   12    9   13   10   14   11
    COCO-18:      0   15   14   17   16    5    2    6    3    7    4   11    8   12    9   13   10

Frames are ordered by the frame number in the file name (the last group of digits before
``_keypoints``); frame numbers missing from the folder are frames without persons. Persons are matched
across frames by ``person_id`` when every person has one that is not -1 (OpenPose itself does not
track: its ``person_id`` is -1), else by their position in ``people``. A single ``*_keypoints.json``
file reads as a one-frame sequence. The frame rate is not stored (30 fps assumed; pass ``fps=``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from skelzoo.errors import FormatError
from skelzoo.io._parse import PathLike, read_text
from skelzoo.io._pose2d import Person, assemble, check_points, frame_number, subset, to_array
from skelzoo.io.sequence import SkeletonSequence

__all__ = ["read_openpose", "BODY25_TO_COCO17", "COCO18_TO_COCO17", "is_openpose_dir", "OPENPOSE_SUFFIX"]

BODY25_TO_COCO17 = (0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11)
COCO18_TO_COCO17 = (0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10)
_MODELS = {25: ("BODY_25", BODY25_TO_COCO17), 18: ("COCO-18", COCO18_TO_COCO17)}
OPENPOSE_SUFFIX = "_keypoints.json"
_MAX_FILES = 1_000_000


def is_openpose_dir(path: Path) -> bool:
    """Whether folder ``path`` holds OpenPose per-frame files (``*_keypoints.json``)."""
    try:
        return any(p.name.endswith(OPENPOSE_SUFFIX) for p in path.iterdir() if p.is_file())
    except OSError:
        return False


def _frame_persons(doc: Any, path: Path, models: set[str]) -> list[Person]:
    if not isinstance(doc, dict) or "people" not in doc:
        raise FormatError("an OpenPose frame must be a JSON object with a 'people' list", path=path)
    people = doc["people"]
    if not isinstance(people, list):
        raise FormatError("OpenPose 'people' must be a list", path=path)
    out: list[Person] = []
    for k, person in enumerate(people):
        if not isinstance(person, dict) or "pose_keypoints_2d" not in person:
            raise FormatError(f"person {k}: an OpenPose person needs 'pose_keypoints_2d'", path=path)
        arr = to_array(person["pose_keypoints_2d"], path=path, what=f"person {k}: pose_keypoints_2d")
        if arr.ndim != 1:
            raise FormatError(f"person {k}: pose_keypoints_2d must be a flat list of numbers", path=path)
        if arr.size == 0:
            continue  # body disabled / nothing detected
        if arr.size % 3 or arr.size // 3 not in _MODELS:
            raise FormatError(f"person {k}: pose_keypoints_2d has {arr.size} numbers; OpenPose BODY_25 has 75 "
                              "(25 x, y, c) and COCO-18 has 54 (18 x, y, c)", path=path)
        name, index = _MODELS[arr.size // 3]
        models.add(name)
        kp = check_points(subset(arr.reshape(-1, 3), index), path=path, what=f"person {k}", normalised=False)
        pid = person.get("person_id")
        if isinstance(pid, list) and len(pid) == 1:
            pid = pid[0]
        tid = pid if isinstance(pid, (int, str)) and not isinstance(pid, bool) and pid != -1 else None
        out.append((kp, tid))
    return out


def _load(path: Path) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(f"invalid JSON: {e.msg}", path=path, line=e.lineno) from None
    except (ValueError, RecursionError) as e:
        raise FormatError(f"invalid JSON: {type(e).__name__}", path=path) from None


def read_openpose(path: PathLike, *, fps: float | None = None) -> SkeletonSequence:
    """Read an OpenPose JSON folder (or one ``*_keypoints.json`` frame) into ``coco17`` ``(T, M, 17, 2)``
    pixels with ``confidence`` ``(T, M, 17)`` (format and conversion in the module docstring).

    Raises:
        FormatError: no frame files, invalid JSON, a point count other than BODY_25's / COCO-18's, both
            models mixed, scores outside ``[0, 1]``.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(OPENPOSE_SUFFIX))
        if not files:
            raise FormatError(f"no OpenPose frame files (*{OPENPOSE_SUFFIX}) in this folder", path=path)
        if len(files) > _MAX_FILES:
            raise FormatError(f"{len(files)} frame files is implausible", path=path)
        numbered = [(frame_number(f.name[:-len(OPENPOSE_SUFFIX)]), f) for f in files]
        if any(n is None for n, _ in numbered):
            bad = next(f for n, f in numbered if n is None)
            raise FormatError("an OpenPose frame file name must end in <frame number>_keypoints.json", path=bad)
        nums = [n for n, _ in numbered]
        if len(set(nums)) != len(nums):
            raise FormatError("two OpenPose files have the same frame number (several videos in one folder?)",
                              path=path)
        first, last = min(nums), max(nums)
        if last - first + 1 > 10 * len(nums) + 1000:
            raise FormatError(f"frame numbers {first}..{last} for {len(nums)} files: too sparse", path=path)
        frames: list[list[Person]] = [[] for _ in range(last - first + 1)]
        models: set[str] = set()
        for n, f in numbered:
            frames[n - first] = _frame_persons(_load(f), f, models)
    else:
        models = set()
        frames = [_frame_persons(_load(path), path, models)]
        first = frame_number(path.name[:-len(OPENPOSE_SUFFIX)]) if path.name.endswith(OPENPOSE_SUFFIX) else 0
        first = first or 0
    if len(models) > 1:
        raise FormatError("BODY_25 and COCO-18 frames mixed in one recording", path=path)
    meta = {"coordinates": "pixels", "openpose_model": next(iter(models), None), "first_frame": first}
    return assemble(frames, path, "openpose", fps=fps, meta=meta)
