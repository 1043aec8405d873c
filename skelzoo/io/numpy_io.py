"""NumPy ``.npy`` / ``.npz`` skeleton arrays (reader and ``write_npz``).

Accepted contents (``allow_pickle=False`` always; array headers are checked against the file size
before anything is allocated):

- ``.npz`` written by :func:`write_npz`: ``data (T, M, V, C)``, ``layout``, ``fps``, optional
  ``confidence (T, M, V)``, ``meta_json`` (JSON-able metadata) and ``meta__<key>`` arrays;
- ``.npz`` BABEL ``joint_pos`` features: ``joint_pos (T, 219)`` -> ``smplh73`` ``(T, 1, 73, 3)``
  (Z-up metres), fps from an ``fps``/``mocap_framerate`` entry if present;
- any ``.npy`` (or single-array ``.npz``) of shape ``(T, M, V, C)``, ``(T, V, C)`` (``M = 1``),
  ``(T, 150)`` (NTU rows: 2 persons x 25 joints x xyz) or ``(T, 219)`` (``smplh73``).

``layout=`` declares the layout of a bare array when its joint count fits (a stored ``layout`` entry
wins; a layout with another joint count is ignored here and :func:`read_skeleton` converts to it).
Otherwise the layout is inferred from ``V`` (25 ``ntu25``, 20 ``kinect20``, 15 ``openni15``,
17 ``coco17``, 73 ``smplh73``, 27 ``bvh_bandai``, 38 ``bvh_cmu``).
"""
from __future__ import annotations

import io
import json
import logging
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

import skelzoo.io.layout_conversion  # noqa: F401  (registers smplh73 and the BVH rig layouts)
from skelzoo.errors import FormatError
from skelzoo.io._parse import PathLike, check_fps, make_sequence, read_bytes
from skelzoo.io.sequence import SkeletonSequence
from skelzoo.layouts import get_layout, list_layouts

__all__ = ["read_numpy", "write_npz", "LAYOUT_BY_JOINTS"]

log = logging.getLogger(__name__)

LAYOUT_BY_JOINTS = {25: "ntu25", 20: "kinect20", 15: "openni15", 17: "coco17", 73: "smplh73",
                    27: "bvh_bandai", 38: "bvh_cmu"}
_DEFLATE_RATIO = 1100  # deflate cannot expand more than ~1032:1


def _check_npy_header(fp: Any, available: int, where: Path, name: str) -> None:
    """Read an .npy header from ``fp`` and check its data size against ``available`` bytes."""
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
    except (ValueError, OSError, EOFError, SyntaxError, zipfile.BadZipFile) as e:
        raise FormatError(f"{name}: invalid .npy header ({e})", path=where) from None
    if dtype.hasobject:
        raise FormatError(f"{name}: object arrays are not allowed", path=where)
    need = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    have = available - fp.tell()
    if need > have:
        raise FormatError(f"{name}: header claims shape {shape} ({need} bytes) but only {have} bytes follow "
                          "(truncated or corrupt)", path=where)


def _load(path: Path) -> dict[str, np.ndarray]:
    """Load all arrays of an .npy/.npz after checking their headers."""
    raw = read_bytes(path)
    if not raw:
        raise FormatError("file is empty", path=path)
    try:
        if raw.startswith(b"\x93NUMPY"):
            _check_npy_header(io.BytesIO(raw), len(raw), path, "array")
            return {"arr_0": np.load(io.BytesIO(raw), allow_pickle=False)}
        if not raw.startswith(b"PK"):
            raise FormatError("not an .npy or .npz file", path=path)
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            infos = [i for i in zf.infolist() if i.filename.endswith(".npy")]
            if not infos:
                raise FormatError("no .npy arrays in the archive", path=path)
            for info in infos:
                limit = info.compress_size * (_DEFLATE_RATIO if info.compress_type else 1) + 4096
                if info.file_size > limit:
                    raise FormatError(f"{info.filename}: implausible uncompressed size", path=path)
                with zf.open(info) as fp:
                    _check_npy_header(fp, info.file_size, path, info.filename)
            out = {}
            for info in infos:
                with zf.open(info) as fp:
                    out[info.filename[:-4]] = np.lib.format.read_array(fp, allow_pickle=False)
            return out
    except FormatError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, KeyError,
            NotImplementedError, RuntimeError, MemoryError) as e:
        raise FormatError(f"cannot load arrays: {type(e).__name__}: {e}", path=path) from None
    except Exception as e:  # zlib.error and other decoder errors
        raise FormatError(f"cannot load arrays: {type(e).__name__}: {e}", path=path) from None


