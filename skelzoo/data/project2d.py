"""2-D training data from 3-D mocap: NTU-25 -> COCO-17 and random virtual pinhole cameras with
detector-like noise (the ``bandai-untrimmed-2d`` benchmark, dataset card ``docs/datasets/bandai_untrimmed_2d.md``).

Pipeline per composed sequence (``(T, 25, 3)`` metres, Y up, as composed by
:func:`skelzoo.data.bandai.prepare_bandai_untrimmed` without NTU pre-normalisation):

1. :func:`ntu25_to_coco17_3d`: body points from the NTU joints (formats.md §8), face points synthesised
   from the head/neck joints and the body's facing direction (:func:`face_points`).
2. :func:`sample_camera`: a pinhole camera (azimuth about the person relative to its initial heading,
   elevation, horizontal field of view, image size; the distance follows from the wanted person height in
   the image) that tracks the smoothed hip trajectory (a panning camera: the person stays in view).
3. :func:`project`: perspective projection to pixels (y down).
4. :func:`detector_noise`: per-keypoint Gaussian noise scaled by the COCO OKS sigmas and the person's image
   height, temporally correlated jitter, occasional outliers and left/right swaps, bursts of missing points
   and whole missing frames, points outside the image removed, confidence scores that drop with noise,
   self-occlusion (the side turned away from the camera, the face seen from behind) and missing points.

Everything is deterministic given the generator passed in.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["CameraRanges", "Camera", "NoiseConfig", "TRAIN_AZIMUTHS", "VAL_AZIMUTHS", "TEST_AZIMUTHS",
           "ntu25_to_coco17_3d", "face_points", "sample_camera", "camera_frames", "project", "detector_noise",
           "project_sequence", "OKS_SIGMAS"]

# NTU-25 0-based joints
_SPINE_BASE, _NECK, _HEAD, _SP_SH = 0, 2, 3, 20
_L_SH, _R_SH, _L_HIP, _R_HIP = 4, 8, 12, 16
#: COCO index <- NTU-25 index (0-based) for the 12 body points
_BODY = {5: 4, 6: 8, 7: 5, 8: 9, 9: 6, 10: 10, 11: 12, 12: 16, 13: 13, 14: 17, 15: 14, 16: 18}
#: COCO OKS per-keypoint sigmas (COCO keypoint evaluation), 17 values in COCO order
OKS_SIGMAS = np.array([.026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062, .107, .107, .087, .087,
                       .089, .089])
_LEFT = np.array([1, 3, 5, 7, 9, 11, 13, 15])
_RIGHT = _LEFT + 1

#: azimuth sectors (degrees, relative to the person's initial facing; 0 = camera in front of the person)
TEST_AZIMUTHS: tuple[tuple[float, float], ...] = ((30.0, 60.0), (210.0, 240.0))
VAL_AZIMUTHS: tuple[tuple[float, float], ...] = ((120.0, 150.0), (300.0, 330.0))
TRAIN_AZIMUTHS: tuple[tuple[float, float], ...] = ((-30.0, 30.0), (60.0, 120.0), (150.0, 210.0), (240.0, 300.0))


def face_points(j: np.ndarray) -> np.ndarray:
    """Synthesised face points ``(T, 5, 3)`` (nose, left eye, right eye, left ear, right ear) of NTU-25
    joints ``j`` ``(T, 25, 3)`` (metres, Y up).

    Head frame: ``u`` = unit Neck -> Head, ``r`` = unit right -> left shoulder made orthogonal to ``u`` (the
    actor's left), ``f = r x u`` (the facing direction); ``L`` = |Head - Neck| (about 6.5 cm on the
    Bandai rig, whose Head joint sits at the base of the skull). Offsets from the Head joint, in ``L``:
    nose ``1.0 u + 1.5 f``, eyes ``1.4 u + 1.3 f +- 0.5 r``, ears ``1.2 u - 0.1 f +- 1.15 r`` (left ``+r``)."""
    head, neck = j[:, _HEAD], j[:, _NECK]
    u = head - neck
    length = np.linalg.norm(u, axis=-1, keepdims=True)
    u = u / np.maximum(length, 1e-9)
    r = j[:, _L_SH] - j[:, _R_SH]
    r = r - (r * u).sum(-1, keepdims=True) * u
    r = r / np.maximum(np.linalg.norm(r, axis=-1, keepdims=True), 1e-9)
    f = np.cross(r, u)
    L = length

    def at(cu: float, cf: float, cr: float) -> np.ndarray:
        return head + L * (cu * u + cf * f + cr * r)

    return np.stack([at(1.0, 1.5, 0.0), at(1.4, 1.3, 0.5), at(1.4, 1.3, -0.5), at(1.2, -0.1, 1.15),
                     at(1.2, -0.1, -1.15)], axis=1)


def ntu25_to_coco17_3d(j: np.ndarray) -> np.ndarray:
    """NTU-25 ``(T, 25, 3)`` -> COCO-17 ``(T, 17, 3)`` 3-D points: the 12 limb/torso points copied
    (shoulders 5/6 <- NTU 5/9, elbows <- 6/10, wrists <- 7/11, hips <- 13/17, knees <- 14/18, ankles <- 15/19,
    1-based NTU), face points from :func:`face_points`."""
    out = np.zeros(j.shape[:1] + (17, 3), dtype=np.float64)
    for c, n in _BODY.items():
        out[:, c] = j[:, n]
    out[:, :5] = face_points(j)
    return out


@dataclass(frozen=True)
class CameraRanges:
    """Ranges the virtual cameras are drawn from (uniform unless said otherwise)."""

    #: azimuth sectors in degrees (one sector drawn with probability proportional to its width)
    azimuths: tuple[tuple[float, float], ...] = TRAIN_AZIMUTHS
    elevation: tuple[float, float] = (-10.0, 40.0)
    #: closest camera distance (metres; a person filling a portrait image is not filmed from 1 m)
    min_distance: float = 2.0
    #: field of view across the longer image side (degrees) -> focal length in pixels
    hfov: tuple[float, float] = (40.0, 75.0)
    #: person height / image height (sets the distance)
    fill: tuple[float, float] = (0.25, 0.8)
    #: image sizes (width, height), one drawn uniformly
    image_sizes: tuple[tuple[int, int], ...] = ((1920, 1080), (1280, 720), (640, 480), (1080, 1920), (720, 1280),
                                                (640, 360))
    #: camera tracking: moving-average window of the hip trajectory, seconds
    smoothing_s: tuple[float, float] = (1.0, 4.0)


@dataclass(frozen=True)
class Camera:
    """One virtual camera (angles in degrees, lengths in metres, focal length in pixels)."""

    azimuth: float
    elevation: float
    distance: float
    focal: float
    width: int
    height: int
    smoothing: int
    roll: float

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _heading(j0: np.ndarray) -> np.ndarray:
    """Unit horizontal facing direction ``(3,)`` of one NTU-25 frame (Y up)."""
    r = j0[_L_SH] - j0[_R_SH] + j0[_L_HIP] - j0[_R_HIP]
    f = np.cross(r, np.array([0.0, 1.0, 0.0]))
    f[1] = 0.0
    n = np.linalg.norm(f)
    return f / n if n > 1e-9 else np.array([0.0, 0.0, 1.0])


def sample_camera(j: np.ndarray, ranges: CameraRanges, rng: np.random.Generator, fps: float = 30.0) -> Camera:
    """Draw a :class:`Camera` for NTU-25 joints ``j`` ``(T, 25, 3)``: the distance puts the person's height
    (median over frames of the vertical extent, at least 1 m) at ``fill`` of the image height (at least
    ``min_distance``)."""
    widths = np.array([b - a for a, b in ranges.azimuths], dtype=np.float64)
    k = rng.choice(len(widths), p=widths / widths.sum())
    az = float(rng.uniform(*ranges.azimuths[k])) % 360.0
    el = float(rng.uniform(*ranges.elevation))
    w, h = ranges.image_sizes[rng.integers(len(ranges.image_sizes))]
    hfov = np.deg2rad(rng.uniform(*ranges.hfov))
    focal = float(max(w, h) / (2 * np.tan(hfov / 2)))   # the field of view spans the longer image side
    height_m = max(float(np.median(j[:, :, 1].max(1) - j[:, :, 1].min(1))), 1.0)
    fill = float(rng.uniform(*ranges.fill))
    distance = max(focal * height_m / (fill * h), ranges.min_distance)
    smoothing = int(round(rng.uniform(*ranges.smoothing_s) * fps)) | 1
    roll = float(rng.normal(0.0, 2.0))
    return Camera(az, el, float(distance), focal, int(w), int(h), smoothing, roll)


def _moving_average(x: np.ndarray, n: int) -> np.ndarray:
    if n <= 1 or len(x) < 2:
        return x
    pad = n // 2
    xp = np.concatenate([np.repeat(x[:1], pad, 0), x, np.repeat(x[-1:], pad, 0)])
    c = np.cumsum(np.concatenate([np.zeros((1,) + x.shape[1:]), xp]), axis=0)
    return (c[n:] - c[:-n]) / n


def camera_frames(j: np.ndarray, cam: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Camera centres ``(T, 3)`` and world->camera rotations ``(T, 3, 3)`` (rows: image right, image down,
    viewing direction) of ``cam`` following the smoothed mid-hip trajectory of ``j`` ``(T, 25, 3)``, aimed at
    the middle of the body's height."""
    hips = (j[:, _L_HIP] + j[:, _R_HIP]) / 2
    target = _moving_average(hips, cam.smoothing)                                     # (T, 3)
    # aim at the middle of the body's vertical extent (head top ~ 0.15 m above the Head joint)
    mid = np.median((j[:, :, 1].max(1) + 0.15 + j[:, :, 1].min(1)) / 2 - hips[:, 1])
    target = target + np.array([0.0, float(mid), 0.0])
    fwd = _heading(j[0])
    az, el = np.deg2rad(cam.azimuth), np.deg2rad(cam.elevation)
    side = np.cross(np.array([0.0, 1.0, 0.0]), fwd)  # person's left
    horiz = np.cos(az) * fwd + np.sin(az) * side       # from the person towards the camera
    offset = cam.distance * (np.cos(el) * horiz + np.sin(el) * np.array([0.0, 1.0, 0.0]))
    centre = target + offset
    z = -offset / np.linalg.norm(offset)                               # viewing direction
    x = np.cross(z, np.array([0.0, 1.0, 0.0]))
    x /= np.linalg.norm(x)
    y = np.cross(z, x)                                                 # image down
    roll = np.deg2rad(cam.roll)
    xr, yr = np.cos(roll) * x + np.sin(roll) * y, -np.sin(roll) * x + np.cos(roll) * y
    rot = np.stack([xr, yr, z])                                        # (3, 3)
    return centre, np.broadcast_to(rot, (len(j), 3, 3))


