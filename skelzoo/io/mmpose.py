"""MMPose 1.x / RTMPose prediction JSON.

Two forms are accepted:

- **video predictions** (``demo/topdown_demo_with_mmdet.py --save-predictions``)::

      {"meta_info": {"dataset_name": "coco", "keypoint_id2name": {...}, ...},
       "instance_info": [{"frame_id": 1, "instances": [
            {"keypoints": [[x, y], ... K], "keypoint_scores": [s, ... K],
             "bbox": [[x1, y1, x2, y2]], "bbox_score": 0.98}, ...]}, ...]}

  ``frame_id`` orders the frames (missing ids are frames without persons; without ``frame_id`` the list
  order is used).
- **inferencer predictions** (``MMPoseInferencer(...)`` / ``demo/inferencer_demo.py --pred-out-dir``): for a
  video, a list of frames ``[{"frame_id": 0, "instances": [...]}, ...]`` (read like ``instance_info``); for an
  image, a list of instances ``[{"keypoints": [[x, y], ...], "keypoint_scores": [...], "bbox": ..., ...}, ...]``:
  a one-frame sequence.

``K`` must be at least 17: COCO-17 models (RTMPose, HRNet, ...) give 17 points; Halpe-26 and
COCO-WholeBody-133 start with the same 17 body points in the same order, and only those are kept.
Pixel coordinates. RTMPose's SimCC scores can exceed 1: they are clipped to 1 (negative scores are an
error); a point with score 0 is missing. An instance's ``track_id`` (when every instance has one) matches
persons across frames, else their position in ``instances``. 30 fps assumed (pass ``fps=``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from skelzoo.errors import FormatError
from skelzoo.io._parse import PathLike, read_text
from skelzoo.io._pose2d import MAX_FRAMES, Person, V, assemble, check_points, to_array
from skelzoo.io.sequence import SkeletonSequence

__all__ = ["read_mmpose", "is_mmpose_doc"]


def is_mmpose_doc(doc: Any) -> bool:
    """Whether a parsed JSON document looks like MMPose predictions (either form)."""
    if isinstance(doc, dict):
        return "instance_info" in doc
    if isinstance(doc, list) and doc and all(isinstance(x, dict) for x in doc[:5]):
        if "instances" in doc[0] and "frame_id" in doc[0]:  # the inferencer's video form: a list of frames
            return True
        return "keypoint_scores" in doc[0] and "keypoints" in doc[0]
    return False


def _instance(inst: Any, f: int, k: int, path: Path) -> Person:
    what = f"frame {f}, instance {k}"
    if not isinstance(inst, dict) or "keypoints" not in inst:
        raise FormatError(f"{what}: an MMPose instance needs 'keypoints' (and 'keypoint_scores')", path=path)
    xy = to_array(inst["keypoints"], path=path, what=f"{what}: keypoints")
    if xy.ndim != 2 or xy.shape[1] not in (2, 3) or xy.shape[0] < V:
        raise FormatError(f"{what}: MMPose keypoints must be K >= 17 [x, y] pairs (COCO-17 body first), got shape "
                          f"{xy.shape}", path=path)
    if "keypoint_scores" in inst:
        s = to_array(inst["keypoint_scores"], path=path, what=f"{what}: keypoint_scores")
        if s.shape != (xy.shape[0],):
            raise FormatError(f"{what}: {s.size} keypoint_scores for {xy.shape[0]} keypoints", path=path)
    elif xy.shape[1] == 3:
        s = xy[:, 2]
    else:
        s = np.ones(xy.shape[0])
    kp = np.concatenate([xy[:V, :2], s[:V, None]], axis=1)
    kp = check_points(kp, path=path, what=what, normalised=False, clip_scores=True)
    tid = inst.get("track_id")
    tid = tid if isinstance(tid, (int, str)) and not isinstance(tid, bool) else None
    return kp, tid


def _instances(lst: Any, f: int, path: Path) -> list[Person]:
    if not isinstance(lst, list):
        raise FormatError(f"frame {f}: 'instances' must be a list", path=path)
    return [_instance(inst, f, k, path) for k, inst in enumerate(lst)]


def read_mmpose(path: PathLike, *, fps: float | None = None) -> SkeletonSequence:
    """Read MMPose / RTMPose predictions (either form of the module docstring) into ``coco17``
    ``(T, M, 17, 2)`` pixels with ``confidence`` ``(T, M, 17)``.

    Raises:
        FormatError: invalid JSON, neither form, fewer than 17 keypoints, score/keypoint count mismatch.
    """
    path = Path(path)
    text = read_text(path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(f"invalid JSON: {e.msg}", path=path, line=e.lineno) from None
    except (ValueError, RecursionError) as e:
        raise FormatError(f"invalid JSON: {type(e).__name__}", path=path) from None
    meta: dict[str, Any] = {"coordinates": "pixels"}
    if isinstance(doc, list) and doc and isinstance(doc[0], dict) and "instances" in doc[0]:
        doc = {"instance_info": doc}  # MMPoseInferencer on a video: the frames without meta_info
    if isinstance(doc, dict):
        info = doc.get("instance_info")
        if not isinstance(info, list):
            raise FormatError("MMPose predictions need an 'instance_info' list of frames", path=path)
        mi = doc.get("meta_info")
        if isinstance(mi, dict) and isinstance(mi.get("dataset_name"), str):
            meta["mmpose_dataset"] = mi["dataset_name"][:100]
        ids: list[int] = []
        per: list[list[Person]] = []
        for f, fr in enumerate(info):
            if not isinstance(fr, dict) or "instances" not in fr:
                raise FormatError(f"frame {f}: an instance_info entry needs 'instances'", path=path)
            fid = fr.get("frame_id", f)
            if not isinstance(fid, int) or isinstance(fid, bool) or not 0 <= fid < MAX_FRAMES:
                raise FormatError(f"frame {f}: frame_id must be an integer in [0, {MAX_FRAMES})", path=path)
            ids.append(fid)
            per.append(_instances(fr["instances"], f, path))
        if not per:
            raise FormatError("MMPose predictions without frames", path=path)
        if len(set(ids)) != len(ids):
            raise FormatError("MMPose frame_id occurs twice", path=path)
        first, last = min(ids), max(ids)
        if last - first + 1 > 10 * len(ids) + 1000:
            raise FormatError(f"frame ids {first}..{last} for {len(ids)} frames: too sparse", path=path)
        frames: list[list[Person]] = [[] for _ in range(last - first + 1)]
        for fid, persons in zip(ids, per):
            frames[fid - first] = persons
        meta["first_frame"] = first
    elif isinstance(doc, list):
        frames = [_instances(doc, 0, path)]
    else:
        raise FormatError("expected MMPose predictions: an object with 'instance_info' or a list of instances",
                          path=path)
    return assemble(frames, path, "mmpose", fps=fps, meta=meta)
