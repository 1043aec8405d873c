"""Write one ``coco17`` 2-D sequence in each pose estimator's output format (tests, examples, demos).

All take a ``coco17`` :class:`~skelzoo.io.sequence.SkeletonSequence` ``(T, M, 17, 2)`` in **pixels** with
``confidence`` ``(T, M, 17)`` (``None``: 1 where a point is non-zero); a point with confidence 0 is written
as that format's missing point, a person with confidence 0 everywhere in a frame is not written. The
readers of :mod:`skelzoo.io` give the same ``coco17`` sequence back (within the written precision;
normalised formats need ``image_size`` to come back to pixels). Points the formats have and COCO-17 does
not (OpenPose Neck/MidHip/feet, MediaPipe's other 16 landmarks) are written as missing, except OpenPose's
Neck and MidHip, which are the shoulder / hip midpoints when both are present (as OpenPose computes them).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from skelzoo.io._parse import PathLike
from skelzoo.io.mediapipe import MEDIAPIPE_TO_COCO17
from skelzoo.io.openpose import BODY25_TO_COCO17, COCO18_TO_COCO17
from skelzoo.io.sequence import SkeletonSequence

__all__ = ["write_openpose", "write_mmpose", "write_mediapipe_csv", "write_mediapipe_json", "write_yolo_pose"]


def _points(seq: SkeletonSequence) -> np.ndarray:
    """``(T, M, 17, 3)`` float64 x, y, score with missing points zeroed."""
    if seq.layout != "coco17" or seq.num_channels < 2:
        raise ValueError("the pose-estimator writers need a coco17 sequence with x, y channels")
    xy = np.nan_to_num(seq.data[..., :2].astype(np.float64))
    conf = seq.confidence if seq.confidence is not None else (xy != 0).any(-1).astype(np.float64)
    kp = np.concatenate([xy, np.asarray(conf, np.float64)[..., None]], axis=-1)
    kp[kp[..., 2] <= 0] = 0.0
    return kp


def _persons(kp: np.ndarray, f: int) -> list[int]:
    return [m for m in range(kp.shape[1]) if (kp[f, m, :, 2] > 0).any()]


def _r(x: float, nd: int = 3) -> float:
    return round(float(x), nd)


def write_openpose(seq: SkeletonSequence, folder: PathLike, *, model: str = "BODY_25", name: str = "video") -> None:
    """One ``<name>_<12-digit frame>_keypoints.json`` per frame (frames from 0) in ``folder`` (created),
    ``pose_keypoints_2d`` in the ``BODY_25`` (75 numbers) or ``COCO-18`` (54 numbers) order."""
    if model not in ("BODY_25", "COCO-18"):
        raise ValueError("model must be 'BODY_25' or 'COCO-18'")
    index, k = (BODY25_TO_COCO17, 25) if model == "BODY_25" else (COCO18_TO_COCO17, 18)
    kp = _points(seq)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for f in range(kp.shape[0]):
        people = []
        for m in _persons(kp, f):
            pts = np.zeros((k, 3))
            pts[list(index)] = kp[f, m]
            for dst, (a, b) in ((1, (5, 6)),) + (((8, (11, 12)),) if k == 25 else ()):
                if kp[f, m, a, 2] > 0 and kp[f, m, b, 2] > 0:
                    pts[dst] = (kp[f, m, a] + kp[f, m, b]) / 2
            people.append({"person_id": [-1], "pose_keypoints_2d": [_r(v) for v in pts.ravel()],
                           "face_keypoints_2d": [], "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": [],
                           "pose_keypoints_3d": [], "face_keypoints_3d": [], "hand_left_keypoints_3d": [],
                           "hand_right_keypoints_3d": []})
        (out / f"{name}_{f:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": people}))


def write_mmpose(seq: SkeletonSequence, path: PathLike) -> None:
    """MMPose video predictions (``meta_info`` + ``instance_info`` with ``frame_id`` from 1, 17 keypoints)."""
    kp = _points(seq)
    frames = []
    for f in range(kp.shape[0]):
        inst = []
        for m in _persons(kp, f):
            p = kp[f, m]
            ok = p[:, 2] > 0
            x1, y1 = p[ok, :2].min(0)
            x2, y2 = p[ok, :2].max(0)
            inst.append({"keypoints": [[_r(x), _r(y)] for x, y in p[:, :2]],
                         "keypoint_scores": [_r(s, 4) for s in p[:, 2]],
                         "bbox": [[_r(x1), _r(y1), _r(x2), _r(y2)]], "bbox_score": 0.9})
        frames.append({"frame_id": f + 1, "instances": inst})
    meta = {"dataset_name": "coco", "num_keypoints": 17, "keypoint_id2name": {
        str(i): n for i, n in enumerate(("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
                                         "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
                                         "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
                                         "right_ankle"))}}
    Path(path).write_text(json.dumps({"meta_info": meta, "instance_info": frames}))


def _landmarks(p: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """``(33, 4)`` x, y, z, visibility (normalised) of one coco17 person ``(17, 3)``."""
    w, h = image_size
    lm = np.zeros((33, 4))
    lm[list(MEDIAPIPE_TO_COCO17), 0] = p[:, 0] / w
    lm[list(MEDIAPIPE_TO_COCO17), 1] = p[:, 1] / h
    lm[list(MEDIAPIPE_TO_COCO17), 3] = p[:, 2]
    return lm


def write_mediapipe_csv(seq: SkeletonSequence, path: PathLike, *, image_size: tuple[int, int]) -> None:
    """MediaPipe CSV: header, then ``frame`` + 33 x (x, y, z, visibility) per frame (person 0 only; normalised
    by ``image_size`` = (width, height)); frames without person 0 have only the frame number."""
    kp = _points(seq)
    head = ["frame"] + [f"{c}{i}" for i in range(33) for c in ("x", "y", "z", "visibility")]
    rows = [",".join(head)]
    for f in range(kp.shape[0]):
        if not (kp[f, 0, :, 2] > 0).any():
            rows.append(str(f))
            continue
        lm = _landmarks(kp[f, 0], image_size)
        rows.append(",".join([str(f)] + [f"{v:.6f}" for v in lm.ravel()]))
    Path(path).write_text("\n".join(rows) + "\n")


def write_mediapipe_json(seq: SkeletonSequence, path: PathLike, *, image_size: tuple[int, int]) -> None:
    """MediaPipe JSON: ``{"fps": .., "frames": [{"pose_landmarks": [[33 x {x, y, z, visibility}], ...]}]}``."""
    kp = _points(seq)
    frames: list[Any] = []
    for f in range(kp.shape[0]):
        persons = []
        for m in _persons(kp, f):
            lm = _landmarks(kp[f, m], image_size)
            persons.append([{"x": _r(a, 6), "y": _r(b, 6), "z": 0.0, "visibility": _r(v, 4)} for a, b, _, v in lm])
        frames.append({"pose_landmarks": persons})
    Path(path).write_text(json.dumps({"fps": seq.fps, "frames": frames}))


def write_yolo_pose(seq: SkeletonSequence, folder: PathLike, *, image_size: tuple[int, int],
                    name: str = "video", save_conf: bool = True) -> None:
    """Ultralytics ``save_txt`` labels: ``<name>_<frame>.txt`` (frames from 1, no file for a frame without
    persons), one line ``0 cx cy w h`` + 17 x ``x y v`` (+ ``conf``) per person, normalised by ``image_size``."""
    kp = _points(seq)
    w, h = image_size
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for f in range(kp.shape[0]):
        lines = []
        for m in _persons(kp, f):
            p = kp[f, m].copy()
            ok = p[:, 2] > 0
            lo, hi = p[ok, :2].min(0), p[ok, :2].max(0)
            box = [(lo[0] + hi[0]) / 2 / w, (lo[1] + hi[1]) / 2 / h, (hi[0] - lo[0]) / w, (hi[1] - lo[1]) / h]
            p[:, 0] /= w
            p[:, 1] /= h
            vals = ["0"] + [f"{v:.6f}" for v in box] + [f"{v:.6f}" for v in p.ravel()]
            if save_conf:
                vals.append("0.900000")
            lines.append(" ".join(vals))
        if lines:
            (out / f"{name}_{f + 1}.txt").write_text("\n".join(lines) + "\n")
