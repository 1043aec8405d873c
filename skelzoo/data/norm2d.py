"""2-D keypoint normalisation (preprocessing code ``"coco2d"``): independent of image size, camera distance
and the person's position in the image.

Input: ``coco17`` ``(T, M, 17, 3)`` with channels x, y (pixels, or image-normalised coordinates) and score
in ``[0, 1]``. Output: the same shape, channels x, y, score, where

1. every point with ``score < threshold`` (default 0.3) is *missing*: x = y = score = 0;
2. the centre of frame ``t`` is person 0's hip midpoint (COCO 11/12) at ``t``; in frames where the hips are
   missing, the shoulder midpoint (5/6) minus the sequence's median shoulder->hip offset; frames with
   neither take the centre of the nearest frame that has one (the same centre for every person, as the
   NTU pre-normalisation subtracts person 0's spine);
3. the scale ``s`` is the median over the frames where all four of them are present of person 0's torso
   length (shoulder midpoint -> hip midpoint) (all persons' torsos when person 0 has none; else the median
   extent of the present points / 3; else 1);
4. ``x' = (x - cx) / s * TARGET``, ``y' = -(y - cy) / s * TARGET`` (image y points down: after this,
   +y is up), ``TARGET`` = 0.5 as for ``ntu_bodysize`` so that augmentations tuned for metres fit;
   missing points stay exactly 0 and the score channel is kept as is.

A uniform image scaling, a translation and points that are missing (score below the threshold) do not
change the result of the others (tests: ``tests/test_norm2d.py``).
"""
from __future__ import annotations

import numpy as np

__all__ = ["PREPROCESS_2D", "CONF_THRESHOLD", "TARGET_TORSO", "PREPROCESS_2D_DESCRIPTION", "normalise_2d",
           "with_scores"]

#: preprocessing code of checkpoints trained on :func:`normalise_2d`-ed data
PREPROCESS_2D = "coco2d"
#: scores below this are missing points
CONF_THRESHOLD = 0.3
#: torso length after normalisation (the ``ntu_bodysize`` target)
TARGET_TORSO = 0.5
PREPROCESS_2D_DESCRIPTION = (
    "2-D keypoints (coco17, channels x, y, score; skelzoo.data.norm2d.normalise_2d): points with score < 0.3 "
    "zeroed (x, y and score); per frame, person 0's hip midpoint subtracted (shoulder midpoint minus the median "
    "shoulder->hip offset where the hips are missing, else the nearest frame's centre); scaled so that the "
    "median torso length (shoulder midpoint -> hip midpoint over confident frames) is 0.5; y flipped to point "
    "up. Independent of image size, camera distance and position.")

_L_SH, _R_SH, _L_HIP, _R_HIP = 5, 6, 11, 12


def with_scores(xy: np.ndarray, confidence: np.ndarray | None) -> np.ndarray:
    """``(T, M, V, 2)`` coordinates + ``(T, M, V)`` scores (``None``: 1 where a point is non-zero) ->
    ``(T, M, V, 3)`` float32 x, y, score. NaN coordinates become missing (0, 0, score 0)."""
    xy = np.asarray(xy, dtype=np.float32)[..., :2]
    nan = np.isnan(xy).any(-1)
    xy = np.where(nan[..., None], 0.0, xy)
    if confidence is None:
        conf = (xy != 0).any(-1).astype(np.float32)
    else:
        conf = np.where(nan, 0.0, np.asarray(confidence, dtype=np.float32))
    return np.concatenate([xy, conf[..., None]], axis=-1).astype(np.float32)


def _fill_nearest(values: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """``values`` ``(T, 2)`` with rows where ``ok`` is False replaced by the nearest ``ok`` row."""
    idx = np.flatnonzero(ok)
    if idx.size == 0 or idx.size == len(ok):
        return values
    t = np.arange(len(ok))
    pos = np.clip(np.searchsorted(idx, t), 1, max(idx.size - 1, 1))
    lo, hi = idx[pos - 1], idx[np.minimum(pos, idx.size - 1)]
    near = np.where(np.abs(t - lo) <= np.abs(hi - t), lo, hi)
    return values[near]


def normalise_2d(data: np.ndarray, *, threshold: float = CONF_THRESHOLD, target: float = TARGET_TORSO) -> np.ndarray:
    """Normalise ``coco17`` ``(T, M, 17, 3)`` x, y, score keypoints (definition in the module docstring).

    Returns a new float32 ``(T, M, 17, 3)`` array. A sequence without any confident point comes back
    all zeros (nothing to normalise)."""
    d = np.asarray(data, dtype=np.float64)
    if d.ndim != 4 or d.shape[-1] != 3:
        raise ValueError(f"normalise_2d needs (T, M, V, 3) x, y, score keypoints, got shape {d.shape}")
    if d.shape[2] != 17:
        raise ValueError(f"normalise_2d needs the coco17 layout (V=17), got V={d.shape[2]}")
    d = np.nan_to_num(d, nan=0.0, posinf=0.0, neginf=0.0)
    ok = d[..., 2] >= threshold                                     # (T, M, V)
    d = np.where(ok[..., None], d, 0.0)
    if not ok.any():
        return d.astype(np.float32)
    xy = d[..., :2]
    hips = ok[..., _L_HIP] & ok[..., _R_HIP]                        # (T, M)
    shs = ok[..., _L_SH] & ok[..., _R_SH]
    hip_mid = (xy[..., _L_HIP, :] + xy[..., _R_HIP, :]) / 2         # (T, M, 2)
    sh_mid = (xy[..., _L_SH, :] + xy[..., _R_SH, :]) / 2
    both = hips & shs
    torso = np.linalg.norm(sh_mid - hip_mid, axis=-1)               # (T, M)
    if both[:, 0].any():
        scale = float(np.median(torso[:, 0][both[:, 0]]))
        offset = np.median((hip_mid - sh_mid)[:, 0][both[:, 0]], axis=0)
    elif both.any():
        scale = float(np.median(torso[both]))
        offset = np.median((hip_mid - sh_mid)[both], axis=0)
    else:
        pts = np.where(ok[..., None], xy, np.nan)
        with np.errstate(invalid="ignore"):
            ext = np.nanmax(pts, axis=2) - np.nanmin(pts, axis=2)   # (T, M, 2)
        ext = np.nanmax(ext, axis=-1)[ok.any(-1)]
        ext = ext[np.isfinite(ext) & (ext > 0)]
        scale = float(np.median(ext)) / 3.0 if ext.size else 1.0
        offset = np.zeros(2)
    if not np.isfinite(scale) or scale <= 1e-9:
        scale = 1.0
    # centre per frame from person 0
    centre = np.where(hips[:, 0, None], hip_mid[:, 0], sh_mid[:, 0] + offset)
    has = hips[:, 0] | shs[:, 0]
    if not has.any():  # person 0 has no torso point: mean of its present points (else of anyone's)
        w = ok[:, :1] if ok[:, 0].any() else ok                     # (T, M', V)
        w = w.astype(np.float64)
        centre = (xy[:, :w.shape[1]] * w[..., None]).sum((1, 2)) / np.maximum(w.sum((1, 2))[:, None], 1.0)
        has = w.sum((1, 2)) > 0
    centre = _fill_nearest(centre, has)
    out = (xy - centre[:, None, None, :]) * (target / scale)
    out[..., 1] *= -1.0
    out = np.where(ok[..., None], out, 0.0)
    return np.concatenate([out, d[..., 2:3]], axis=-1).astype(np.float32)
