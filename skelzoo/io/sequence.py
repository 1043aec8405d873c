"""The in-memory skeleton sequence every reader returns.

Conventions (all of skelzoo):

- ``data`` is float32 ``(T, M, V, C)``: frames, persons, joints, channels (``C`` = 3 for x, y, z in
  metres, 2 for image x, y in pixels).
- An absent person is all zeros in a frame (the NTU convention, also used for padding).
- Missing *joints* (a joint the source format does not have, e.g. hand tips of a mocap rig converted to
  ``ntu25`` with ``fill="missing"``) are ``NaN`` in ``data`` **and** ``True`` in the boolean mask
  ``meta["missing"]`` (shape ``(T, M, V)``, or anything broadcastable to it such as ``(V,)``).
  ``NaN`` anywhere else, and ``inf`` anywhere, is rejected by :meth:`SkeletonSequence.__post_init__`.
- ``confidence`` (optional) is float32 ``(T, M, V)`` in ``[0, 1]``: pose-estimator scores, or a Kinect
  tracking state divided by 2 (0 not tracked, 0.5 inferred, 1 tracked).
- ``layout`` names a layout of :mod:`skelzoo.layouts`. A name that is not registered is allowed only
  for a custom rig (e.g. an unknown BVH skeleton) and then ``meta["joint_names"]`` must list the ``V``
  joint names.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from skelzoo.layouts import get_layout, list_layouts

if TYPE_CHECKING:  # torch is imported by to_tensor only: reading skeleton files does not need it
    import torch

__all__ = ["SkeletonSequence", "FRAME_META_KEYS"]

#: ``meta`` entries that are per-frame arrays (first axis ``T``); transforms that select or resample
#: frames apply the same frame indices to them.
FRAME_META_KEYS: tuple[str, ...] = (
    "missing", "tracking_state", "depth_xy", "color_xy", "orientation", "body_info", "bodies_per_frame",
    "timestamps",
)


@dataclass
class SkeletonSequence:
    """A skeleton sequence ``(T, M, V, C)`` with its layout, frame rate and metadata.

    Attributes:
        data: float32 ``(T, M, V, C)`` joint coordinates.
        layout: layout name (see :func:`skelzoo.layouts.get_layout`).
        fps: frames per second (> 0).
        meta: free-form metadata; per-frame arrays use the keys of :data:`FRAME_META_KEYS`;
            ``meta["missing"]`` is the missing-joint mask described in the module docstring.
        confidence: optional float32 ``(T, M, V)`` joint confidences in ``[0, 1]``.
    """

    data: np.ndarray
    layout: str
    fps: float = 30.0
    meta: dict[str, Any] = field(default_factory=dict)
    confidence: np.ndarray | None = None

    def __post_init__(self) -> None:
        data = np.asarray(self.data)
        if data.ndim != 4:
            raise ValueError(f"data must be (T, M, V, C), got shape {data.shape}")
        if not np.issubdtype(data.dtype, np.number):
            raise ValueError(f"data must be numeric, got dtype {data.dtype}")
        self.data = np.ascontiguousarray(data, dtype=np.float32)
        t, m, v, c = self.data.shape
        if m < 1 or v < 1 or c < 1:
            raise ValueError(f"data needs at least one person, joint and channel, got shape {data.shape}")
        if not isinstance(self.layout, str):
            raise ValueError(f"layout must be a layout name (str), got {type(self.layout).__name__}")
        if self.layout in list_layouts():
            nv = get_layout(self.layout).num_joints
            if nv != v:
                raise ValueError(f"layout {self.layout!r} has {nv} joints but data has V={v}")
        else:
            names = self.meta.get("joint_names")
            if names is None or len(names) != v:
                raise ValueError(
                    f"layout {self.layout!r} is not registered: meta['joint_names'] must list the {v} joints"
                )
        self.fps = float(self.fps)
        if not np.isfinite(self.fps) or self.fps <= 0:
            raise ValueError(f"fps must be a positive number, got {self.fps}")
        if np.isinf(self.data).any():
            raise ValueError("data contains inf")
        nan = np.isnan(self.data).any(axis=-1)
        if nan.any():
            missing = self.meta.get("missing")
            if missing is None:
                raise ValueError("data contains NaN but meta['missing'] is not set (NaN marks missing joints only)")
            try:
                mask = np.broadcast_to(np.asarray(missing, dtype=bool), (t, m, v))
            except ValueError:
                raise ValueError(f"meta['missing'] shape {np.shape(missing)} does not broadcast to "
                                 f"{(t, m, v)}") from None
            if (nan & ~mask).any():
                raise ValueError("data contains NaN at joints that meta['missing'] does not mark as missing")
        if self.confidence is not None:
            conf = np.ascontiguousarray(self.confidence, dtype=np.float32)
            if conf.shape != (t, m, v):
                raise ValueError(f"confidence must be (T, M, V) = {(t, m, v)}, got {conf.shape}")
            if not np.isfinite(conf).all():
                raise ValueError("confidence contains NaN or inf")
            self.confidence = conf

    # ------------------------------------------------------------------ shape helpers
    @property
    def num_frames(self) -> int:
        """``T``."""
        return int(self.data.shape[0])

    @property
    def num_persons(self) -> int:
        """``M``."""
        return int(self.data.shape[1])

    @property
    def num_joints(self) -> int:
        """``V``."""
        return int(self.data.shape[2])

    @property
    def num_channels(self) -> int:
        """``C``."""
        return int(self.data.shape[3])

    @property
    def duration(self) -> float:
        """Length in seconds (``T / fps``)."""
        return self.num_frames / self.fps

    @property
    def timestamps(self) -> np.ndarray | None:
        """Per-frame times in seconds (float64 ``(T,)``) where the format logs them (``meta["timestamps"]``:
        Kinect v2 CSV, Kinect v1 text), else ``None`` (frames are ``1 / fps`` apart). Sparse or repeated
        times are kept as logged; the model path resamples on them."""
        ts = self.meta.get("timestamps")
        return None if ts is None else np.asarray(ts, dtype=np.float64)

    @property
    def joint_names(self) -> tuple[str, ...]:
        """Joint names: ``meta["joint_names"]`` if present, else the layout's."""
        names = self.meta.get("joint_names")
        if names is not None:
            return tuple(names)
        return get_layout(self.layout).joints

    @property
    def missing(self) -> np.ndarray:
        """Boolean ``(T, M, V)`` missing-joint mask (all False when ``meta["missing"]`` is absent)."""
        shape = self.data.shape[:3]
        m = self.meta.get("missing")
        if m is None:
            return np.zeros(shape, dtype=bool)
        return np.broadcast_to(np.asarray(m, dtype=bool), shape).copy()

    def replace(self, **changes: Any) -> "SkeletonSequence":
        """A validated copy with some fields replaced (``meta`` is shallow-copied)."""
        changes.setdefault("meta", dict(self.meta))
        return dataclasses.replace(self, **changes)

    def to_tensor(self, *, missing_value: float = 0.0) -> "torch.Tensor":
        """The model input: torch float32 ``(1, C, T, V, M)``; missing (NaN) joints become ``missing_value``."""
        import torch

        x = np.nan_to_num(self.data, nan=missing_value) if np.isnan(self.data).any() else self.data
        return torch.from_numpy(np.ascontiguousarray(x.transpose(3, 0, 2, 1)))[None].float()

    def __repr__(self) -> str:
        return (f"SkeletonSequence(T={self.num_frames}, M={self.num_persons}, V={self.num_joints}, "
                f"C={self.num_channels}, layout={self.layout!r}, fps={self.fps:g})")
