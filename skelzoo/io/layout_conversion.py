"""Layout conversion: other skeletons -> NTU-25 (``ntu25`` / ``ntu25_pyskl``).

Every mapping is a linear map: each target joint is a weighted sum of source joints (most are a single
joint, some are means, e.g. NTU SpineBase = mean of the hips for OpenNI and COCO). Target joints the
source does not have (hand tips and thumbs of mocap rigs, Kinect v1 ...) are either copied from a named
target neighbour (``fill="neighbour"``, e.g. HandTipLeft <- HandLeft) or set to ``NaN`` and marked in
``meta["missing"]`` (``fill="missing"``). Source joints that are missing propagate to every target
joint that uses them. Confidence of a target joint = minimum over its source joints.

Sources (tables from ``formats.md``): ``kinect20``, ``openni15``, ``coco17`` (approximate 2-D mapping:
prefer COCO-trained models), ``bvh_bandai``, ``bvh_cmu`` (and any unregistered ``"bvh"`` rig whose joint
names contain the names one of those tables uses), ``smplh73`` (BABEL ``joint_pos`` features: 52 SMPL-H
joints + 21 extra vertex joints ``extra_52`` .. ``extra_72``). Axes and units are not changed (BVH
readers already give metres; SMPL-H data is Z-up, see :func:`zup_to_yup`).
"""
from __future__ import annotations

from typing import Literal, Mapping, Sequence, Union

import numpy as np

from skelzoo.io.sequence import SkeletonSequence
from skelzoo.layouts import SMPLH73_JOINTS, get_layout

__all__ = ["convert_layout", "conversion_matrix", "available_conversions", "zup_to_yup", "SMPLH73_JOINTS"]

# Recipe per NTU joint (1-based NTU numbers as keys): a source name, a tuple of names (mean), or a dict
# {name: weight}. NTU joints absent from a table are missing; _NEIGHBOUR gives their fill joint.
Recipe = Union[str, tuple[str, ...], dict[str, float]]
_NEIGHBOUR = {3: 21, 8: 7, 12: 11, 16: 15, 20: 19, 22: 8, 23: 8, 24: 12, 25: 12, 1: 2, 2: 1, 21: 3}

_KINECT20: dict[int, Recipe] = {k: get_layout("kinect20").joints[k - 1] for k in [1, 2] + list(range(4, 21))}
_KINECT20.update({21: "ShoulderCenter", 3: "ShoulderCenter"})
_OPENNI15: dict[int, Recipe] = {
    4: "Head", 3: "Neck", 21: "Neck", 2: "Torso", 1: ("LeftHip", "RightHip"),
    5: "LeftShoulder", 6: "LeftElbow", 7: "LeftHand", 8: "LeftHand",
    9: "RightShoulder", 10: "RightElbow", 11: "RightHand", 12: "RightHand",
    13: "LeftHip", 14: "LeftKnee", 15: "LeftFoot", 16: "LeftFoot",
    17: "RightHip", 18: "RightKnee", 19: "RightFoot", 20: "RightFoot",
}
_COCO17: dict[int, Recipe] = {
    4: "nose", 1: ("left_hip", "right_hip"), 21: ("left_shoulder", "right_shoulder"),
    2: {"left_hip": 0.25, "right_hip": 0.25, "left_shoulder": 0.25, "right_shoulder": 0.25},
    3: {"left_shoulder": 0.25, "right_shoulder": 0.25, "nose": 0.5},
    5: "left_shoulder", 6: "left_elbow", 7: "left_wrist", 8: "left_wrist",
    9: "right_shoulder", 10: "right_elbow", 11: "right_wrist", 12: "right_wrist",
    13: "left_hip", 14: "left_knee", 15: "left_ankle", 16: "left_ankle",
    17: "right_hip", 18: "right_knee", 19: "right_ankle", 20: "right_ankle",
}
_BANDAI: dict[int, Recipe] = {1: "Hips", 2: "Spine", 21: "Chest", 3: "Neck", 4: "Head"}
_CMU: dict[int, Recipe] = {1: "Hips", 2: "Spine", 21: "Spine1", 3: "Neck1", 4: "Head"}
for _s, _l, _base in (("L", "Left", 0), ("R", "Right", 4)):
    _BANDAI.update({5 + _base: f"UpperArm_{_s}", 6 + _base: f"LowerArm_{_s}", 7 + _base: f"Hand_{_s}",
                    8 + _base: f"Hand_{_s}_End", 13 + _base: f"UpperLeg_{_s}", 14 + _base: f"LowerLeg_{_s}",
                    15 + _base: f"Foot_{_s}", 16 + _base: f"Toes_{_s}"})
    _CMU.update({5 + _base: f"{_l}Arm", 6 + _base: f"{_l}ForeArm", 7 + _base: f"{_l}Hand",
                 8 + _base: f"{_s}Fingers", 13 + _base: f"{_l}UpLeg", 14 + _base: f"{_l}Leg",
                 15 + _base: f"{_l}Foot", 16 + _base: f"{_l}ToeBase"})
    _CMU.update({(22 if _s == "L" else 24): f"{_s}Fingers_End", (23 if _s == "L" else 25): f"{_s}Thumb_End"})
_SMPLH_IDX = (0, 3, 12, 15, 16, 18, 20, 22, 17, 19, 21, 37, 1, 4, 7, 10, 2, 5, 8, 11, 9, 63, 64, 68, 69)
_SMPLH: dict[int, Recipe] = {k + 1: SMPLH73_JOINTS[i] for k, i in enumerate(_SMPLH_IDX)}