def _as_tmvc(arr: np.ndarray, path: Path, layout: str | None) -> tuple[np.ndarray, str]:
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise FormatError(f"array dtype {arr.dtype} is not real numeric", path=path)
    if arr.ndim == 2 and arr.shape[1] == 150 and layout in (None, "ntu25", "ntu25_pyskl"):
        arr = arr.reshape(len(arr), 2, 25, 3)
    elif arr.ndim == 2 and arr.shape[1] == 219 and layout in (None, "smplh73"):
        arr = arr.reshape(len(arr), 1, 73, 3)
    elif arr.ndim == 3:
        arr = arr[:, None]
    elif arr.ndim != 4:
        raise FormatError(f"array shape {arr.shape} is not (T, M, V, C), (T, V, C), (T, 150) or (T, 219)", path=path)
    if layout is not None and layout in list_layouts() and get_layout(layout).num_joints != arr.shape[2]:
        layout = None  # read_skeleton(..., layout=) then converts from the inferred layout
    if layout is None:
        layout = LAYOUT_BY_JOINTS.get(arr.shape[2])
        if layout is None:
            raise FormatError(f"cannot infer the layout of V={arr.shape[2]} joints; pass layout=", path=path)
    if not np.isfinite(arr).all():
        raise FormatError("array contains NaN or inf (use write_npz with meta['missing'] for missing joints)",
                          path=path)
    return arr.astype(np.float32), layout


def read_numpy(path: PathLike, *, layout: str | None = None, fps: float | None = None) -> SkeletonSequence:
    """Read a ``.npy``/``.npz`` skeleton (see the module docstring for the accepted contents).

    Raises:
        FormatError: corrupt or truncated archive/header, unsupported shape or dtype, invalid content.
    """
    path = Path(path)
    arrays = _load(path)
    meta: dict[str, Any] = {"source": str(path), "format": "numpy"}
    try:
        if "data" in arrays:
            lay = (str(arrays["layout"]) if "layout" in arrays else None) or layout  # stored layout wins
            if "meta_json" in arrays:
                extra = json.loads(str(arrays["meta_json"]))
                if not isinstance(extra, dict):
                    raise FormatError("'meta_json' must hold a JSON object", path=path)
                meta.update(extra)
                meta["source"], meta["format"] = str(path), "numpy"
            meta.update({k[6:]: v for k, v in arrays.items() if k.startswith("meta__")})
            data = np.asarray(arrays["data"])
            if data.ndim != 4 or not np.issubdtype(data.dtype, np.floating):
                raise FormatError(f"'data' must be a float (T, M, V, C) array, got {data.dtype} {data.shape}",
                                  path=path)
            lay = lay or LAYOUT_BY_JOINTS.get(data.shape[2])
            if lay is None:
                raise FormatError("no layout stored or given", path=path)
            rate = fps or (float(arrays["fps"]) if "fps" in arrays else 30.0)
            rate = check_fps(rate, path=path, what="stored 'fps'" if not fps and "fps" in arrays else "fps")
            conf = arrays.get("confidence")
            if conf is not None and np.issubdtype(np.asarray(conf).dtype, np.number):
                c = np.asarray(conf, dtype=np.float64)
                if c.size and not (np.isfinite(c).all() and c.min() >= 0 and c.max() <= 1):
                    raise FormatError("'confidence' must hold values in [0, 1]", path=path)
            return make_sequence(path, data, lay, rate, meta, conf)
        if "joint_pos" in arrays:
            data, lay = _as_tmvc(np.asarray(arrays["joint_pos"]), path, "smplh73")
            rate_arr = arrays.get("fps", arrays.get("mocap_framerate"))
            rate = check_fps(fps or (float(rate_arr) if rate_arr is not None else 30.0), path=path)
            return make_sequence(path, data, lay, rate, meta)
        if len(arrays) != 1:
            raise FormatError(f"cannot tell which array holds the skeleton among {sorted(arrays)}", path=path)
        data, lay = _as_tmvc(next(iter(arrays.values())), path, layout)
        return make_sequence(path, data, lay, check_fps(fps or 30.0, path=path), meta)
    except FormatError:
        raise
    except RecursionError:
        raise FormatError("invalid skeleton arrays: 'meta_json' is nested too deeply", path=path) from None
    except (ValueError, TypeError, KeyError, OverflowError) as e:
        raise FormatError(f"invalid skeleton arrays: {e}"[:300], path=path) from None


def write_npz(seq: SkeletonSequence, path: PathLike) -> None:
    """Save ``seq`` losslessly as a compressed ``.npz`` readable by :func:`read_numpy`.

    ``meta`` arrays are stored as ``meta__<key>``; other JSON-able entries in ``meta_json``;
    anything else is skipped with a warning.
    """
    arrays: dict[str, Any] = {"data": seq.data, "layout": np.array(seq.layout), "fps": np.array(seq.fps)}
    if seq.confidence is not None:
        arrays["confidence"] = seq.confidence
    plain: dict[str, Any] = {}
    for key, value in seq.meta.items():
        if isinstance(value, np.ndarray):
            arrays[f"meta__{key}"] = value
            continue
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            log.warning("write_npz: meta[%r] is not JSON-able; not saved", key)
            continue
        plain[key] = value
    arrays["meta_json"] = np.array(json.dumps(plain))
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)
