"""pyskl / mmaction2 input of the NTU RGB+D 2-D keypoint checkpoints (preprocess code ``"pyskl_2d"``).

The pyskl and mmaction2 checkpoints trained on NTU RGB+D HRNet keypoints (``*_hrnet`` / ``*-keypoint-2d``
configs) read COCO-17 keypoints (``coco17``: ``keypoint (M, T, 17, 2)`` in pixels of the 1920x1080 NTU RGB
videos + ``keypoint_score (M, T, 17)``) through this test pipeline, read from their configs and from
``pyskl/datasets/pipelines/pose_related.py`` (mmaction2 1.x: ``mmaction/datasets/transforms/pose_transforms.py``):

1. ``PreNormalize2D()`` with ``img_shape`` taken from the sample, else the default ``(1080, 1920)``
   (height, width): ``x' = (x - w/2) / (w/2)``, ``y' = (y - h/2) / (h/2)``, i.e. the image maps onto
   ``[-1, 1]`` in both axes (x right, y down, aspect ratio not kept). Scores are not changed. Every stored
   value is mapped, also the zeros of a person absent in a frame (they become ``(-1, -1)``).
2. ``GenSkeFeat(dataset='coco', feats=['j'])``: the score joins as the third channel: ``(x', y', score)``.
3. ``UniformSample(clip_len=100)`` (test: 10 clips, scores averaged) and ``FormatGCNInput(num_person=2)``:
   persons zero-padded (after the normalisation, so padded persons are exact zeros) or truncated to 2.

(pyskl's ``stgcn_pyskl_*_hrnet`` configs also list ``RandomScale(scale=0.1)`` in their test pipeline, a
random x / y scale in [0.9, 1.1]; skelzoo applies no random augmentation. A later pyskl revision of
``PreNormalize2D`` also zeroes the coordinates of points scored <= 0.01 when the keypoints carry their
score; skelzoo follows the form of mmaction2 1.x and of the pyskl revisions without that threshold.)

:func:`pyskl_2d_input` does steps 1-2 on a whole recording; skelzoo keeps every frame (no clip sampling)
and selects / pads persons afterwards (:func:`skelzoo.data.transforms.select_persons`, the most energetic
persons first instead of pyskl's first persons). Published numbers were measured with pyskl's own
sampling; skelzoo's outputs for 2-D checkpoints are not compared with outputs of the official code.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

__all__ = ["PYSKL_IMAGE_SIZE", "pyskl_pre_normalise_2d", "with_scores", "image_size_of", "pyskl_2d_input"]

#: ``(width, height)`` that ``PreNormalize2D`` assumes when a sample has no ``img_shape`` (its default
#: ``img_shape=(1080, 1920)``, the NTU RGB+D video size).
PYSKL_IMAGE_SIZE: tuple[int, int] = (1920, 1080)


def pyskl_pre_normalise_2d(data: np.ndarray, image_size: tuple[float, float] = PYSKL_IMAGE_SIZE) -> np.ndarray:
    """pyskl's ``PreNormalize2D`` on ``(..., C)`` keypoints (``C >= 2``; channels 0, 1 = x, y in pixels).

    ``x -> (x - w/2) / (w/2)``, ``y -> (y - h/2) / (h/2)`` with ``(w, h) = image_size``; channels from 2 on
    (scores) are returned unchanged. Returns a new float32 array.
    """
    a = np.array(data, dtype=np.float32, copy=True)
    if a.ndim < 1 or a.shape[-1] < 2:
        raise ValueError(f"pyskl PreNormalize2D needs x, y in the last axis, got shape {a.shape}")
    w, h = (float(s) for s in image_size)
    if not (w > 0 and h > 0):
        raise ValueError(f"image_size must be a positive (width, height), got {image_size}")
    a[..., 0] = (a[..., 0] - w / 2) / (w / 2)
    a[..., 1] = (a[..., 1] - h / 2) / (h / 2)
    return a


def with_scores(xy: np.ndarray, confidence: np.ndarray | None) -> np.ndarray:
    """``(T, M, V, 2)`` + scores ``(T, M, V)`` -> ``(T, M, V, 3)`` = x, y, score (``GenSkeFeat`` order).

    Without ``confidence`` a point scores 1 where it is finite and 0 where it is missing (NaN); missing
    points always score 0.
    """
    xy = np.asarray(xy)
    if xy.ndim != 4 or xy.shape[-1] != 2:
        raise ValueError(f"expected 2-D keypoints (T, M, V, 2), got shape {xy.shape}")
    finite = np.isfinite(xy).all(-1)
    if confidence is None:
        score = finite.astype(np.float32)
    else:
        score = np.where(finite, np.asarray(confidence, dtype=np.float32), 0.0).astype(np.float32)
        if score.shape != xy.shape[:3]:
            raise ValueError(f"confidence must be (T, M, V) = {xy.shape[:3]}, got {score.shape}")
    return np.concatenate([xy.astype(np.float32), score[..., None]], axis=-1)


def image_size_of(meta: Mapping[str, Any]) -> tuple[tuple[float, float], str]:
    """The ``(width, height)`` that maps a recording's coordinates onto pyskl's ``[-1, 1]``, and where it came from.

    ``meta["coordinates"] == "normalised"`` (coordinates already divided by the image size, in ``[0, 1]``):
    ``(1, 1)``; ``meta["image_size"]`` = ``(width, height)`` in pixels: that; otherwise pyskl's default
    :data:`PYSKL_IMAGE_SIZE` (1920x1080, right for NTU RGB+D videos and any 1080p video).
    """
    if str(meta.get("coordinates", "")).startswith("normali"):
        return (1.0, 1.0), "normalised coordinates"
    size = meta.get("image_size")
    if size is not None:
        try:
            w, h = (float(s) for s in size)
        except (TypeError, ValueError):
            raise ValueError(f"meta['image_size'] must be (width, height), got {size!r}") from None
        if w > 0 and h > 0:
            return (w, h), "meta['image_size']"
        raise ValueError(f"meta['image_size'] must be positive, got {size!r}")
    return (float(PYSKL_IMAGE_SIZE[0]), float(PYSKL_IMAGE_SIZE[1])), "pyskl default 1920x1080"


def pyskl_2d_input(xy: np.ndarray, confidence: np.ndarray | None = None,
                   image_size: tuple[float, float] = PYSKL_IMAGE_SIZE) -> np.ndarray:
    """Steps 1-2 of the pipeline above: ``(T, M, V, 2)`` pixels (+ scores) -> ``(T, M, V, 3)`` = x', y', score.

    Missing (NaN) points keep NaN coordinates with score 0 (interpolate them afterwards, e.g. with
    :func:`skelzoo.data.transforms.fill_missing`).
    """
    return pyskl_pre_normalise_2d(with_scores(xy, confidence), image_size)
