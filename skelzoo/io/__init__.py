"""Skeleton file readers and writers.

:func:`read_skeleton` reads any supported skeleton file into a :class:`SkeletonSequence`
(``data`` float32 ``(T, M, V, C)``); the format comes from the extension or the content (see
:mod:`skelzoo.io.detect`). Annotation files have their own readers (:func:`read_pkummd_labels`,
:func:`read_babel`). Every reader raises :class:`skelzoo.errors.FormatError` (naming the file and, where
known, the line) for malformed input.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from skelzoo.errors import FormatError
from skelzoo.io._parse import FPS_RANGE, PathLike, preloaded
from skelzoo.io.babel import BabelAnnotation, BabelSegment, babel_frame_labels, load_babel_categories, read_babel
from skelzoo.io.bvh import read_bvh
from skelzoo.io.detect import FORMATS, RECORDING_SUFFIXES, detect_format, find_recordings
from skelzoo.io.keypoints_json import read_keypoints_json, write_keypoints_json
from skelzoo.io.kinect_csv import read_kinect_csv, write_kinect_csv
from skelzoo.io.kinect_v1 import read_kinect_v1, read_msr3d, write_kinect_v1
from skelzoo.io.layout_conversion import available_conversions, convert_layout, zup_to_yup
from skelzoo.io.mediapipe import read_mediapipe
from skelzoo.io.mmpose import read_mmpose
from skelzoo.io.ntu import read_ntu_skeleton, write_ntu_skeleton
from skelzoo.io.numpy_io import read_numpy, write_npz
from skelzoo.io.openpose import read_openpose
from skelzoo.io.pkummd import pkummd_frame_labels, read_pkummd, read_pkummd_labels
from skelzoo.io.sequence import FRAME_META_KEYS, SkeletonSequence
from skelzoo.io.yolo_pose import read_yolo_pose

__all__ = [
    "SkeletonSequence", "FormatError", "FRAME_META_KEYS", "FPS_RANGE", "read_skeleton", "detect_format", "FORMATS",
    "find_recordings", "RECORDING_SUFFIXES",
    "read_ntu_skeleton", "write_ntu_skeleton", "read_pkummd", "read_pkummd_labels", "pkummd_frame_labels",
    "read_kinect_csv", "write_kinect_csv", "read_bvh", "read_numpy", "write_npz", "read_keypoints_json",
    "write_keypoints_json", "read_babel", "babel_frame_labels", "load_babel_categories", "BabelAnnotation",
    "BabelSegment", "convert_layout", "available_conversions", "zup_to_yup", "read_kinect_v1", "read_msr3d",
    "write_kinect_v1", "read_openpose", "read_mmpose", "read_mediapipe", "read_yolo_pose",
]

_READERS: dict[str, Callable[[PathLike], SkeletonSequence]] = {
    "ntu": read_ntu_skeleton, "pkummd": read_pkummd, "kinect_csv": read_kinect_csv, "bvh": read_bvh,
    "numpy": read_numpy, "keypoints_json": read_keypoints_json, "kinect_v1": read_kinect_v1, "msr3d": read_msr3d,
    "openpose": read_openpose, "mmpose": read_mmpose, "mediapipe": read_mediapipe, "yolo_pose": read_yolo_pose,
}
_NOT_SKELETON = {"pkummd_labels": "read_pkummd_labels", "babel": "read_babel"}


def read_skeleton(path: PathLike, *, format: str | None = None, layout: str | None = None) -> SkeletonSequence:
    """Read a skeleton file of any supported format.

    Args:
        path: the file.
        format: one of ``"ntu"``, ``"pkummd"``, ``"kinect_csv"``, ``"bvh"``, ``"numpy"``,
            ``"keypoints_json"``, ``"kinect_v1"``, ``"msr3d"``, ``"openpose"``, ``"mmpose"``, ``"mediapipe"``,
            ``"yolo_pose"``; ``None`` detects it (:func:`detect_format`). OpenPose and YOLO-pose read a folder
            of per-frame files (``path`` is the folder).
        layout: for ``numpy`` files without stored layout, the layout of the array; for every other
            file, a target layout to convert to with :func:`convert_layout` (``fill="neighbour"``),
            e.g. ``read_skeleton("clip.bvh", layout="ntu25")``.

    Raises:
        FormatError: malformed file, undetectable format, or an annotation (not skeleton) file.
        ValueError: unknown ``format`` or no conversion to ``layout``.
    """
    path = Path(path)
    if format is not None and format not in _READERS and format not in _NOT_SKELETON:
        raise ValueError(f"unknown format {format!r}; known: {', '.join(_READERS)}")
    with preloaded(path):  # a pipe is read once: detection and the reader see the same bytes
        fmt = format or detect_format(path)
        if fmt in _NOT_SKELETON:
            raise FormatError(f"this is a {fmt} annotation file, not a skeleton; use {_NOT_SKELETON[fmt]}()",
                              path=path)
        if fmt == "numpy":
            seq = read_numpy(path, layout=layout)
        else:
            seq = _READERS[fmt](path)
    if layout is not None and seq.layout != layout:
        seq = convert_layout(seq, layout)
    return seq
