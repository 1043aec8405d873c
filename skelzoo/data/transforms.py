"""Vectorised skeleton preprocessing on ``(T, M, V, C)`` arrays or :class:`SkeletonSequence` objects.

Every function accepts either a numpy array ``(T, M, V, C)`` or a :class:`SkeletonSequence` and returns
the same kind. For sequences, ``confidence`` and the per-frame ``meta`` arrays of
:data:`skelzoo.io.sequence.FRAME_META_KEYS` follow the selected frames/persons. Absent persons are
all-zero frames (the NTU convention); missing joints are NaN with ``meta["missing"]``.
"""
from __future__ import annotations

from typing import Any, Literal, TypeVar, Union

import numpy as np

from skelzoo.io.sequence import FRAME_META_KEYS, SkeletonSequence

__all__ = [
    "ntu_pre_normalise", "pre_normalise", "pre_normalize", "rotation_between", "resample_indices", "resample",
    "select_persons",
    "sliding_windows", "crop_windows", "fill_missing", "person_energy", "torso_length", "normalise_body_size",
    "BODY_SIZE_TARGET", "body_size_transform", "preprocess_code",
]

#: torso length (NTU joints SpineBase -> SpineShoulder, metres) that :func:`normalise_body_size` scales to
BODY_SIZE_TARGET = 0.5

X = TypeVar("X", np.ndarray, SkeletonSequence)
ArrayOrSeq = Union[np.ndarray, SkeletonSequence]


def _arr(x: ArrayOrSeq) -> np.ndarray:
    data = x.data if isinstance(x, SkeletonSequence) else np.asarray(x)
    if data.ndim != 4:
        raise ValueError(f"expected (T, M, V, C), got shape {data.shape}")
    return data


def _take(seq: SkeletonSequence, data: np.ndarray, axis: int, idx: np.ndarray, valid: np.ndarray | None = None,
          **extra: object) -> SkeletonSequence:
    """Copy of ``seq`` with ``data`` and its frame/person-aligned companions indexed by ``idx`` on ``axis``."""
    n_old = seq.data.shape[axis]
    meta = dict(seq.meta)

    def pick(a: np.ndarray) -> np.ndarray:
        out = np.take(a, idx, axis=axis)
        if valid is not None:
            shape = [1] * out.ndim
            shape[axis] = len(valid)
            out = np.where(valid.reshape(shape), out, np.zeros((), dtype=out.dtype))
        return out

    for key in FRAME_META_KEYS:
        val = meta.get(key)
        if isinstance(val, np.ndarray) and val.ndim > axis and val.shape[axis] == n_old and (
                axis == 0 or val.shape[0] == seq.num_frames):
            meta[key] = pick(val)
    if axis == 1 and isinstance(meta.get("body_ids"), list) and len(meta["body_ids"]) == n_old:
        meta["body_ids"] = [meta["body_ids"][i] if (valid is None or valid[k]) else None for k, i in enumerate(idx)]
    if "missing" in meta and np.asarray(meta["missing"]).shape != data.shape[:3]:
        meta["missing"] = np.broadcast_to(np.asarray(meta["missing"], bool), seq.data.shape[:3])
        meta["missing"] = pick(meta["missing"])
    conf = pick(seq.confidence) if seq.confidence is not None else None
    return SkeletonSequence(data, seq.layout, extra.get("fps", seq.fps), meta, conf)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- NTU pre-normalisation
def rotation_between(v: np.ndarray, target: np.ndarray) -> np.ndarray:
    """3x3 rotation turning direction ``v`` onto ``target`` about the axis ``v x target`` (Rodrigues).

    Identity when either vector is (near) zero or they are already aligned; a half turn about an axis
    perpendicular to ``v`` when they are opposite.
    """
    v, target = np.asarray(v, float), np.asarray(target, float)
    nv, nt = np.linalg.norm(v), np.linalg.norm(target)
    if nv < 1e-6 or nt < 1e-6:
        return np.eye(3)
    a, b = v / nv, target / nt
    axis = np.cross(a, b)
    s, c = np.linalg.norm(axis), float(np.clip(a @ b, -1.0, 1.0))
    if s < 1e-9:
        if c > 0:
            return np.eye(3)
        perp = np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0])
        axis, s, c = perp / np.linalg.norm(perp), 0.0, -1.0
    else:
        axis = axis / s
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + s * k + (1 - c) * (k @ k)


