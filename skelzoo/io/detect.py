"""Guess a skeleton file's format from its extension, then (if needed) from its first bytes.

Format names: ``"ntu"`` (``.skeleton``), ``"pkummd"`` (``.txt``, 150 numbers per line),
``"pkummd_labels"`` (``.txt``, comma separated), ``"kinect_csv"`` (``.csv``), ``"bvh"``,
``"numpy"`` (``.npy``/``.npz``), ``"keypoints_json"`` and ``"babel"`` (``.json``), ``"kinect_v1"`` (frame id +
20 x 3 numbers per row) and ``"msr3d"`` (20 rows ``x y z c`` per frame).

2-D pose estimators: ``"openpose"`` (a folder of ``*_keypoints.json``, or one such file), ``"mmpose"``
(``.json`` with ``instance_info``, or a list of instances with ``keypoint_scores``), ``"mediapipe"``
(``.csv`` of frame + 33 landmarks, or ``.json`` lists of 33 landmark objects) and ``"yolo_pose"`` (a folder of
ultralytics ``.txt`` labels, or one such file).
"""
from __future__ import annotations

import glob
import json
from pathlib import Path
from typing import Iterable

from skelzoo.errors import FormatError
from skelzoo.io._parse import PathLike, read_bytes, read_head

__all__ = ["detect_format", "find_recordings", "FORMATS", "RECORDING_SUFFIXES"]

FORMATS = ("ntu", "pkummd", "pkummd_labels", "kinect_csv", "bvh", "numpy", "keypoints_json", "babel", "kinect_v1",
           "msr3d", "openpose", "mmpose", "mediapipe", "yolo_pose")
_BY_EXT = {".skeleton": "ntu", ".bvh": "bvh", ".csv": "kinect_csv", ".npy": "numpy", ".npz": "numpy"}
_PEEK = 65536
#: file endings of the recordings :func:`find_recordings` picks up in folders and glob patterns
RECORDING_SUFFIXES = (".skeleton", ".txt", ".csv", ".bvh", ".npy", ".npz", ".json")
_LABEL_SUFFIXES = (".labels.txt", ".labels.json")


def find_recordings(items: Iterable[PathLike]) -> list[Path]:
    """Expand files, folders (recursively) and glob patterns into recording paths, in order, de-duplicated.

    Files named explicitly are kept whatever their ending; from folders and patterns only files ending in
    :data:`RECORDING_SUFFIXES` are taken. Label files (``*.labels.txt``, ``*.labels.json``, ``labels.json``)
    are always skipped. Raises ``FileNotFoundError`` for a missing path or a pattern that matches nothing.
    """
    out: list[Path] = []
    for item in items:
        item, path = str(item), Path(item)
        listed = True
        if path.is_dir() and _dir_kind(path):  # an OpenPose / YOLO-pose folder is one recording
            if path not in out:
                out.append(path)
            continue
        if path.is_dir():
            hits = _pose_dirs_as_recordings(sorted(f for f in path.rglob("*") if f.is_file()))
        elif glob.has_magic(item):
            hits = sorted(Path(h) for h in glob.glob(item, recursive=True) if Path(h).is_file())
            if not hits:
                raise FileNotFoundError(f"{item}: no file matches")
        elif path.is_file():
            hits, listed = [path], False
        else:
            raise FileNotFoundError(f"{item}: no such file or folder")
        for f in hits:
            if f.is_dir():
                if f not in out:
                    out.append(f)
                continue
            name = f.name.lower()
            if name.endswith(_LABEL_SUFFIXES) or name == "labels.json":
                continue
            if listed and not name.endswith(RECORDING_SUFFIXES):
                continue
            if f not in out:
                out.append(f)
    return out


def _dir_kind(path: Path) -> str | None:
    """``"openpose"`` / ``"yolo_pose"`` for a folder of per-frame pose-estimator files, else None."""
    from skelzoo.io.openpose import is_openpose_dir
    from skelzoo.io.yolo_pose import is_yolo_pose_dir

    if is_openpose_dir(path):
        return "openpose"
    if is_yolo_pose_dir(path):
        return "yolo_pose"
    return None