def project(points: np.ndarray, centre: np.ndarray, rot: np.ndarray, cam: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Pinhole projection of ``points`` ``(T, V, 3)``: pixels ``(T, V, 2)`` (x right, y down, origin top
    left) and camera depth ``(T, V)`` (metres; <= 0.1 means behind or at the camera)."""
    pc = np.einsum("tij,tvj->tvi", rot, points - centre[:, None, :])
    depth = pc[..., 2]
    safe = np.where(depth > 0.1, depth, 0.1)
    uv = cam.focal * pc[..., :2] / safe[..., None] + np.array([cam.width / 2, cam.height / 2])
    return uv, depth


@dataclass(frozen=True)
class NoiseConfig:
    """Detector-like corruption (per sequence, a noise level is drawn from ``level``)."""

    #: multiplier of the OKS sigmas x person height (pixels) for the white noise std
    level: tuple[float, float] = (0.03, 0.15)
    #: std of the temporally smooth jitter relative to the white noise, and its correlation time (frames)
    jitter: float = 0.7
    jitter_frames: int = 6
    #: per point and frame probability of a gross outlier (displacement ~ 0.1-0.4 person heights, low score)
    outlier_p: float = 0.003
    #: per frame probability that one left/right limb pair is swapped
    swap_p: float = 0.003
    #: per point probability per frame that a burst of missing frames starts; mean burst length (frames)
    missing_start_p: float = 0.004
    missing_len: float = 8.0
    #: per frame probability that a burst of frames without any detection starts, mean length
    drop_start_p: float = 0.003
    drop_len: float = 5.0
    #: scores below this are written as missing (0, 0, 0)
    min_score: float = 0.05


def _bursts(rng: np.random.Generator, shape: tuple[int, ...], p: float, mean_len: float) -> np.ndarray:
    """Boolean ``shape`` (time first) with bursts starting with probability ``p`` per step, geometric length."""
    start = rng.random(shape) < p
    out = np.zeros(shape, dtype=bool)
    if not start.any():
        return out
    lengths = rng.geometric(1.0 / max(mean_len, 1.0), size=shape)
    for idx in zip(*np.nonzero(start)):
        t = idx[0]
        out[(slice(t, t + int(lengths[idx])),) + tuple(idx[1:])] = True
    return out


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], frames: int) -> np.ndarray:
    """Unit-std Gaussian noise along axis 0 smoothed by an AR(1) with correlation time ``frames``."""
    a = np.exp(-1.0 / max(frames, 1))
    e = rng.normal(size=shape) * np.sqrt(1 - a * a)
    out = np.empty(shape)
    out[0] = rng.normal(size=shape[1:])
    for t in range(1, shape[0]):
        out[t] = a * out[t - 1] + e[t]
    return out


def detector_noise(uv: np.ndarray, depth: np.ndarray, pts3d: np.ndarray, centre: np.ndarray, cam: Camera,
                   cfg: NoiseConfig, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    """Corrupt clean projections ``uv`` ``(T, 17, 2)`` like a 2-D pose detector; returns ``(T, 17, 3)`` x, y,
    score (missing points 0, 0, 0) and a summary of what was drawn."""
    t, v = uv.shape[:2]
    valid = depth > 0.1
    ys = np.where(valid, uv[..., 1], np.nan)
    with np.errstate(invalid="ignore"):
        h_px = np.nanmax(ys, 1) - np.nanmin(ys, 1)
    h_px = float(np.nanmedian(h_px)) if np.isfinite(h_px).any() else cam.height * 0.5
    level = float(rng.uniform(*cfg.level))
    std = level * OKS_SIGMAS * h_px                                       # (17,)
    white = rng.normal(size=(t, v, 2)) * std[None, :, None]
    smooth = _smooth_noise(rng, (t, v, 2), cfg.jitter_frames) * (cfg.jitter * std)[None, :, None]
    out = uv + white + smooth
    err = np.linalg.norm(white + smooth, axis=-1) / np.maximum(std * 2.0, 1e-6)   # ~ 0-2

    # self-occlusion: side turned away from the camera, face seen from behind
    to_cam = centre[:, None, :] - pts3d                                       # (T, 17, 3)
    to_cam /= np.maximum(np.linalg.norm(to_cam, axis=-1, keepdims=True), 1e-9)
    lr = pts3d[:, 5] - pts3d[:, 6] + pts3d[:, 11] - pts3d[:, 12]               # actor's left
    lr /= np.maximum(np.linalg.norm(lr, axis=-1, keepdims=True), 1e-9)
    facing = np.cross(lr, np.array([0.0, 1.0, 0.0]))
    facing /= np.maximum(np.linalg.norm(facing, axis=-1, keepdims=True), 1e-9)
    side = np.zeros((t, v))
    side[:, _LEFT] = -(lr[:, None, :] * to_cam[:, _LEFT]).sum(-1)              # > 0: left side turned away
    side[:, _RIGHT] = (lr[:, None, :] * to_cam[:, _RIGHT]).sum(-1)
    away = np.clip(side, 0, 1)
    back = np.clip(-(facing[:, None, :] * to_cam[:, :5]).sum(-1), 0, 1)       # face from behind
    base = rng.beta(8, 1.5, size=(t, v))
    score = base - 0.25 * away - 0.1 * err
    score[:, :5] -= 0.6 * back
    # outliers
    outl = rng.random((t, v)) < cfg.outlier_p
    if outl.any():
        ang = rng.uniform(0, 2 * np.pi, size=(t, v))
        mag = rng.uniform(0.1, 0.4, size=(t, v)) * h_px
        out = np.where(outl[..., None], out + np.stack([np.cos(ang), np.sin(ang)], -1) * mag[..., None], out)
        score = np.where(outl, rng.uniform(0.1, 0.5, size=(t, v)), score)
    # left/right swaps of one limb pair
    swaps = np.flatnonzero(rng.random(t) < cfg.swap_p)
    for f in swaps:
        k = int(rng.integers(len(_LEFT)))
        a, b = _LEFT[k], _RIGHT[k]
        out[f, [a, b]] = out[f, [b, a]]
        score[f, [a, b]] *= 0.7
    missing = _bursts(rng, (t, v), cfg.missing_start_p, cfg.missing_len)
    drop = _bursts(rng, (t,), cfg.drop_start_p, cfg.drop_len)
    inside = (out[..., 0] >= 0) & (out[..., 0] < cam.width) & (out[..., 1] >= 0) & (out[..., 1] < cam.height)
    score = np.clip(score, 0.0, 1.0)
    keep = valid & inside & ~missing & ~drop[:, None] & (score >= cfg.min_score)
    res = np.concatenate([out, score[..., None]], axis=-1)
    res = np.where(keep[..., None], res, 0.0).astype(np.float32)
    info = {"noise_level": round(level, 4), "person_height_px": round(h_px, 1),
            "missing_fraction": round(float(1 - keep.mean()), 4), "dropped_frames": int(drop.sum())}
    return res, info


def project_sequence(j: np.ndarray, rng: np.random.Generator, *, ranges: CameraRanges | None = None,
                     noise: NoiseConfig | None = None, fps: float = 30.0) -> tuple[np.ndarray, dict[str, Any]]:
    """NTU-25 ``(T, 25, 3)`` metres (Y up, world coordinates) -> COCO-17 ``(T, 17, 3)`` x, y (pixels of the
    drawn camera's image) and detector-like score; plus the camera and noise summary (JSON-able)."""
    j = np.asarray(j, dtype=np.float64)
    cam = sample_camera(j, ranges or CameraRanges(), rng, fps)
    centre, rot = camera_frames(j, cam)
    pts = ntu25_to_coco17_3d(j)
    uv, depth = project(pts, centre, rot, cam)
    kp, info = detector_noise(uv, depth, pts, centre, cam, noise or NoiseConfig(), rng)
    return kp, {"camera": cam.to_dict(), **info}