def _null_frame_index(present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 1 of the NTU pre-normalisation as a gather: ``out[t, m] = data[idx[t, m], m]`` where ``keep``.

    ``present`` is bool ``(T, M)``. Per person: if frame 0 is empty its non-empty frames move to the
    front; then trailing empty frames repeat frames ``0..f-1`` cyclically. Vectorised over frames.
    """
    t, m = present.shape
    frames = np.arange(t)
    idx = np.broadcast_to(frames[:, None], (t, m)).copy()
    keep = present.copy()
    for p in range(m):  # persons only
        pres = present[:, p]
        if not pres.any():
            continue
        order = frames
        if not pres[0]:
            order = np.argsort(~pres, kind="stable")  # non-empty frames first, in order
            pres = frames < pres.sum()
        f = int(np.flatnonzero(pres)[-1]) + 1
        cyc = np.where(frames < f, frames, (frames - f) % f)
        idx[:, p] = order[cyc]
        keep[:, p] = pres[cyc]
    return idx, keep


def ntu_pre_normalise(x: X, *, pad_null_frames: bool = True, center_joint: int = 1,
                      z_bone: tuple[int, int] = (0, 1), x_bone: tuple[int, int] = (8, 4),
                      center: Literal["per_frame", "first_frame"] = "per_frame") -> X:
    """NTU-style pre-normalisation (docs/method.md §1.3) of ``(T, M, V, 3)`` data (NTU-25 joint indices).

    1. ``pad_null_frames``: per person, if its first frame is empty its non-empty frames move to the
       front; trailing empty frames are filled by repeating its frames ``0..f-1`` cyclically.
    2. In every frame subtract joint ``center_joint`` of person 0 from all joints of all persons; joints
       that were exactly zero stay zero. ``center="first_frame"`` subtracts that joint of the first frame
       from every frame instead (pyskl's ``PreNormalize3D``; preprocess code ``"pyskl_ntu3d"``).
    3. Rotate so that the bone ``z_bone[0] -> z_bone[1]`` of person 0 at frame 0 points along +z.
    4. Then rotate so that ``joint x_bone[0] - joint x_bone[1]`` (right minus left shoulder) of person 0
       at frame 0 points along +x.

    A sample without any skeleton is returned unchanged. Missing (NaN) joints stay NaN. For a
    :class:`SkeletonSequence`, frames are re-ordered in ``confidence``/per-frame ``meta`` too.
    """
    data = _arr(x).astype(np.float64)
    if data.shape[-1] != 3:
        raise ValueError(f"NTU pre-normalisation needs C=3, got C={data.shape[-1]}")
    nan = np.isnan(data).any(-1)  # (T, M, V)
    data = np.where(nan[..., None], 0.0, data)
    if not (data != 0).any():
        return x
    idx = keep = None
    if pad_null_frames:
        present = (data != 0).any(axis=(2, 3)) | nan.any(axis=2)
        idx, keep = _null_frame_index(present)
        persons = np.arange(data.shape[1])[None, :]
        data = np.where(keep[..., None, None], data[idx, persons], 0.0)
        nan = nan[idx, persons] & keep[..., None]
    nonzero = (data != 0).any(axis=-1, keepdims=True)
    if center not in ("per_frame", "first_frame"):
        raise ValueError(f"center must be 'per_frame' or 'first_frame', got {center!r}")
    origin = data[:, :1, center_joint:center_joint + 1, :] if center == "per_frame" else data[0, 0, center_joint]
    data = np.where(nonzero, data - origin, 0.0)
    first = data[0, 0]
    r1 = rotation_between(first[z_bone[1]] - first[z_bone[0]], np.array([0.0, 0.0, 1.0]))
    data = data @ r1.T
    first = data[0, 0]
    r2 = rotation_between(first[x_bone[0]] - first[x_bone[1]], np.array([1.0, 0.0, 0.0]))
    data = (data @ r2.T).astype(np.float32)
    data[nan] = np.nan
    if not isinstance(x, SkeletonSequence):
        return data
    meta = dict(x.meta)
    conf = x.confidence
    if idx is not None:
        persons = np.arange(data.shape[1])[None, :]
        shape = x.data.shape[:2]

        def gather(a: np.ndarray) -> np.ndarray:
            k = keep.reshape(keep.shape + (1,) * (a.ndim - 2))
            return np.where(k, a[idx, persons], np.zeros((), a.dtype))

        for key in FRAME_META_KEYS:
            val = meta.get(key)
            if isinstance(val, np.ndarray) and val.shape[:2] == shape:
                meta[key] = gather(val)
        if "missing" in meta:
            meta["missing"] = nan
        conf = gather(conf) if conf is not None else None
    return SkeletonSequence(data, x.layout, x.fps, meta, conf)


#: aliases (``pre_normalize`` is used by :mod:`skelzoo.localization.pipeline`)
pre_normalise = ntu_pre_normalise
pre_normalize = ntu_pre_normalise


# ----------------------------------------------------------------------------- frames
def resample_indices(num_frames: int, source_fps: float, target_fps: float) -> np.ndarray:
    """Source frame of each output frame: ``floor(n * source_fps / target_fps)`` for all ``n`` in range.

    For ``source_fps`` a multiple of ``target_fps`` this is every (ratio)-th frame; otherwise it equals
    the BABEL/LINE per-second rule ``floor(k * fps / 30)`` within each 1-second block.
    ``T_out = ceil(num_frames * target_fps / source_fps)``.
    """
    if source_fps <= 0 or target_fps <= 0:
        raise ValueError("frame rates must be positive")
    ratio = source_fps / target_fps
    n_out = int(np.ceil(num_frames / ratio - 1e-9))
    idx = np.floor(np.arange(n_out) * ratio + 1e-9).astype(np.int64)
    return idx[idx < num_frames]


def resample(x: X, target_fps: float, *, source_fps: float | None = None,
             method: Literal["nearest", "linear"] = "nearest") -> X:
    """Resample to ``target_fps``. ``"nearest"`` picks frames (:func:`resample_indices`); ``"linear"``
    interpolates between the two neighbouring frames (a joint that is zero/absent in either stays as in
    the earlier frame). ``source_fps`` is required for arrays (sequences use ``seq.fps``).
    """
    data = _arr(x)
    src = x.fps if isinstance(x, SkeletonSequence) else source_fps
    if src is None:
        raise ValueError("source_fps is required for arrays")
    t = data.shape[0]
    idx = resample_indices(t, src, target_fps)
    if method == "nearest":
        out = data[idx]
    elif method == "linear":
        pos = np.arange(len(idx)) * (src / target_fps)
        lo = np.minimum(np.floor(pos + 1e-9).astype(np.int64), max(t - 1, 0))
        hi = np.minimum(lo + 1, max(t - 1, 0))
        w = (pos - lo)[:, None, None, None]
        a, b = data[lo], data[hi]
        both = (a != 0).any(-1, keepdims=True) & (b != 0).any(-1, keepdims=True)
        out = np.where(both, (1 - w) * a + w * b, a).astype(data.dtype)
        idx = lo
    else:
        raise ValueError(f"method must be 'nearest' or 'linear', got {method!r}")
    if isinstance(x, SkeletonSequence):
        return _take(x, out, 0, idx, fps=float(target_fps))
    return out


def sliding_windows(num_frames: int, size: int, *, overlap: int = 0, keep_last: bool = True) -> np.ndarray:
    """``(start, stop)`` windows of ``size`` frames stepping by ``size - overlap``: int64 ``(N, 2)``.

    With ``keep_last`` a final window ending at ``num_frames`` is added when the regular ones miss the
    tail. A sequence shorter than ``size`` gives one window ``(0, num_frames)``; an empty one none.
    """
    if size <= 0 or not 0 <= overlap < size:
        raise ValueError("need size > 0 and 0 <= overlap < size")
    if num_frames <= 0:
        return np.zeros((0, 2), dtype=np.int64)
    if num_frames <= size:
        return np.array([[0, num_frames]], dtype=np.int64)
    step = size - overlap
    starts = np.arange(0, num_frames - size + 1, step)
    if keep_last and starts[-1] + size < num_frames:
        starts = np.append(starts, num_frames - size)
    return np.stack([starts, starts + size], axis=1).astype(np.int64)


def crop_windows(x: ArrayOrSeq, windows: np.ndarray, size: int | None = None) -> np.ndarray:
    """Stack windows into ``(N, size, M, V, C)`` (zero-padded past each window's stop / the sequence end)."""
    data = _arr(x)
    windows = np.asarray(windows, dtype=np.int64).reshape(-1, 2)
    if size is None:
        size = int((windows[:, 1] - windows[:, 0]).max(initial=0))
    idx = windows[:, :1] + np.arange(size)[None, :]  # (N, size)
    valid = (idx < windows[:, 1:2]) & (idx < data.shape[0]) & (idx >= 0)
    out = data[np.clip(idx, 0, max(data.shape[0] - 1, 0))] if data.shape[0] else np.zeros(
        (len(windows), size) + data.shape[1:], data.dtype)
    return np.where(valid[..., None, None, None], out, 0).astype(data.dtype)


# ----------------------------------------------------------------------------- persons
def person_energy(data: np.ndarray) -> np.ndarray:
    """``(M,)`` energy per person: ``std(x) + std(y) + ...`` over its non-empty frames and all joints."""
    data = np.nan_to_num(np.asarray(data, dtype=np.float64))
    present = (data != 0).any(axis=(2, 3))  # (T, M)
    n = present.sum(0) * data.shape[2]  # samples per person
    w = present[:, :, None, None]
    mean = (data * w).sum(axis=(0, 2)) / np.maximum(n, 1)[:, None]  # (M, C)
    var = (((data - mean[None, :, None, :]) ** 2) * w).sum(axis=(0, 2)) / np.maximum(n, 1)[:, None]
    return np.where(n > 0, np.sqrt(var).sum(axis=-1), 0.0)


def select_persons(x: X, num_persons: int = 2, *, criterion: Literal["energy", "order"] = "energy") -> X:
    """Keep ``num_persons`` persons (most energetic first, or in order) and zero-pad to exactly that many."""
    data = _arr(x)
    m = data.shape[1]
    if criterion == "energy":
        order = np.argsort(-person_energy(data), kind="stable")
    elif criterion == "order":
        order = np.arange(m)
    else:
        raise ValueError(f"criterion must be 'energy' or 'order', got {criterion!r}")
    idx = np.concatenate([order[:num_persons], np.zeros(max(0, num_persons - m), dtype=np.int64)])
    valid = np.arange(num_persons) < m
    out = np.where(valid[None, :, None, None], data[:, idx], 0).astype(data.dtype)
    if isinstance(x, SkeletonSequence):
        return _take(x, out, 1, idx, valid)
    return out


# ----------------------------------------------------------------------------- missing joints
def fill_missing(x: X, missing: np.ndarray | None = None, *,
                 method: Literal["zero", "hold", "interpolate"] = "interpolate") -> X:
    """Replace missing joints (``missing`` ``(T, M, V)``, default: NaN joints / ``seq.missing``).

    ``"zero"`` sets them to 0; ``"hold"`` copies the last valid value of the joint (the next one before
    the first); ``"interpolate"`` interpolates linearly in time between valid values (holding at the
    ends). Joints never valid become 0. Sequences lose ``meta["missing"]``.
    """
    data = _arr(x).astype(np.float32)
    if missing is None:
        missing = np.isnan(data).any(-1)
        if isinstance(x, SkeletonSequence):
            missing = missing | x.missing
    valid = ~np.broadcast_to(np.asarray(missing, bool), data.shape[:3])
    t = data.shape[0]
    clean = np.where(valid[..., None], np.nan_to_num(data), 0.0).astype(np.float32)
    if method != "zero" and t:
        ar = np.arange(t)[:, None, None]
        prev = np.maximum.accumulate(np.where(valid, ar, -1), axis=0)
        nxt = np.minimum.accumulate(np.where(valid, ar, t)[::-1], axis=0)[::-1]
        has_prev, has_next = prev >= 0, nxt < t
        p, n = np.clip(prev, 0, t - 1), np.clip(nxt, 0, t - 1)
        gather = lambda i: np.take_along_axis(clean, i[..., None].repeat(data.shape[3], -1), axis=0)  # noqa: E731
        vp, vn = gather(p), gather(n)
        if method == "hold":
            fill = np.where(has_prev[..., None], vp, vn)
        elif method == "interpolate":
            span = np.maximum(n - p, 1)[..., None]
            w = ((ar - p)[..., None] / span).astype(np.float32)
            fill = np.where((has_prev & has_next)[..., None], (1 - w) * vp + w * vn,
                            np.where(has_prev[..., None], vp, vn))
        else:
            raise ValueError(f"method must be 'zero', 'hold' or 'interpolate', got {method!r}")
        anyv = (has_prev | has_next)[..., None]
        clean = np.where(valid[..., None], clean, np.where(anyv, fill, 0.0)).astype(np.float32)
    elif method not in ("zero", "hold", "interpolate"):
        raise ValueError(f"unknown method {method!r}")
    if isinstance(x, SkeletonSequence):
        meta = {k: v for k, v in x.meta.items() if k != "missing"}
        return SkeletonSequence(clean, x.layout, x.fps, meta, x.confidence)
    return clean


def torso_length(x: ArrayOrSeq, joints: tuple[int, int] = (0, 20)) -> float:
    """Median torso length of a ``(T, M, V, C)`` skeleton: the distance between ``joints`` (NTU-25:
    SpineBase -> SpineShoulder) over the frames where both joints of a person are present (non-zero).
    ``nan`` when no frame has them."""
    d = _arr(x)
    a, b = d[..., joints[0], :], d[..., joints[1], :]                 # (T, M, C)
    present = (np.abs(a).sum(-1) > 0) & (np.abs(b).sum(-1) > 0) & np.isfinite(a).all(-1) & np.isfinite(b).all(-1)
    if not present.any():
        return float("nan")
    return float(np.median(np.linalg.norm((a - b)[present], axis=-1)))


def normalise_body_size(x: X, target: float = BODY_SIZE_TARGET, *, joints: tuple[int, int] = (0, 20),
                        length: float | None = None) -> X:
    """Scale every coordinate so that the median torso length (:func:`torso_length`) equals ``target``.

    Makes a model independent of the subject's size and of the sensor's skeleton proportions (a Kinect v1
    adult converted to NTU-25 has a torso about 1.6x as long as the Bandai-Namco mocap rig's). Apply it after
    centring (:func:`ntu_pre_normalise`): the scale is about the origin. Sequences without a measurable torso
    are returned unchanged. ``length``: the :func:`torso_length` when the caller already measured it.
    """
    d = _arr(x)
    if length is None:
        length = torso_length(d, joints)
    if not np.isfinite(length) or length < 1e-6:
        return x
    out = (d * (target / length)).astype(d.dtype, copy=False)
    return x.replace(data=out) if isinstance(x, SkeletonSequence) else out


def body_size_transform(data: Any, rng: Any = None) -> Any:
    """Dataset transform ``(T, M, V, C) -> (T, M, V, C)``: :func:`normalise_body_size` (``rng`` unused: the
    transform is deterministic, the signature is the one datasets call transforms with)."""
    return normalise_body_size(data)


def preprocess_code(prepared_preprocess: str, body_size: bool) -> str:
    """The ``preprocess`` code a model trained on such data records (``"ntu"`` + body size -> ``"ntu_bodysize"``)."""
    if not body_size:
        return prepared_preprocess
    if prepared_preprocess != "ntu":
        raise ValueError("body-size normalisation is defined on NTU pre-normalised data (preprocess 'ntu'), "
                         f"got {prepared_preprocess!r}")
    return "ntu_bodysize"