def _pose_dirs_as_recordings(files: list[Path]) -> list[Path]:
    """``files`` with the files of OpenPose / YOLO-pose folders replaced by their folder (once)."""
    kinds: dict[Path, str | None] = {}
    out: list[Path] = []
    for f in files:
        parent = f.parent
        if parent not in kinds:
            kinds[parent] = _dir_kind(parent)
        if kinds[parent]:
            if parent not in out:
                out.append(parent)
        else:
            out.append(f)
    return out


def _json_kind(path: Path) -> str:
    if path.name.endswith("_keypoints.json"):
        return "openpose"
    try:
        doc = json.loads(read_bytes(path).decode("utf-8", errors="replace"))
    except (ValueError, RecursionError, OSError, FormatError):
        return "keypoints_json"  # let that reader report the JSON error
    from skelzoo.io.mediapipe import is_mediapipe_doc
    from skelzoo.io.mmpose import is_mmpose_doc

    if isinstance(doc, dict) and "people" in doc:
        return "openpose"
    if is_mmpose_doc(doc):
        return "mmpose"
    if is_mediapipe_doc(doc):
        return "mediapipe"
    if isinstance(doc, dict) and doc and "frames" not in doc:
        first = next(iter(doc.values()))
        if isinstance(first, dict) and ({"seq_ann", "seq_anns", "frame_ann", "dur"} & set(first)):
            return "babel"
    return "keypoints_json"


def _first_line(head: bytes) -> str:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _kinect_v1_kind(line: str) -> str | None:
    """``"kinect_v1"`` (frame id + 20 x 3 numbers), ``"msr3d"`` (``x y z c`` rows, or a ``F 20`` header), or None."""
    fields = [f for f in line.replace(",", " ").split() if f]
    if len(fields) == 61:
        return "kinect_v1"
    if len(fields) == 2 and fields[1] == "20" and fields[0].isdigit():
        return "msr3d"
    if len(fields) == 4 and "," not in line:
        try:
            [float(f) for f in fields]
        except ValueError:
            return None
        return "msr3d"
    return None


def detect_format(path: PathLike) -> str:
    """Return the format name of ``path`` (one of :data:`FORMATS`).

    Raises:
        FormatError: the file cannot be read or its format is not recognised.
    """
    path = Path(path)
    if path.is_dir():
        kind = _dir_kind(path)
        if kind is None:
            raise FormatError("a folder is read only as OpenPose (*_keypoints.json) or YOLO-pose (*.txt labels) "
                              "frames; none found", path=path)
        return kind
    ext = path.suffix.lower()
    if ext == ".csv":
        from skelzoo.io.mediapipe import is_mediapipe_csv_line
        if is_mediapipe_csv_line(_first_line(read_head(path, _PEEK))):
            return "mediapipe"
    if ext in _BY_EXT:
        return _BY_EXT[ext]
    if ext == ".json":
        return _json_kind(path)
    head = read_head(path, _PEEK)
    if not head.strip():
        raise FormatError("file is empty", path=path)
    if head.startswith(b"\x93NUMPY") or head.startswith(b"PK"):
        return "numpy"
    line = _first_line(head)
    if line.upper().startswith("HIERARCHY"):
        return "bvh"
    from skelzoo.io.yolo_pose import is_yolo_pose_line
    if is_yolo_pose_line(line):
        return "yolo_pose"
    if line[:1] in "[{":
        return _json_kind(path)
    if line.count(",") >= 100:
        return "kinect_csv"
    kinect_v1 = _kinect_v1_kind(line)  # Kinect SDK v1 text (skelzoo.io.kinect_v1)
    if kinect_v1:
        return kinect_v1
    if ext == ".txt" and "," in line:
        return "pkummd_labels"
    fields = line.split()
    if len(fields) == 150:
        return "pkummd"
    if len(fields) == 1 and fields[0].isdigit():
        return "ntu"
    if "," in line and len(line.split(",")) in (3, 4, 5):
        return "pkummd_labels"
    raise FormatError(f"cannot detect the format (extension {ext or 'none'!r}); pass format=", path=path, line=1)