_TABLES: dict[str, dict[int, Recipe]] = {
    "kinect20": _KINECT20, "openni15": _OPENNI15, "coco17": _COCO17, "bvh_bandai": _BANDAI,
    "bvh_cmu": _CMU, "smplh73": _SMPLH,
}
_ALIASES = {"LFingers": "LeftHandIndex1", "RFingers": "RightHandIndex1",
            "LFingers_End": "LeftHandIndex1_End", "RFingers_End": "RightHandIndex1_End"}
_TARGETS = ("ntu25", "ntu25_pyskl")


def available_conversions() -> dict[str, tuple[str, ...]]:
    """Source layout -> target layouts :func:`convert_layout` supports."""
    return {src: _TARGETS for src in _TABLES}


def _resolve(name: str, names: Sequence[str]) -> int | None:
    for cand in (name, _ALIASES.get(name)):
        if cand is not None and cand in names:
            return list(names).index(cand)
    return None


def _table_for(seq: SkeletonSequence) -> tuple[str, dict[int, Recipe]]:
    if seq.layout in _TABLES:
        return seq.layout, _TABLES[seq.layout]
    names = seq.joint_names
    for key in ("bvh_bandai", "bvh_cmu"):  # unregistered rigs: match by joint names
        table = _TABLES[key]
        needed = [n for r in table.values() for n in ([r] if isinstance(r, str) else list(r))]
        if all(_resolve(n, names) is not None for n in needed):
            return key, table
    raise ValueError(f"no conversion from layout {seq.layout!r} to NTU-25; convertible layouts: "
                     f"{', '.join(sorted(_TABLES))} (and BVH rigs with Bandai or CMU joint names)")


def conversion_matrix(source_names: Sequence[str], table: Mapping[int, Recipe]) -> np.ndarray:
    """``(25, V_source)`` weight matrix of a table; rows of missing NTU joints are all zero."""
    w = np.zeros((25, len(source_names)))
    for ntu, recipe in table.items():
        parts = ({recipe: 1.0} if isinstance(recipe, str) else
                 {n: 1.0 / len(recipe) for n in recipe} if isinstance(recipe, tuple) else dict(recipe))
        idx = {n: _resolve(n, source_names) for n in parts}
        if any(i is None for i in idx.values()):
            continue  # e.g. a CMU variant without thumbs: the NTU joint becomes missing
        for n, weight in parts.items():
            w[ntu - 1, idx[n]] += weight
    return w


def convert_layout(seq: SkeletonSequence, target: str = "ntu25", *,
                   fill: Literal["neighbour", "missing"] = "neighbour") -> SkeletonSequence:
    """Convert ``seq`` to ``target`` (``ntu25`` or ``ntu25_pyskl``): ``(T, M, V, C) -> (T, M, 25, C)``.

    Args:
        seq: the source sequence (any layout of :func:`available_conversions`, or already NTU-25).
        target: target layout name.
        fill: ``"neighbour"`` copies each joint the source lacks from a target neighbour (hand tips and
            thumbs from the hand, ...); ``"missing"`` sets them to NaN and marks them in ``meta["missing"]``.

    Raises:
        ValueError: unknown target, or no mapping from the source layout.
    """
    if target not in _TARGETS:
        raise ValueError(f"cannot convert to {target!r}; targets: {', '.join(_TARGETS)}")
    if fill not in ("neighbour", "missing"):
        raise ValueError(f"fill must be 'neighbour' or 'missing', got {fill!r}")
    if seq.layout in _TARGETS:
        return seq.replace(layout=target)
    key, table = _table_for(seq)
    w = conversion_matrix(seq.joint_names, table)
    used = w != 0
    src_missing = seq.missing | np.isnan(seq.data).any(-1)
    absent = ~used.any(axis=1)
    if fill == "neighbour":
        for _ in range(3):  # neighbours of neighbours (e.g. a tip whose hand is missing too)
            for j in np.flatnonzero(absent):
                nb = _NEIGHBOUR.get(j + 1)
                if nb is not None and not absent[nb - 1]:
                    w[j], used[j], absent[j] = w[nb - 1], used[nb - 1], False
    data = np.einsum("tmvc,uv->tmuc", np.nan_to_num(seq.data), w)
    out_missing = (src_missing.astype(np.float64) @ used.T.astype(np.float64)) > 0
    out_missing |= absent[None, None, :]
    data[out_missing] = np.nan
    meta = {k: v for k, v in seq.meta.items() if k not in ("joint_names", "parents", "offsets", "channels", "missing")}
    meta["converted_from"] = seq.layout if seq.layout != "bvh" else f"bvh ({key} names)"
    if out_missing.any():
        meta["missing"] = out_missing
    for k in ("tracking_state", "depth_xy", "color_xy", "orientation"):
        meta.pop(k, None)  # per-joint extras of the source layout do not survive conversion
    conf = None
    if seq.confidence is not None:
        c = np.where(used[None, None], seq.confidence[:, :, None, :], np.inf).min(axis=-1)
        conf = np.where(np.isfinite(c) & ~out_missing, c, 0.0).astype(np.float32)
    return SkeletonSequence(data.astype(np.float32), target, seq.fps, meta, conf)


def zup_to_yup(data: np.ndarray) -> np.ndarray:
    """Rotate Z-up coordinates (AMASS/SMPL-H) to Y-up: ``(x, y, z) -> (x, z, -y)``; shape ``(..., 3)``."""
    data = np.asarray(data)
    return np.stack([data[..., 0], data[..., 2], -data[..., 1]], axis=-1)
